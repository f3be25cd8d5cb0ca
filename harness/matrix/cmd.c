/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd.c - the `vcts matrix` command: run the platform-access matrix under
 * one rule profile (TAP), list its cells, compare two profiles cell by
 * cell (--diff), show the axes and the shipped profiles.
 *
 * Everything the user gave is checked before anything runs: a bad option,
 * axis, filter, --set or profile is one line on stderr, exit status 2 and
 * nothing on stdout.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "matrix.h"
#include "../clause.h"
#include "../runner.h"

#define MAX_REPEAT   64       /* --set, --axis, --filter each            */
#define MAX_JOBS     256
#define MAX_TMO_MS   86400000u
#define VERDICT_MAX  128

const char vt_matrix_usage[] =
	"usage: vcts matrix --profile P [--set KEY=VALUE]... [--axis NAME=V1,V2]...\n"
	"                   [--filter EXPR]... [--exclude EXPR]... [--shard I/N]\n"
	"                   [--jobs N] [--timeout MS] [--tap-version N]\n"
	"                   [--list [--format text|tap|json]] [--quiet]\n"
	"       vcts matrix --diff P1 P2 [--set KEY=VALUE]... [--axis NAME=V1,V2]...\n"
	"                   [--filter EXPR]... [--exclude EXPR]... [--shard I/N]\n"
	"                   [--jobs N] [--timeout MS] [--format tap|table]\n"
	"                   [--tap-version N] [--quiet]\n"
	"       vcts matrix --axes\n"
	"       vcts matrix --profiles\n"
	"\n"
	"The platform-access matrix: every combination of the axes (who offers and\n"
	"who knows VIRTIO_F_ACCESS_PLATFORM and a proposed feature bit, secure guest,\n"
	"translation, the device's DMA address width, ring layout, event index,\n"
	"indirect descriptors, device type) run under a rule profile.  For each cell\n"
	"the oracle says what must happen (live, driver-refuses, device-refuses,\n"
	"skip; a hazard when the profile lets a cell run although an invariant cannot\n"
	"hold); the strict reference driver and the checking device run it, and the\n"
	"cell is judged against the oracle.  TAP on stdout, one test point per cell.\n"
	"Exit status: 0 if no cell failed, 1 if a cell failed, broke, timed out or\n"
	"crashed, 2 on a usage or profile error (then nothing runs).\n"
	"\n"
	"  --profile P         a shipped profile (see --profiles) or a .profile file\n"
	"  --set KEY=VALUE     change one parameter of the profile (repeatable; with\n"
	"                      --diff, of both profiles)\n"
	"  --axis NAME=V1,V2   only these values of one axis (repeatable; all must\n"
	"                      hold)\n"
	"  --filter EXPR       only the cells for which EXPR holds: terms joined by\n"
	"                      ',', all must hold; a term is KEY=V1|V2 or KEY!=V1|V2\n"
	"                      (values may be globs).  Keys: every axis, expect\n"
	"                      (live, driver-refuses, device-refuses, skip, hazard),\n"
	"                      name, clause, role, transport, verdict, profile.\n"
	"                      Several --filter are OR'ed (each of them a whole\n"
	"                      expression).  Example: --filter 'secure=on,expect!=skip'\n"
	"  --exclude EXPR      leave out the cells for which EXPR holds\n"
	"  --shard I/N         only shard I of N: the selected cells numbered from 0\n"
	"                      in cell order, those whose number modulo N is I-1\n"
	"                      (\"# vcts-shard ...\" follows the plan line).  With\n"
	"                      --diff the units are the cells that differ: every\n"
	"                      shard runs the whole selection under both profiles\n"
	"                      and reports its share of them (TAP only)\n"
	"  --jobs N            worker processes, 1..256 (default: the CPUs online)\n"
	"  --timeout MS        deadline of one cell (default 10000); a cell that\n"
	"                      overruns it is a timeout, its worker is replaced\n"
	"  --tap-version N     the version line, 13 or 14, as for 'vcts run'\n"
	"  --list              print the selected cells with their expected verdict;\n"
	"                      run nothing.  --format tap or json prints them as\n"
	"                      'vcts list --matrix P --format ...' does\n"
	"  --quiet             no progress line on stderr\n"
	"  --diff P1 P2        run the selection under both profiles and report the\n"
	"                      cells whose expected or observed verdict differs; a\n"
	"                      cell is kept when the filter holds under either\n"
	"  --format tap|table  how --diff reports: TAP (default; ok when both runs of\n"
	"                      the cell passed) or an aligned table of the observed\n"
	"                      verdicts, \"(!)\" where one is not the expected one\n"
	"  --axes              list the axes and their values\n"
	"  --profiles          list the shipped profiles with their titles\n"
	"\n"
	"A filter that selects no cell is not an error: the run skips (\"1..0\").\n"
	"The progress line \"matrix P: i/N cells, ...\" goes to stderr when it is a\n"
	"terminal (not under prove), or whenever VCTS_PROGRESS=1.  Profiles are read\n"
	"from $VCTS_PROFILE_DIR, default harness/matrix/profiles in the source tree;\n"
	"their format is in harness/matrix/profiles/README.md.\n";

enum mode { MODE_NONE, MODE_PROFILE, MODE_DIFF, MODE_AXES, MODE_PROFILES };
enum format { FORMAT_DEFAULT, FORMAT_TAP, FORMAT_TABLE, FORMAT_TEXT, FORMAT_JSON };

struct mx_args {
	enum mode mode;
	unsigned nmodes;
	const char *profile[2];
	const char *set[MAX_REPEAT];
	unsigned nset;
	const char *axis[MAX_REPEAT];
	unsigned naxis;
	const char *filter[MAX_REPEAT];
	unsigned nfilter;
	const char *exclude[MAX_REPEAT];
	unsigned nexclude;
	struct vt_sel_shard shard;
	unsigned jobs, timeout_ms, tap_version;
	bool list, quiet;
	enum format format;
};

/* What a run needs once the arguments are checked. */
struct mx_setup {
	struct vt_profile p[2];
	unsigned np;
	struct vt_mx_sel sel;
	struct vt_sel own;         /* --filter, --exclude               */
	struct vt_sel *pick;       /* own, or a listing's selection      */
	struct vt_sel_shard shard;
	uint64_t *cells;           /* the cells taken, in cell order     */
	uint64_t ncells;
	uint64_t total;            /* selected, before the shard's share */
	struct vt_mx_run_opts run;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("vcts matrix: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return VT_EXIT_USAGE;
}

/* ---- arguments ---- */

/*
 * Does argv[*i] name option `name` with a value ("--name V" or
 * "--name=V")?  1 with *val set, 0 if it is another argument, -1 (message
 * printed) when the value is missing.
 */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *arg = argv[*i];
	size_t len = strlen(name);
	if (strncmp(arg, name, len) != 0)
		return 0;
	if (arg[len] == '=') {
		*val = arg + len + 1;
		return 1;
	}
	if (arg[len] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fail("option '%s' needs an argument", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

static int parse_uint(const char *opt, const char *val, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-' || v < lo || v > hi) {
		fail("%s wants a number in %u..%u, not '%s'", opt, lo, hi, val);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int push(const char *opt, const char **list, unsigned *n, const char *val)
{
	if (*n == MAX_REPEAT) {
		fail("more than %d %s options", MAX_REPEAT, opt);
		return -1;
	}
	list[(*n)++] = val;
	return 0;
}

static void set_mode(struct mx_args *a, enum mode m)
{
	a->mode = m;
	a->nmodes++;
}

/* Options with a value; 1 taken, 0 not this kind, -1 error. */
static int value_option(struct mx_args *a, int argc, char **argv, int *i)
{
	const char *val;
	int r;

	if ((r = opt_value(argc, argv, i, "--profile", &val)) != 0) {
		a->profile[0] = val;
		set_mode(a, MODE_PROFILE);
	} else if ((r = opt_value(argc, argv, i, "--set", &val)) != 0) {
		r = r < 0 ? r : push("--set", a->set, &a->nset, val) ? -1 : 1;
	} else if ((r = opt_value(argc, argv, i, "--axis", &val)) != 0) {
		r = r < 0 ? r : push("--axis", a->axis, &a->naxis, val) ? -1 : 1;
	} else if ((r = opt_value(argc, argv, i, "--filter", &val)) != 0) {
		r = r < 0 ? r : push("--filter", a->filter, &a->nfilter, val) ? -1 : 1;
	} else if ((r = opt_value(argc, argv, i, "--exclude", &val)) != 0) {
		r = r < 0 ? r : push("--exclude", a->exclude, &a->nexclude, val) ? -1 : 1;
	} else if ((r = opt_value(argc, argv, i, "--shard", &val)) != 0) {
		char err[160];
		if (r > 0 && vt_sel_shard_parse(val, &a->shard, err, sizeof(err))) {
			fail("%s", err);
			r = -1;
		}
	} else if ((r = opt_value(argc, argv, i, "--jobs", &val)) != 0) {
		r = r < 0 ? r : parse_uint("--jobs", val, 1, MAX_JOBS, &a->jobs) ? -1 : 1;
	} else if ((r = opt_value(argc, argv, i, "--timeout", &val)) != 0) {
		r = r < 0 ? r : parse_uint("--timeout", val, 1, MAX_TMO_MS, &a->timeout_ms) ? -1 : 1;
	} else if ((r = opt_value(argc, argv, i, "--tap-version", &val)) != 0) {
		if (r > 0 && strcmp(val, "13") && strcmp(val, "14")) {
			fail("--tap-version wants 13 or 14, not '%s'", val);
			r = -1;
		} else if (r > 0) {
			a->tap_version = (unsigned)atoi(val);
		}
	} else if ((r = opt_value(argc, argv, i, "--format", &val)) != 0) {
		static const char *const names[] = { [FORMAT_TAP] = "tap", [FORMAT_TABLE] = "table",
						     [FORMAT_TEXT] = "text", [FORMAT_JSON] = "json" };
		for (unsigned f = FORMAT_TAP; r > 0 && f <= FORMAT_JSON; f++)
			if (strcmp(val, names[f]) == 0)
				a->format = (enum format)f;
		if (r > 0 && !a->format) {
			fail("--format wants tap or table (--diff), text, tap or json (--list), "
			     "not '%s'", val);
			r = -1;
		}
	}
	return r;
}

/* Returns -1 on a usage error (message printed), 1 for --help, else 0. */
static int parse_args(int argc, char **argv, struct mx_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return 1;
		int r = value_option(a, argc, argv, &i);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		if (strcmp(arg, "--diff") == 0) {
			if (i + 2 >= argc || argv[i + 1][0] == '-' || argv[i + 2][0] == '-') {
				fail("--diff needs two profiles: --diff P1 P2");
				return -1;
			}
			a->profile[0] = argv[++i];
			a->profile[1] = argv[++i];
			set_mode(a, MODE_DIFF);
		} else if (strcmp(arg, "--axes") == 0) {
			set_mode(a, MODE_AXES);
		} else if (strcmp(arg, "--profiles") == 0) {
			set_mode(a, MODE_PROFILES);
		} else if (strcmp(arg, "--list") == 0) {
			a->list = true;
		} else if (strcmp(arg, "--quiet") == 0) {
			a->quiet = true;
		} else {
			fail("%s '%s' (see 'vcts help matrix')",
			     arg[0] == '-' ? "unknown option" : "unexpected argument", arg);
			return -1;
		}
	}
	return 0;
}

/* Options that only go with some modes. */
static int check_combination(const struct mx_args *a)
{
	bool runs = a->mode == MODE_PROFILE || a->mode == MODE_DIFF;
	if (a->nmodes != 1)
		return fail("give exactly one of --profile P, --diff P1 P2, --axes, --profiles "
			    "(see 'vcts help matrix')");
	if (!runs && (a->nset || a->naxis || a->nfilter || a->nexclude || a->shard.count ||
		      a->jobs || a->timeout_ms || a->tap_version || a->list || a->quiet || a->format))
		return fail("--%s takes no other option",
			    a->mode == MODE_AXES ? "axes" : "profiles");
	if (a->list && a->mode != MODE_PROFILE)
		return fail("--list goes with --profile only");
	bool list_format = a->format == FORMAT_TEXT || a->format == FORMAT_TAP ||
			   a->format == FORMAT_JSON;
	bool diff_format = a->format == FORMAT_TAP || a->format == FORMAT_TABLE;
	if (a->format && a->list && !list_format)
		return fail("--list --format wants text, tap or json");
	if (a->format && a->mode == MODE_DIFF && !diff_format)
		return fail("--diff --format wants tap or table");
	if (a->format && !a->list && a->mode != MODE_DIFF)
		return fail("--format goes with --diff or --list");
	if (a->format == FORMAT_TABLE && a->shard.count)
		return fail("--shard does not go with --format table: the table is of the whole "
			    "selection");
	return 0;
}

/* ---- setting up a run ---- */

static unsigned default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_JOBS ? MAX_JOBS : (unsigned)n;
}

/* --filter and --exclude, parsed against the keys of a cell. */
static int build_pick(const struct mx_args *a, struct mx_setup *su)
{
	const struct vt_sel_key *keys;
	unsigned n;
	char err[640];

	vt_mx_keys(&keys, &n);
	vt_sel_init(&su->own, keys, n);
	su->pick = &su->own;
	for (unsigned i = 0; i < a->nfilter + a->nexclude; i++) {
		bool filter = i < a->nfilter;
		if (vt_sel_add(&su->own, filter ? VT_SEL_FILTER : VT_SEL_EXCLUDE,
			       filter ? a->filter[i] : a->exclude[i - a->nfilter], err, sizeof(err)))
			return fail("%s: %s", filter ? "--filter" : "--exclude", err);
	}
	return 0;
}

/*
 * The cells that take part, in cell order: those the selection keeps
 * (under either profile of --diff, so both runs see the same cells), then
 * the shard's share of them.  The units of --diff are the cells that
 * differ, known only once both runs are done: every shard runs them all
 * (share_diff).  0, or -1 when out of memory.
 */
static int pick_cells(struct mx_setup *su)
{
	uint64_t count = vt_mx_sel_count(&su->sel);
	bool all = !vt_sel_active(su->pick);
	const struct vt_sel_shard *sh = su->np == 1 ? &su->shard : NULL;

	su->cells = malloc((count ? count : 1) * sizeof(*su->cells));
	if (!su->cells)
		return -1;
	su->ncells = su->total = 0;
	for (uint64_t i = 0; i < count; i++) {
		struct vt_mx_cell c;
		struct vt_mx_expected e;
		bool keep = all;
		vt_mx_sel_cell(&su->sel, i, &c);
		for (unsigned k = 0; k < su->np && !keep; k++) {
			vt_mx_oracle(&su->p[k], &c, &e);
			keep = vt_mx_take(su->pick, &su->p[k], &c, &e);
		}
		if (keep && vt_sel_shard_takes(sh, su->total++))
			su->cells[su->ncells++] = i;
	}
	su->run.cells = su->cells;
	su->run.ncells = su->ncells;
	return 0;
}

static int load_profiles(const struct mx_args *a, struct mx_setup *su)
{
	char err[512];
	su->np = a->mode == MODE_DIFF ? 2 : 1;
	for (unsigned k = 0; k < su->np; k++) {
		if (vt_mx_profile_load(a->profile[k], &su->p[k], err, sizeof(err)))
			return fail("%s%s", err, strchr(a->profile[k], '/') ? "" :
				    " (the shipped ones: vcts matrix --profiles)");
		for (unsigned i = 0; i < a->nset; i++)
			if (vt_mx_profile_set(&su->p[k], a->set[i], err, sizeof(err)))
				return fail("--set %s%s%s: %s", a->set[i], su->np > 1 ? " under " : "",
					    su->np > 1 ? su->p[k].name : "", err);
	}
	return 0;
}

static int setup(const struct mx_args *a, struct mx_setup *su)
{
	char err[512];

	memset(su, 0, sizeof(*su));
	if (vt_clause_load(NULL, err, sizeof(err)))
		return fail("%s", err);
	if (load_profiles(a, su))
		return VT_EXIT_USAGE;
	vt_mx_sel_all(&su->sel);
	for (unsigned i = 0; i < a->naxis; i++)
		if (vt_mx_sel_axis(&su->sel, a->axis[i], err, sizeof(err)))
			return fail("--axis: %s", err);
	if (build_pick(a, su))
		return VT_EXIT_USAGE;
	su->shard = a->shard;
	const char *env = getenv("VCTS_PROGRESS");
	const char *harness = getenv("HARNESS_ACTIVE");
	su->run.jobs = a->jobs ? a->jobs : default_jobs();
	su->run.timeout_ms = a->timeout_ms;
	/* a TAP harness (prove) draws its own progress on the terminal */
	su->run.progress = !a->quiet && ((env && strcmp(env, "1") == 0) || !harness || !*harness);
	if (pick_cells(su))
		return fail("out of memory");
	return 0;
}

/* ---- listing ---- */

/* The cells taken, as items of a catalogue listing. */
static int add_items(const struct mx_setup *su, struct vt_sel_list *l)
{
	struct vt_mx_item d;
	for (uint64_t k = 0; k < su->ncells; k++) {
		struct vt_mx_cell c;
		struct vt_mx_expected e;
		vt_mx_sel_cell(&su->sel, su->cells[k], &c);
		vt_mx_oracle(&su->p[0], &c, &e);
		vt_mx_describe(&su->p[0], &c, &e, MX_ITEM_NAME | MX_ITEM_VERDICT, &d);
		if (vt_sel_list_add(l, "matrix-cell", &d.item))
			return -1;
	}
	vt_sel_list_units(l, su->ncells, su->total, "point");
	return 0;
}

int vt_mx_list(const char *profile, struct vt_sel *sel, const struct vt_sel_shard *sh,
	       struct vt_sel_list *l, char *err, size_t errlen)
{
	struct mx_setup *su = calloc(1, sizeof(*su));
	int rc = -1;

	if (!su) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	su->np = 1;
	if (vt_mx_profile_load(profile, &su->p[0], err, errlen))
		goto out;
	vt_mx_sel_all(&su->sel);
	su->pick = sel;
	if (sh)
		su->shard = *sh;
	rc = pick_cells(su) || add_items(su, l) ? -1 : 0;
	if (rc)
		snprintf(err, errlen, "out of memory");
out:
	free(su->cells);
	free(su);
	return rc;
}

/* --list --format tap|json: the catalogue writer of `vcts list`. */
static int list_items(const struct mx_args *a, const struct mx_setup *su)
{
	struct vt_sel_list *l = vt_sel_list_new();
	int rc = !l || add_items(su, l) ||
		 vt_sel_list_write(l, stdout, a->format == FORMAT_JSON ? VT_SEL_JSON : VT_SEL_TAP,
				   &su->shard, vt_run_tap_version(a->tap_version));
	vt_sel_list_free(l);
	if (rc)
		fprintf(stderr, "vcts matrix: cannot write the list\n");
	return rc ? VT_EXIT_FAIL : VT_EXIT_OK;
}

/* ---- one profile: TAP ---- */

struct run_ctx {
	struct vt_tap tap;
	unsigned expected[MX_NOUTCOMES];
	unsigned hazard;
	unsigned failed;
	unsigned n;
};

static void sink_tap(void *ctx, const struct vt_mx_result *r)
{
	struct run_ctx *rc = ctx;
	char name[MX_NAME_MAX];
	vt_mx_print(&rc->tap, r, vt_mx_cell_name(&r->cell, name, sizeof(name)));
	if (r->exp.outcome < MX_NOUTCOMES)
		rc->expected[r->exp.outcome]++;
	rc->hazard += r->exp.hazard != NULL;
	rc->failed += vt_outcome_failed(r->outcome);
	rc->n++;
}

/* Print the selected cells with their expected verdict, aligned. */
static int list_cells(const struct mx_args *a, const struct mx_setup *su)
{
	static struct vt_mx_result r;
	const struct vt_profile *p = &su->p[0];
	char name[MX_NAME_MAX], v[VERDICT_MAX];
	int w = 0;

	if (a->format == FORMAT_TAP || a->format == FORMAT_JSON)
		return list_items(a, su);
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t k = 0; k < su->ncells; k++) {
			memset(&r, 0, sizeof(r));
			r.index = su->cells[k];
			vt_mx_sel_cell(&su->sel, r.index, &r.cell);
			vt_mx_cell_name(&r.cell, name, sizeof(name));
			if (pass == 0) {
				if ((int)strlen(name) > w)
					w = (int)strlen(name);
				continue;
			}
			vt_mx_oracle(p, &r.cell, &r.exp);
			vt_mx_verdict_expected(&r, v, sizeof(v));
			printf("%-*s  %s\n", w, name, v);
		}
	return fflush(stdout) ? VT_EXIT_FAIL : VT_EXIT_OK;
}

static int run_profile(const struct mx_args *a, struct mx_setup *su)
{
	const struct vt_profile *p = &su->p[0];
	struct run_ctx *rc = calloc(1, sizeof(*rc));
	uint64_t n = su->ncells;
	char err[256];

	if (!rc)
		return fail("out of memory");
	vt_tap_start(&rc->tap, stdout, vt_run_tap_version(a->tap_version));
	if (vt_sel_shard_empty(&rc->tap, &su->shard, su->total, "point")) {
		free(rc);
		return VT_EXIT_OK;
	}
	if (!n) {
		vt_tap_skip_all(&rc->tap, "no cell selected");
		free(rc);
		return VT_EXIT_OK;
	}
	vt_tap_plan(&rc->tap, (unsigned)n);
	vt_sel_shard_note(&rc->tap, &su->shard, su->total, "point");
	long got = vt_mx_run(p, &su->sel, &su->run, sink_tap, rc, err, sizeof(err));
	int status = rc->failed ? VT_EXIT_FAIL : VT_EXIT_OK;
	if (got < 0 || (uint64_t)got != n) {
		vt_tap_bail(&rc->tap, "matrix %s: %s", p->name, got < 0 ? err : "run cut short");
		status = VT_EXIT_FAIL;
	}
	vt_tap_diag(&rc->tap,
		    "matrix %s: %u cells: %u live, %u driver-refuses, %u device-refuses, %u skip, "
		    "%u hazard; %u failed",
		    p->name, rc->n, rc->expected[MX_LIVE], rc->expected[MX_DRIVER_REFUSES],
		    rc->expected[MX_DEVICE_REFUSES], rc->expected[MX_CELL_SKIP], rc->hazard,
		    rc->failed);
	free(rc);
	return status;
}

/* ---- two profiles: the cells whose verdict changes ---- */

/* One cell as one profile saw it. */
struct side {
	uint64_t index;
	struct vt_mx_cell cell;
	enum vt_outcome outcome;
	char detail[160];
	char expected[VERDICT_MAX];
	char observed[VERDICT_MAX];
	char why[160];
	char hazard_why[160];
};

struct diff_ctx {
	const struct vt_profile *p[2];
	struct side *side[2];      /* every kept cell, in order, per profile */
	uint64_t n[2];
	uint64_t cap;
	unsigned failed[2];
	unsigned cur;              /* the profile running */
};

static void sink_side(void *ctx, const struct vt_mx_result *r)
{
	struct diff_ctx *d = ctx;
	unsigned k = d->cur;
	if (d->n[k] == d->cap)
		return;
	struct side *s = &d->side[k][d->n[k]++];
	s->index = r->index;
	s->cell = r->cell;
	s->outcome = r->outcome;
	snprintf(s->detail, sizeof(s->detail), "%s", r->detail);
	snprintf(s->why, sizeof(s->why), "%s", r->exp.why);
	if (r->exp.hazard)
		snprintf(s->hazard_why, sizeof(s->hazard_why), "%s", r->exp.hazard_why);
	vt_mx_verdict_expected(r, s->expected, sizeof(s->expected));
	vt_mx_verdict_observed(r, s->observed, sizeof(s->observed));
	d->failed[k] += vt_outcome_failed(r->outcome);
}

static bool differs(const struct side *a, const struct side *b)
{
	return strcmp(a->expected, b->expected) != 0 || strcmp(a->observed, b->observed) != 0;
}

/* YAML keys for the two profiles: their names, told apart if equal. */
static void side_keys(const struct diff_ctx *d, char key[2][80])
{
	bool same = strcmp(d->p[0]->name, d->p[1]->name) == 0;
	for (unsigned k = 0; k < 2; k++)
		snprintf(key[k], sizeof(key[k]), same ? "%s#%u" : "%s", d->p[k]->name, k + 1);
}

static void yaml_side(FILE *f, const char *key, const struct side *s)
{
	fputs("  ", f);
	vt_tap_yaml_quote(f, key);
	fputs(":\n    expected: ", f);
	vt_tap_yaml_quote(f, s->expected);
	fputs("\n    observed: ", f);
	vt_tap_yaml_quote(f, s->observed);
	if (s->why[0]) {
		fputs("\n    why: ", f);
		vt_tap_yaml_quote(f, s->why);
	}
	if (s->hazard_why[0]) {
		fputs("\n    hazard: ", f);
		vt_tap_yaml_quote(f, s->hazard_why);
	}
	fputs("\n    outcome: ", f);
	vt_tap_yaml_quote(f, vt_outcome_name(s->outcome));
	if (s->detail[0]) {
		fputs("\n    detail: ", f);
		vt_tap_yaml_quote(f, s->detail);
	}
	fputc('\n', f);
}

static unsigned count_diffs(const struct diff_ctx *d)
{
	unsigned n = 0;
	for (uint64_t i = 0; i < d->n[0]; i++)
		n += differs(&d->side[0][i], &d->side[1][i]);
	return n;
}

/*
 * The test points of a shard of --diff.  Its units are the cells that
 * differ, numbered in cell order; every shard ran and compared every cell,
 * so the cells compared and the failures in its summary are the whole
 * run's, and only the cells that differ are its own.  Unsharded, all.
 */
struct diff_share {
	bool *own;                 /* per kept cell: a unit of this shard    */
	unsigned ndiff;            /* the units of this shard: the plan      */
	unsigned total;            /* the cells that differ: T               */
};

static int share_diff(const struct diff_ctx *d, const struct vt_sel_shard *sh,
		      struct diff_share *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->own = calloc(d->n[0] ? d->n[0] : 1, sizeof(*sp->own));
	if (!sp->own)
		return -1;
	for (uint64_t i = 0; i < d->n[0]; i++) {
		if (!differs(&d->side[0][i], &d->side[1][i]))
			continue;
		sp->own[i] = vt_sel_shard_takes(sh, sp->total++);
		sp->ndiff += sp->own[i];
	}
	return 0;
}

/* TAP: one test point per differing cell the shard owns.  0, or -1 when
 * out of memory. */
static int diff_tap(const struct diff_ctx *d, const struct vt_sel_shard *sh,
		    unsigned tap_version)
{
	struct vt_tap tap;
	struct diff_share sp;
	char key[2][80], name[MX_NAME_MAX];

	if (share_diff(d, sh, &sp))
		return -1;
	side_keys(d, key);
	vt_tap_start(&tap, stdout, vt_run_tap_version(tap_version));
	if (vt_sel_shard_empty(&tap, sh, sp.total, "point")) {
		free(sp.own);
		return 0;
	}
	if (!sp.ndiff)
		vt_tap_skip_all(&tap, "no cell differs");
	else
		vt_tap_plan(&tap, sp.ndiff);
	vt_sel_shard_note(&tap, sh, sp.total, "point");
	for (uint64_t i = 0; i < d->n[0]; i++) {
		const struct side *s[2] = { &d->side[0][i], &d->side[1][i] };
		if (!sp.own[i])
			continue;
		/* ok when both runs of the cell passed; else the first failure */
		const struct side *bad = vt_outcome_failed(s[0]->outcome) ? s[0] :
					 vt_outcome_failed(s[1]->outcome) ? s[1] : NULL;
		vt_tap_result(&tap, bad ? bad->outcome : VT_PASS,
			      vt_mx_cell_name(&s[0]->cell, name, sizeof(name)),
			      bad ? bad->detail : NULL);
		fputs("  ---\n", tap.f);
		yaml_side(tap.f, key[0], s[0]);
		yaml_side(tap.f, key[1], s[1]);
		fputs("  ...\n", tap.f);
		fflush(tap.f);
	}
	vt_tap_diag(&tap, "matrix diff %s %s: %u of %llu cells differ; failed: %u under %s, "
		    "%u under %s", key[0], key[1], sp.ndiff, (unsigned long long)d->n[0],
		    d->failed[0], key[0], d->failed[1], key[1]);
	free(sp.own);
	return 0;
}

/* ---- folding axes the verdicts do not depend on --------------------------- */

/* A cell as a number, first axis most significant: the runs keep cells in
 * selection order (last axis fastest), so the numbers ascend and a cell
 * is found by bisection. */
static uint32_t cell_key(const struct vt_mx_cell *c)
{
	uint32_t k = 0;
	for (unsigned a = 0; a < MX_NAXES; a++)
		k = k << 2 | c->v[a];
	return k;
}

static const struct side *find_cell(const struct diff_ctx *d, const struct vt_mx_cell *c,
				    uint64_t *at)
{
	uint32_t want = cell_key(c);
	uint64_t lo = 0, hi = d->n[0];
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		uint32_t k = cell_key(&d->side[0][mid].cell);
		if (k == want) {
			*at = mid;
			return &d->side[0][mid];
		}
		if (k < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool same_pair(const struct diff_ctx *d, uint64_t i, uint64_t j)
{
	for (unsigned k = 0; k < 2; k++) {
		const struct side *a = &d->side[k][i], *b = &d->side[k][j];
		if (strcmp(a->expected, b->expected) || strcmp(a->observed, b->observed) ||
		    vt_outcome_failed(a->outcome) != vt_outcome_failed(b->outcome))
			return false;
	}
	return true;
}

/* fold[a]: axis a changes no cell's pair of verdicts (every cell agrees
 * with the same cell at the axis's first value `base[a]`); such an axis
 * is left out of the table and only the rows at its base value shown. */
static void foldable_axes(const struct diff_ctx *d, const bool vary[MX_NAXES],
			  bool fold[MX_NAXES], uint8_t base[MX_NAXES])
{
	for (unsigned a = 0; a < MX_NAXES; a++) {
		fold[a] = vary[a];
		base[a] = UINT8_MAX;
		for (uint64_t i = 0; i < d->n[0]; i++)
			if (d->side[0][i].cell.v[a] < base[a])
				base[a] = d->side[0][i].cell.v[a];
	}
	for (unsigned a = 0; a < MX_NAXES; a++) {
		for (uint64_t i = 0; fold[a] && i < d->n[0]; i++) {
			struct vt_mx_cell c = d->side[0][i].cell;
			uint64_t j;
			c.v[a] = base[a];
			if (!find_cell(d, &c, &j) || !same_pair(d, i, j))
				fold[a] = false;
		}
	}
}

/* The axes on which the differing cells do not all agree: the columns. */
static void varying_axes(const struct diff_ctx *d, bool vary[MX_NAXES], int first[MX_NAXES])
{
	for (unsigned a = 0; a < MX_NAXES; a++) {
		vary[a] = false;
		first[a] = -1;
	}
	for (uint64_t i = 0; i < d->n[0]; i++) {
		const struct side *s = &d->side[0][i];
		if (!differs(s, &d->side[1][i]))
			continue;
		for (unsigned a = 0; a < MX_NAXES; a++) {
			if (first[a] < 0)
				first[a] = s->cell.v[a];
			else if (first[a] != s->cell.v[a])
				vary[a] = true;
		}
	}
}

/* "live AP iova (!)": the observed verdict, marked when the cell failed:
 * what was observed is not what the oracle expected (a hazard's breach is
 * expected, so it is not marked). */
static void table_verdict(const struct side *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", s->observed, vt_outcome_failed(s->outcome) ? " (!)" : "");
}

static void table_widths(const struct diff_ctx *d, const bool vary[MX_NAXES],
			 const char key[2][80], int w[MX_NAXES + 2])
{
	char v[VERDICT_MAX + 8];
	for (unsigned a = 0; a < MX_NAXES; a++)
		w[a] = (int)strlen(vt_mx_axes[a].name);
	w[MX_NAXES] = (int)strlen(key[0]);
	w[MX_NAXES + 1] = (int)strlen(key[1]);
	for (uint64_t i = 0; i < d->n[0]; i++) {
		const struct side *s[2] = { &d->side[0][i], &d->side[1][i] };
		if (!differs(s[0], s[1]))
			continue;
		for (unsigned a = 0; a < MX_NAXES; a++) {
			int l = (int)strlen(vt_mx_axes[a].values[s[0]->cell.v[a]]);
			if (vary[a] && l > w[a])
				w[a] = l;
		}
		for (unsigned k = 0; k < 2; k++) {
			table_verdict(s[k], v, sizeof(v));
			if ((int)strlen(v) > w[MX_NAXES + k])
				w[MX_NAXES + k] = (int)strlen(v);
		}
	}
}

static void table_row(const bool vary[MX_NAXES], const int w[MX_NAXES + 2],
		      const char *const col[MX_NAXES + 2])
{
	const char *sep = "";
	for (unsigned c = 0; c < MX_NAXES + 2; c++) {
		if (c < MX_NAXES && !vary[c])
			continue;
		printf("%s%-*s", sep, c == MX_NAXES + 1 ? 0 : w[c], col[c]);
		sep = "  ";
	}
	putchar('\n');
}

static void diff_table(const struct diff_ctx *d)
{
	char key[2][80], v[2][VERDICT_MAX + 8];
	bool vary[MX_NAXES], fold[MX_NAXES], show[MX_NAXES];
	uint8_t base[MX_NAXES];
	int first[MX_NAXES], w[MX_NAXES + 2];
	const char *col[MX_NAXES + 2];
	unsigned ndiff = count_diffs(d), rows = 0;

	side_keys(d, key);
	if (!ndiff) {
		printf("no cell differs between %s and %s (%llu cells)\n", key[0], key[1],
		       (unsigned long long)d->n[0]);
		return;
	}
	varying_axes(d, vary, first);
	foldable_axes(d, vary, fold, base);
	for (unsigned a = 0; a < MX_NAXES; a++)
		show[a] = vary[a] && !fold[a];
	/* axes every differing cell shares go above the table, not in it */
	const char *lead = "every differing cell has:";
	for (unsigned a = 0; a < MX_NAXES; a++)
		if (!vary[a]) {
			printf("%s %s=%s", lead, vt_mx_axes[a].name, vt_mx_axes[a].values[first[a]]);
			lead = "";
		}
	if (!*lead)
		putchar('\n');
	/* and so do the axes no verdict depends on: one row stands for all */
	lead = "no verdict depends on:";
	for (unsigned a = 0; a < MX_NAXES; a++)
		if (fold[a]) {
			printf("%s %s", lead, vt_mx_axes[a].name);
			lead = ",";
		}
	if (*lead == ',')
		printf(" (one row stands for all their values)\n");
	putchar('\n');
	table_widths(d, show, key, w);
	for (unsigned a = 0; a < MX_NAXES; a++)
		col[a] = vt_mx_axes[a].name;
	col[MX_NAXES] = key[0];
	col[MX_NAXES + 1] = key[1];
	table_row(show, w, col);
	for (uint64_t i = 0; i < d->n[0]; i++) {
		const struct side *s[2] = { &d->side[0][i], &d->side[1][i] };
		if (!differs(s[0], s[1]))
			continue;
		bool folded = false;
		for (unsigned a = 0; a < MX_NAXES; a++)
			folded |= fold[a] && s[0]->cell.v[a] != base[a];
		if (folded)
			continue;
		rows++;
		for (unsigned a = 0; a < MX_NAXES; a++)
			col[a] = vt_mx_axes[a].values[s[0]->cell.v[a]];
		for (unsigned k = 0; k < 2; k++) {
			table_verdict(s[k], v[k], sizeof(v[k]));
			col[MX_NAXES + k] = v[k];
		}
		table_row(show, w, col);
	}
	printf("\n%u of %llu cells differ between %s and %s, in %u rows (observed verdicts; "
	       "(!): not what the profile expects)\n", ndiff, (unsigned long long)d->n[0],
	       key[0], key[1], rows);
	if (d->failed[0] || d->failed[1])
		printf("failed: %u under %s, %u under %s\n", d->failed[0], key[0], d->failed[1],
		       key[1]);
}

static int run_diff(const struct mx_args *a, struct mx_setup *su)
{
	struct diff_ctx d = { .p = { &su->p[0], &su->p[1] }, .cap = su->ncells };
	char err[256];
	int status = VT_EXIT_OK;

	d.side[0] = calloc(d.cap ? d.cap : 1, sizeof(struct side));
	d.side[1] = calloc(d.cap ? d.cap : 1, sizeof(struct side));
	if (!d.side[0] || !d.side[1]) {
		status = fail("out of memory");
		goto out;
	}
	for (unsigned k = 0; k < 2; k++) {
		d.cur = k;
		long got = vt_mx_run(&su->p[k], &su->sel, &su->run, sink_side, &d, err, sizeof(err));
		if (got < 0 || (uint64_t)got != d.cap || d.n[k] != d.cap) {
			fprintf(stderr, "vcts matrix: --diff: the run under %s %s\n", su->p[k].name,
				got < 0 ? err : "was cut short");
			status = VT_EXIT_FAIL;
			goto out;
		}
	}
	int rc = 0;
	if (a->format == FORMAT_TABLE)
		diff_table(&d);
	else
		rc = diff_tap(&d, &su->shard, a->tap_version);
	fflush(stdout);
	if (rc)
		status = fail("out of memory");
	else
		status = d.failed[0] || d.failed[1] ? VT_EXIT_FAIL : VT_EXIT_OK;
out:
	free(d.side[0]);
	free(d.side[1]);
	return status;
}

/* ---- --axes, --profiles ---- */

static int show_axes(void)
{
	static const char *const expect[] = { "live", "driver-refuses", "device-refuses", "skip",
					      "hazard" };
	char vals[128];

	for (unsigned a = 0; a < MX_NAXES; a++) {
		const struct vt_mx_axis_def *d = &vt_mx_axes[a];
		size_t off = 0;
		vals[0] = '\0';
		for (unsigned v = 0; v < d->nvalues && off < sizeof(vals); v++)
			off += (size_t)snprintf(vals + off, sizeof(vals) - off, "%s%s", v ? "," : "",
						d->values[v]);
		printf("%-12s %-30s %s\n", d->name, vals, d->what);
	}
	size_t off = 0;
	for (unsigned v = 0; v < sizeof(expect) / sizeof(expect[0]); v++)
		off += (size_t)snprintf(vals + off, sizeof(vals) - off, "%s%s", v ? "," : "",
					expect[v]);
	printf("\n%-12s %s\n%-12s the oracle's verdict of a cell (--filter only)\n", "expect",
	       vals, "");
	return VT_EXIT_OK;
}

static int show_profiles(void)
{
	struct vt_profile *p;
	char err[512];
	unsigned n = 0;
	int w = 0;

	if (vt_clause_load(NULL, err, sizeof(err)))
		return fail("%s", err);
	while (vt_mx_shipped_profiles[n])
		n++;
	p = calloc(n ? n : 1, sizeof(*p));
	if (!p)
		return fail("out of memory");
	for (unsigned i = 0; i < n; i++) {
		if (vt_mx_profile_load(vt_mx_shipped_profiles[i], &p[i], err, sizeof(err))) {
			free(p);
			return fail("%s", err);
		}
		if ((int)strlen(p[i].name) > w)
			w = (int)strlen(p[i].name);
	}
	for (unsigned i = 0; i < n; i++)
		printf("%-*s  %s\n", w, p[i].name, p[i].title);
	free(p);
	return VT_EXIT_OK;
}

/* ---- the command ---- */

int vt_matrix_main(int argc, char **argv)
{
	struct mx_args a = { .mode = MODE_NONE };
	struct mx_setup *su;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc > 0) {
		fputs(vt_matrix_usage, stdout);
		return VT_EXIT_OK;
	}
	if (rc < 0 || check_combination(&a))
		return VT_EXIT_USAGE;
	if (a.mode == MODE_AXES)
		return show_axes();
	if (a.mode == MODE_PROFILES)
		return show_profiles();

	su = calloc(1, sizeof(*su));
	if (!su)
		return fail("out of memory");
	rc = setup(&a, su);
	if (rc == 0) {
		if (a.mode == MODE_DIFF)
			rc = run_diff(&a, su);
		else if (a.list)
			rc = list_cells(&a, su);
		else
			rc = run_profile(&a, su);
	}
	free(su->cells);
	free(su);
	return rc;
}
