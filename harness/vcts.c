/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vcts.c - the command line: list, run and explain the conformance tests.
 *
 *   vcts list [--tests] [--guest] [--matrix P]... [--filter EXPR]...
 *             [--exclude EXPR]... [--shard I/N] [--format text|tap|json]
 *   vcts run  [--filter EXPR]... [--exclude EXPR]... [--shard I/N] [--list]
 *             [--timeout-scale X] [--progress] [--tap-version N]
 *   vcts clauses [--check] [ID...]
 *   vcts pci [SLOT] | --image FILE | --qemu TARGET
 *   vcts device --vhost-user SOCKET --type blk|net|fs [--filter EXPR]...
 *   vcts matrix --profile P | --diff P1 P2 | --axes | --profiles [options]
 *   vcts report [--dir DIR] [--out DIR] [--jobs N] [--no-junit]
 *   vcts merge [-o FILE] SHARD.tap...
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
#include "select.h"
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

#define MAX_EXPRS    64      /* --filter and --exclude, each */
#define MAX_PROFILES 16      /* list --matrix                 */

struct command {
	const char *name;
	const char *summary;
	const char *usage;
	int (*fn)(int argc, char **argv);
};

/* How EXPR reads (select.h), shown by list, run and device. */
#define SELECTION_HELP \
	"EXPR: terms joined by ',', all must hold.  A term is KEY=V1|V2 (a value of\n" \
	"KEY matches one of the Vs), KEY!=V1|V2 (none does) or a name glob (a term\n" \
	"whose text before its first '=' is not a key word: letters, digits, '-',\n" \
	"'_').  A value is an fnmatch glob or an exact string.  Examples:\n" \
	"  --filter 'split/*'  --filter 'clause=INV-*|DRV-6.1'  --filter role=device\n" \
	"  --filter 'transport=inproc,area=packed'  --exclude 'variant=*thread*'\n" \
	"A --filter that matches nothing is an error; an unknown key names the keys.\n" \
	"\n"

static const char list_usage[] =
	"usage: vcts list [--tests] [--guest] [--matrix PROFILE]... [--filter EXPR]...\n"
	"                 [--exclude EXPR]... [--shard I/N] [--format text|tap|json]\n"
	"                 [--tap-version N]\n"
	"\n"
	"List the test instances, one per line: name, role (driver|device),\n"
	"transport and the clauses the test checks.  With --guest or --matrix, list\n"
	"those catalogues instead (--tests adds the test instances back); nothing\n"
	"runs and no guest boots.\n"
	"\n"
	"  --tests            the test instances of 'vcts run' (the default)\n"
	"  --guest            the cells of 'vcts guest' with their attributes\n"
	"  --matrix PROFILE   the cells of 'vcts matrix' under PROFILE (every axis)\n"
	"                     with the expected verdict; repeatable\n"
	"  --filter EXPR      only items for which EXPR holds; several are OR'ed\n"
	"  --exclude EXPR     leave out items for which EXPR holds\n"
	"  --shard I/N        only what 'vcts run' (guest, matrix) --shard I/N runs\n"
	"  --format F         text (default), tap (\"ok i - NAME # SKIP listed\" and a\n"
	"                     YAML block of its attributes) or json (one document:\n"
	"                     {\"vcts\": VERSION, \"items\": [{\"kind\", \"name\", \"role\",\n"
	"                     \"transport\", \"clauses\", ...}]}; an attribute with\n"
	"                     several values is a list)\n"
	"  --tap-version N    the version line of --format tap, 13 or 14\n"
	"\n"
	SELECTION_HELP
	"Keys of a test: name, clause, role, transport, area, variant, timeout.\n"
	"Keys of a guest cell: see 'vcts help guest'; of a matrix cell: see\n"
	"'vcts help matrix'.\n";

static const char run_usage[] =
	"usage: vcts run [--filter EXPR]... [--exclude EXPR]... [--shard I/N]\n"
	"                [--timeout-scale X] [--progress] [--tap-version N]\n"
	"                [--list [--format text|tap|json]]\n"
	"\n"
	"Run the test instances, each in its own process with a deadline, and\n"
	"print TAP on stdout.  Exit status: 0 if nothing failed, 1 if a test\n"
	"failed, broke, timed out or crashed, 2 on a usage or registry error.\n"
	"\n"
	"  --filter EXPR        only instances for which EXPR holds (several are\n"
	"                       OR'ed); keys: name, clause, role, transport, area,\n"
	"                       variant, timeout\n"
	"  --exclude EXPR       leave out instances for which EXPR holds\n"
	"  --shard I/N          run only shard I of N: the selected instances\n"
	"                       numbered from 0 in catalogue order, those whose\n"
	"                       number modulo N is I-1 (\"# vcts-shard ...\" follows\n"
	"                       the plan line)\n"
	"  --timeout-scale X    multiply every test's deadline by X (e.g. 4 under\n"
	"                       a sanitizer or on a loaded machine)\n"
	"  --progress           \"[i/N] name\" on stderr (default when it is a tty,\n"
	"                       unless run by prove)\n"
	"  --tap-version N      the version line, 13 or 14; default 14, but 13\n"
	"                       when run by a prove older than 3.48 (it rejects 14)\n"
	"  --list               list the selected instances as 'vcts list' does\n"
	"\n"
	SELECTION_HELP;

static const char clauses_usage[] =
	"usage: vcts clauses [--check] [ID...]\n"
	"\n"
	"With ids, print their rows of the registry (spec/normative-sections.tsv,\n"
	"spec/invariants.tsv).  Without, print every clause the catalogue cites,\n"
	"with its section and how many tests cite it.\n"
	"\n"
	"  --check   only validate the registry and the catalogue's citations\n";

static const char device_usage[] =
	"usage: vcts device --vhost-user SOCKET --type blk|net|fs [--filter EXPR]...\n"
	"                   [--exclude EXPR]... [--shard I/N] [--timeout-scale X]\n"
	"                   [--progress] [--tap-version N]\n"
	"\n"
	"Judge a device someone else started: the vhost-user device tests, vcts\n"
	"acting as the front-end (the VMM's role) over SOCKET.  TAP on stdout, exit\n"
	"status as for run.  A blk or net backend must accept one connection per\n"
	"test (qemu-storage-daemon and DPDK do); virtiofsd serves a single session,\n"
	"so --type fs runs the one bring-up test.  --filter, --exclude and --shard\n"
	"select as for run.\n";

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
	{ "merge", "put the TAP of the shards of one run (--shard I/N) back together",
	  vt_merge_usage, vt_merge_main },
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

/* ---- choosing: --filter, --exclude, --shard (select.h) ---- */

/* What the user chose, kept as given until the catalogues (and so the
 * keys) are known. */
struct choice {
	const char *filter[MAX_EXPRS];
	unsigned nfilter;
	const char *exclude[MAX_EXPRS];
	unsigned nexclude;
	struct vt_sel_shard shard;
};

/* The parsed selection: too big for the stack. */
static struct vt_sel selection;

static int push_expr(const struct args *a, const char *opt, const char **list, unsigned *n,
		     const char *val)
{
	if (*n == MAX_EXPRS) {
		fprintf(stderr, "vcts: %s: more than %d %s options\n", a->cmd, MAX_EXPRS, opt);
		return -1;
	}
	list[(*n)++] = val;
	return 1;
}

/* --filter, --exclude and --shard; returns 1 if taken, 0 if not, -1 on
 * error (one line printed). */
static int selection_opt(struct args *a, struct choice *c)
{
	const char *val;
	char err[160];
	int r = opt_value(a, "--filter", &val);
	if (r)
		return r < 0 ? -1 : push_expr(a, "--filter", c->filter, &c->nfilter, val);
	r = opt_value(a, "--exclude", &val);
	if (r)
		return r < 0 ? -1 : push_expr(a, "--exclude", c->exclude, &c->nexclude, val);
	r = opt_value(a, "--shard", &val);
	if (r <= 0)
		return r;
	if (vt_sel_shard_parse(val, &c->shard, err, sizeof(err))) {
		fprintf(stderr, "vcts: %s: %s\n", a->cmd, err);
		return -1;
	}
	return 1;
}

/* Parse the expressions against the keys of the catalogues at hand: 0,
 * or -1 with one line printed. */
static int build_selection(const struct args *a, const struct choice *c, bool tests, bool guest,
			   bool matrix)
{
	const struct vt_sel_key *keys;
	unsigned n;
	char err[640];

	vt_sel_init(&selection, NULL, 0);
	if (tests) {
		vt_run_keys(&keys, &n);
		vt_sel_add_keys(&selection, keys, n);
	}
	if (guest) {
		vt_guest_keys(&keys, &n);
		vt_sel_add_keys(&selection, keys, n);
	}
	if (matrix) {
		vt_mx_keys(&keys, &n);
		vt_sel_add_keys(&selection, keys, n);
	}
	for (unsigned i = 0; i < c->nfilter + c->nexclude; i++) {
		bool filter = i < c->nfilter;
		const char *expr = filter ? c->filter[i] : c->exclude[i - c->nfilter];
		if (vt_sel_add(&selection, filter ? VT_SEL_FILTER : VT_SEL_EXCLUDE, expr, err,
			       sizeof(err))) {
			fprintf(stderr, "vcts: %s: %s: %s\n", a->cmd, filter ? "--filter" : "--exclude",
				err);
			return -1;
		}
	}
	return 0;
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

static int parse_format(const struct args *a, const char *val, enum vt_sel_format *out)
{
	if (!vt_sel_format_parse(val, out))
		return 0;
	fprintf(stderr, "vcts: %s: --format wants text, tap or json, not '%s'\n", a->cmd, val);
	return -1;
}

/* The catalogues `vcts list` was asked for: tests, guest cells, matrix
 * cells under each profile; one selection, one shard, one listing. */
struct listing {
	bool tests, guest;
	const char *profile[MAX_PROFILES];
	unsigned nprofiles;
};

static int list_catalogues(const struct args *a, struct vt_run_opts *o,
			   const struct listing *ls)
{
	char err[600];
	int rc = VT_EXIT_USAGE;
	struct vt_sel_list *l = vt_sel_list_new();

	if (!l) {
		fprintf(stderr, "vcts: %s: out of memory\n", a->cmd);
		return VT_EXIT_USAGE;
	}
	o->into = l;
	if (ls->tests && (rc = vt_run(vt_suites, o)) != VT_EXIT_OK)
		goto out;
	rc = VT_EXIT_USAGE;
	if (vt_clause_load(NULL, err, sizeof(err))) {
		fprintf(stderr, "vcts: %s\n", err);
		goto out;
	}
	if (ls->guest && vt_guest_list(NULL, &selection, &o->shard, l, err, sizeof(err))) {
		fprintf(stderr, "vcts: %s: --guest: %s\n", a->cmd, err);
		goto out;
	}
	for (unsigned i = 0; i < ls->nprofiles; i++)
		if (vt_mx_list(ls->profile[i], &selection, &o->shard, l, err, sizeof(err))) {
			fprintf(stderr, "vcts: %s: --matrix %s: %s\n", a->cmd, ls->profile[i], err);
			goto out;
		}
	const char *missed = vt_sel_missed(&selection);
	if (missed) {
		fprintf(stderr, "vcts: no test matches '%s'\n", missed);
		goto out;
	}
	rc = VT_EXIT_OK;
	if (vt_sel_list_write(l, stdout, o->format, &o->shard, vt_run_tap_version(o->tap_version))) {
		fprintf(stderr, "vcts: %s: cannot write the list\n", a->cmd);
		rc = VT_EXIT_FAIL;
	}
out:
	vt_sel_list_free(l);
	return rc;
}

/* Options only `vcts list` takes: 1 taken, 0 not, -1 error. */
static int listing_opt(struct args *a, struct listing *ls)
{
	const char *val;
	const char *arg = a->argv[a->i];
	if (strcmp(arg, "--tests") == 0) {
		ls->tests = true;
		return 1;
	}
	if (strcmp(arg, "--guest") == 0) {
		ls->guest = true;
		return 1;
	}
	int r = opt_value(a, "--matrix", &val);
	if (r <= 0)
		return r;
	if (ls->nprofiles == MAX_PROFILES) {
		fprintf(stderr, "vcts: %s: more than %d --matrix options\n", a->cmd, MAX_PROFILES);
		return -1;
	}
	ls->profile[ls->nprofiles++] = val;
	return 1;
}

/* list and run share everything but a few options. */
static int list_or_run(int argc, char **argv, bool run)
{
	struct choice c = { 0 };
	struct listing ls = { 0 };
	struct vt_run_opts o = { .sel = &selection, .list = !run };
	struct args a = { run ? "run" : "list", argc, argv, 1 };
	bool has_format = false;

	for (; a.i < argc; a.i++) {
		const char *arg = argv[a.i], *val;
		if (is_help(arg))
			return show_help(a.cmd);
		int r = selection_opt(&a, &c);
		if (r == 0 && !run)
			r = listing_opt(&a, &ls);
		if (r < 0)
			return VT_EXIT_USAGE;
		if (r > 0)
			continue;
		if (run && strcmp(arg, "--list") == 0) {
			o.list = true;
			continue;
		}
		if (run && strcmp(arg, "--progress") == 0) {
			o.progress = true;
			continue;
		}
		if (run && (r = opt_value(&a, "--timeout-scale", &val)) != 0) {
			if (r < 0 || parse_scale(&a, val, &o.timeout_scale))
				return VT_EXIT_USAGE;
			continue;
		}
		if ((r = opt_value(&a, "--tap-version", &val)) != 0) {
			if (r < 0 || parse_tap_version(&a, val, &o.tap_version))
				return VT_EXIT_USAGE;
			continue;
		}
		if ((r = opt_value(&a, "--format", &val)) != 0) {
			if (r < 0 || parse_format(&a, val, &o.format))
				return VT_EXIT_USAGE;
			has_format = true;
			continue;
		}
		if (arg[0] == '-')
			return usage_error(&a, "unknown option", arg);
		return usage_error(&a, "unexpected argument", arg);
	}
	if (has_format && !o.list) {
		fprintf(stderr, "vcts: run: --format goes with --list\n");
		return VT_EXIT_USAGE;
	}
	bool others = ls.guest || ls.nprofiles;
	ls.tests |= !others;
	if (build_selection(&a, &c, ls.tests, ls.guest, ls.nprofiles > 0))
		return VT_EXIT_USAGE;
	o.shard = c.shard;
	return others ? list_catalogues(&a, &o, &ls) : vt_run(vt_suites, &o);
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
	const char *sock = NULL, *type = NULL;
	struct choice c = { 0 };
	struct vt_run_opts o = { .sel = &selection };
	struct args a = { "device", argc, argv, 1 };

	for (; a.i < argc; a.i++) {
		const char *arg = argv[a.i], *val;
		if (is_help(arg))
			return show_help(a.cmd);
		int r = selection_opt(&a, &c);
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
	if (build_selection(&a, &c, true, false, false))
		return VT_EXIT_USAGE;
	o.shard = c.shard;
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
