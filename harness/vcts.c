/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vcts.c - the command line: list, run and explain the conformance tests.
 *
 *   vcts list [--filter GLOB]... [--exclude GLOB]...
 *   vcts run  [--filter GLOB]... [--exclude GLOB]... [--timeout-scale X]
 *             [--progress] [--tap-version N]
 *   vcts clauses [--check] [ID...]
 *   vcts pci [SLOT] | --image FILE | --qemu TARGET
 *   vcts device --vhost-user SOCKET --type blk|net|fs [--filter GLOB]...
 *   vcts matrix --profile P | --diff P1 P2 | --axes | --profiles [options]
 *   vcts report [--dir DIR] [--out DIR] [--jobs N] [--no-junit]
 *   vcts help [COMMAND] | --help | --version
 *
 * Errors are one line on stderr and exit status 2; a run that fails a
 * test exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "clause.h"
#include "gmem.h"
#include "pci_cmd.h"
#include "runner.h"
#include "test.h"
#include "virtio.h"
#include "matrix/matrix.h"
#include "guest_cmd.h"
#include "report/report.h"
#include "transport/vhu_front.h"
#include "../suites/suites.h"

#ifndef VCTS_SRCDIR
#define VCTS_SRCDIR "."
#endif
#ifndef VCTS_VERSION
#define VCTS_VERSION "0.1"
#endif

#define MAX_GLOBS 64

struct command {
	const char *name;
	const char *summary;
	const char *usage;
	int (*fn)(int argc, char **argv);
};

static const char list_usage[] =
	"usage: vcts list [--filter GLOB]... [--exclude GLOB]...\n"
	"\n"
	"List the test instances, one per line: name, role (driver|device),\n"
	"transport and the clauses the test checks.\n"
	"\n"
	"  --filter GLOB    only instances whose name \"area/name[variant]\" matches\n"
	"                   GLOB (fnmatch, or the exact name); several are OR'ed\n"
	"  --exclude GLOB   leave out instances matching GLOB\n";

static const char run_usage[] =
	"usage: vcts run [--filter GLOB]... [--exclude GLOB]... [--timeout-scale X]\n"
	"                [--progress] [--tap-version N]\n"
	"\n"
	"Run the test instances, each in its own process with a deadline, and\n"
	"print TAP on stdout.  Exit status: 0 if nothing failed, 1 if a test\n"
	"failed, broke, timed out or crashed, 2 on a usage or registry error.\n"
	"\n"
	"  --filter GLOB        only instances matching GLOB (several are OR'ed)\n"
	"  --exclude GLOB       leave out instances matching GLOB\n"
	"  --timeout-scale X    multiply every test's deadline by X (e.g. 4 under\n"
	"                       a sanitizer or on a loaded machine)\n"
	"  --progress           \"[i/N] name\" on stderr (default when it is a tty,\n"
	"                       unless run by prove)\n"
	"  --tap-version N      the version line, 13 or 14; default 14, but 13\n"
	"                       when run by a prove older than 3.48 (it rejects 14)\n";

static const char clauses_usage[] =
	"usage: vcts clauses [--check] [ID...]\n"
	"\n"
	"With ids, print their rows of the registry (spec/normative-sections.tsv,\n"
	"spec/invariants.tsv).  Without, print every clause the catalogue cites,\n"
	"with its section and how many tests cite it.\n"
	"\n"
	"  --check   only validate the registry and the catalogue's citations\n";

static const char device_usage[] =
	"usage: vcts device --vhost-user SOCKET --type blk|net|fs [--filter GLOB]...\n"
	"                   [--exclude GLOB]... [--timeout-scale X] [--progress]\n"
	"                   [--tap-version N]\n"
	"\n"
	"Judge a device someone else started: the vhost-user device tests, vcts\n"
	"acting as the front-end (the VMM's role) over SOCKET.  TAP on stdout, exit\n"
	"status as for run.  A blk or net backend must accept one connection per\n"
	"test (qemu-storage-daemon and DPDK do); virtiofsd serves a single session,\n"
	"so --type fs runs the one bring-up test.\n";

static const char help_usage[] =
	"usage: vcts help [COMMAND]\n"
	"\n"
	"Show the usage of vcts or of one command.\n";

static int cmd_list(int argc, char **argv);
static int cmd_run(int argc, char **argv);
static int cmd_clauses(int argc, char **argv);
static int cmd_device(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "list", "list the test instances", list_usage, cmd_list },
	{ "run", "run test instances, TAP on stdout", run_usage, cmd_run },
	{ "clauses", "show the clause registry and what the catalogue cites", clauses_usage,
	  cmd_clauses },
	{ "pci", "judge virtio PCI functions against 4.1, TAP on stdout", vt_pci_cmd_usage,
	  vt_pci_cmd },
	{ "device", "judge a vhost-user device someone else started", device_usage,
	  cmd_device },
	{ "matrix", "run the platform-access matrix under a rule profile, TAP on stdout",
	  vt_matrix_usage, vt_matrix_main },
	{ "guest", "judge the Linux guest driver under QEMU, per device, TAP on stdout",
	  vt_guest_usage, vt_guest_main },
	{ "report", "turn saved TAP into index.html, coverage.txt and JUnit XML",
	  vt_report_usage, vt_report_main },
	{ "help", "show the usage of a command", help_usage, cmd_help },
};

static void main_usage(FILE *f)
{
	fputs("usage: vcts <command> [options]\n"
	      "       vcts --help | --version\n"
	      "\n"
	      "vcts checks virtio drivers and devices against the virtio specification.\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < VT_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "'vcts help COMMAND' shows the options of a command.\n"
	      "The clause registry is read from $VCTS_SPEC_DIR, default:\n"
	      "  " VCTS_SRCDIR "/spec\n", f);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < VT_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* ---- option parsing shared by the commands ---- */

struct args {
	const char *cmd;
	int argc;
	char **argv;
	int i;                 /* the argument being looked at */
};

static int usage_error(const struct args *a, const char *what, const char *arg)
{
	fprintf(stderr, "vcts: %s: %s '%s' (see 'vcts help %s')\n", a->cmd, what, arg, a->cmd);
	return VT_EXIT_USAGE;
}

/*
 * Does argv[i] name option `name` with a value ("--name VALUE" or
 * "--name=VALUE")?  Returns 1 with *val set, 0 if it is another argument,
 * -1 (message printed) if the value is missing.
 */
static int opt_value(struct args *a, const char *name, const char **val)
{
	const char *arg = a->argv[a->i];
	size_t len = strlen(name);
	if (strncmp(arg, name, len) != 0)
		return 0;
	if (arg[len] == '=') {
		*val = arg + len + 1;
		return 1;
	}
	if (arg[len] != '\0')
		return 0;
	if (a->i + 1 >= a->argc) {
		fprintf(stderr, "vcts: %s: option '%s' needs an argument\n", a->cmd, name);
		return -1;
	}
	*val = a->argv[++a->i];
	return 1;
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static int show_help(const char *cmd)
{
	fputs(find_command(cmd)->usage, stdout);
	return VT_EXIT_OK;
}

/* Options common to list and run; returns 1 if taken, 0 if not, -1 on error. */
static int selection_opt(struct args *a, struct vt_run_opts *o, const char **filters,
			 const char **excludes)
{
	const char *val;
	int r = opt_value(a, "--filter", &val);
	if (r > 0) {
		if (o->nfilters == MAX_GLOBS) {
			fprintf(stderr, "vcts: %s: more than %d --filter options\n", a->cmd, MAX_GLOBS);
			return -1;
		}
		filters[o->nfilters++] = val;
		return 1;
	}
	if (r < 0)
		return -1;
	r = opt_value(a, "--exclude", &val);
	if (r > 0) {
		if (o->nexcludes == MAX_GLOBS) {
			fprintf(stderr, "vcts: %s: more than %d --exclude options\n", a->cmd,
				MAX_GLOBS);
			return -1;
		}
		excludes[o->nexcludes++] = val;
		return 1;
	}
	return r;
}

static int parse_scale(const struct args *a, const char *val, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(val, &end);
	if (errno || end == val || *end || !(x > 0) || x > 1000) {
		fprintf(stderr, "vcts: %s: --timeout-scale wants a number in (0, 1000], not '%s'\n",
			a->cmd, val);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_tap_version(const struct args *a, const char *val, unsigned *out)
{
	if (strcmp(val, "13") == 0 || strcmp(val, "14") == 0) {
		*out = (unsigned)atoi(val);
		return 0;
	}
	fprintf(stderr, "vcts: %s: --tap-version wants 13 or 14, not '%s'\n", a->cmd, val);
	return -1;
}

/* list and run share everything but a few options. */
static int list_or_run(int argc, char **argv, bool run)
{
	const char *filters[MAX_GLOBS], *excludes[MAX_GLOBS];
	struct vt_run_opts o = { .filters = filters, .excludes = excludes, .list = !run };
	struct args a = { run ? "run" : "list", argc, argv, 1 };

	for (; a.i < argc; a.i++) {
		const char *arg = argv[a.i], *val;
		if (is_help(arg))
			return show_help(a.cmd);
		int r = selection_opt(&a, &o, filters, excludes);
		if (r < 0)
			return VT_EXIT_USAGE;
		if (r > 0)
			continue;
		if (run && strcmp(arg, "--progress") == 0) {
			o.progress = true;
			continue;
		}
		if (run && (r = opt_value(&a, "--timeout-scale", &val)) != 0) {
			if (r < 0 || parse_scale(&a, val, &o.timeout_scale))
				return VT_EXIT_USAGE;
			continue;
		}
		if (run && (r = opt_value(&a, "--tap-version", &val)) != 0) {
			if (r < 0 || parse_tap_version(&a, val, &o.tap_version))
				return VT_EXIT_USAGE;
			continue;
		}
		if (arg[0] == '-')
			return usage_error(&a, "unknown option", arg);
		return usage_error(&a, "unexpected argument", arg);
	}
	return vt_run(vt_suites, &o);
}

static int cmd_list(int argc, char **argv)
{
	return list_or_run(argc, argv, false);
}

static int cmd_run(int argc, char **argv)
{
	return list_or_run(argc, argv, true);
}

/* ---- clauses ---- */

static void print_clause(const struct vt_clause *c)
{
	if (c->kind == VT_CLAUSE_INVARIANT) {
		printf("%s  invariant\n  %s\n", c->id, c->title);
		if (*c->related)
			printf("  related: %s\n", c->related);
		if (*c->source)
			printf("  source:  %s\n", c->source);
		return;
	}
	printf("%s  %s  %s %s\n", c->id, c->role, c->section, c->title);
	printf("  chapter:  %s\n", c->chapter);
	printf("  label:    %s\n", c->label);
	printf("  keywords: MUST %u, MUST NOT %u, SHOULD %u, SHOULD NOT %u, MAY %u, other %u\n",
	       c->must, c->must_not, c->should, c->should_not, c->may, c->other_kw);
}

/* How many tests of the catalogue cite id. */
static unsigned citations(const char *id)
{
	unsigned n = 0;
	for (const struct vt_suite *const *s = vt_suites; *s; s++)
		for (unsigned i = 0; i < (*s)->ntests; i++) {
			const char *cur = (*s)->tests[i].clauses;
			char buf[64];
			while (vt_clause_next(&cur, buf, sizeof(buf)))
				if (strcmp(buf, id) == 0) {
					n++;
					break;
				}
		}
	return n;
}

/* Every cited clause in registry order, with its section and citations. */
static void print_cited(void)
{
	int w = 2;
	for (unsigned i = 0; i < vt_clause_count(); i++) {
		const struct vt_clause *c = vt_clause_at(i);
		if (citations(c->id) && (int)strlen(c->id) > w)
			w = (int)strlen(c->id);
	}
	for (unsigned i = 0; i < vt_clause_count(); i++) {
		const struct vt_clause *c = vt_clause_at(i);
		unsigned n = citations(c->id);
		if (!n)
			continue;
		if (c->kind == VT_CLAUSE_SECTION)
			printf("%-*s  %-9s  %3u  %s %s\n", w, c->id, c->role, n, c->section, c->title);
		else
			printf("%-*s  %-9s  %3u  %s\n", w, c->id, c->role, n, c->title);
	}
}

static int cmd_clauses(int argc, char **argv)
{
	struct args a = { "clauses", argc, argv, 1 };
	bool check = false;
	int first_id = 0;
	char err[512];

	for (; a.i < argc; a.i++) {
		const char *arg = argv[a.i];
		if (is_help(arg))
			return show_help(a.cmd);
		if (strcmp(arg, "--check") == 0)
			check = true;
		else if (arg[0] == '-')
			return usage_error(&a, "unknown option", arg);
		else if (!first_id)
			first_id = a.i;
	}
	if (vt_clause_load(NULL, err, sizeof(err))) {
		fprintf(stderr, "vcts: %s\n", err);
		return VT_EXIT_USAGE;
	}
	if (first_id) {
		int rc = VT_EXIT_OK;
		for (int i = first_id; i < argc; i++) {
			if (argv[i][0] == '-')
				continue;
			const struct vt_clause *c = vt_clause_lookup(argv[i]);
			if (!c) {
				fprintf(stderr, "vcts: unknown clause '%s'\n", argv[i]);
				rc = VT_EXIT_USAGE;
			} else if (!check) {
				print_clause(c);
			}
		}
		return rc;
	}
	if (vt_check_catalogue(vt_suites, stderr))
		return VT_EXIT_USAGE;
	if (!check)
		print_cited();
	return VT_EXIT_OK;
}

/* ---- device ---- */

static uint16_t device_type(const char *name)
{
	if (strcmp(name, "blk") == 0)
		return VIRTIO_ID_BLOCK;
	if (strcmp(name, "net") == 0)
		return VIRTIO_ID_NET;
	if (strcmp(name, "fs") == 0)
		return 26;     /* virtio-fs */
	return 0;
}

/* Is SOCK a vhost-user backend at all?  A blk or net backend takes a new
 * connection after this one; virtiofsd would end its only session, so it
 * is not probed. */
static int probe_socket(const char *sock, uint16_t id)
{
	struct stat st;
	char err[320];
	if (stat(sock, &st) < 0) {
		fprintf(stderr, "vcts: device: %s: %s\n", sock, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "vcts: device: %s: not a unix socket\n", sock);
		return -1;
	}
	if (id == 26)
		return 0;
	struct gmem_layout l;
	gmem_layout_standard(&l, 1 << 20, false);
	struct gmem *gm = gmem_create(&l, false);
	struct vhu_front_opts o = { .path = sock, .sock = -1, .device_id = id, .gm = gm,
				    .timeout_ms = 2000 };
	struct vt_transport *t = gm ? vhu_front_open(&o, err, sizeof(err)) : NULL;
	if (!t)
		fprintf(stderr, "vcts: device: %s\n", gm ? err : "no guest memory");
	else
		t->ops->destroy(t);
	gmem_destroy(gm);
	return t ? 0 : -1;
}

static int cmd_device(int argc, char **argv)
{
	const char *filters[MAX_GLOBS], *excludes[MAX_GLOBS], *sock = NULL, *type = NULL;
	struct vt_run_opts o = { .filters = filters, .excludes = excludes };
	struct args a = { "device", argc, argv, 1 };

	for (; a.i < argc; a.i++) {
		const char *arg = argv[a.i], *val;
		if (is_help(arg))
			return show_help(a.cmd);
		int r = selection_opt(&a, &o, filters, excludes);
		if (r == 0 && (r = opt_value(&a, "--vhost-user", &val)) > 0)
			sock = val;
		else if (r == 0 && (r = opt_value(&a, "--type", &val)) > 0)
			type = val;
		else if (r == 0 && (r = opt_value(&a, "--timeout-scale", &val)) > 0 &&
			 parse_scale(&a, val, &o.timeout_scale))
			return VT_EXIT_USAGE;
		else if (r == 0 && (r = opt_value(&a, "--tap-version", &val)) > 0 &&
			 parse_tap_version(&a, val, &o.tap_version))
			return VT_EXIT_USAGE;
		else if (r == 0 && strcmp(arg, "--progress") == 0) {
			o.progress = true;
			r = 1;
		}
		if (r < 0)
			return VT_EXIT_USAGE;
		if (r == 0)
			return usage_error(&a, arg[0] == '-' ? "unknown option" : "unexpected argument",
					   arg);
	}
	if (!sock || !type) {
		fprintf(stderr, "vcts: device: --vhost-user SOCKET and --type blk|net|fs are "
				"required (see 'vcts help device')\n");
		return VT_EXIT_USAGE;
	}
	uint16_t id = device_type(type);
	if (!id)
		return usage_error(&a, "--type wants blk, net or fs, not", type);
	if (probe_socket(sock, id))
		return VT_EXIT_USAGE;
	const struct vt_suite *const *cat = vt_vhost_user_device_catalogue(id, sock);
	if (!cat) {
		fprintf(stderr, "vcts: device: out of memory\n");
		return VT_EXIT_USAGE;
	}
	return vt_run(cat, &o);
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stdout);
		return VT_EXIT_OK;
	}
	if (argc > 2) {
		fprintf(stderr, "vcts: help: takes one command, not '%s'\n", argv[2]);
		return VT_EXIT_USAGE;
	}
	const struct command *c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "vcts: help: unknown command '%s' (see 'vcts --help')\n", argv[1]);
		return VT_EXIT_USAGE;
	}
	fputs(c->usage, stdout);
	return VT_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "vcts: no command given (see 'vcts --help')\n");
		return VT_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (is_help(cmd)) {
		main_usage(stdout);
		return VT_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("vcts %s\n", VCTS_VERSION);
		return VT_EXIT_OK;
	}
	const struct command *c = find_command(cmd);
	if (!c) {
		if (cmd[0] == '-')
			fprintf(stderr, "vcts: unknown option '%s' (see 'vcts --help')\n", cmd);
		else
			fprintf(stderr, "vcts: unknown command '%s' (see 'vcts --help')\n", cmd);
		return VT_EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
