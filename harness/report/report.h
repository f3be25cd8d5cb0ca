/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.h - `vcts report`: the saved TAP of a conformance run turned into
 * what people read.  Every TAP file of a directory is read into a small
 * model (tap_read.c, yaml.c); the model feeds one self-contained HTML page
 * (html.c and the section writers), the clause coverage (coverage.c) and,
 * through prove, one JUnit file per TAP file (junit.c).
 */
#ifndef VCTS_REPORT_H
#define VCTS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "../arena.h"
#include "../clause.h"
#include "../test.h"

/* ---- the command ---- */

extern const char vt_report_usage[];
int vt_report_main(int argc, char **argv);
extern const char vt_merge_usage[];
int vt_merge_main(int argc, char **argv);

/* The model's memory is one arena (../arena.h), freed with it. */

/* ---- the TAP model ---- */

/* Verdicts of a test point, in rising order of badness. */
enum vt_rp_verdict {
	VT_RP_SKIP,       /* ok # SKIP                                        */
	VT_RP_PASS,       /* ok                                               */
	VT_RP_TODO,       /* not ok # TODO: a known issue, or a matrix hazard */
	VT_RP_XPASS,      /* a known issue gone (not ok # XPASS, ok # TODO)   */
	VT_RP_FAIL,       /* not ok: failed, broken, timeout, crash           */
	VT_RP_NV
};

const char *vt_rp_verdict_name(enum vt_rp_verdict v);    /* "pass", "fail", ...      */
const char *vt_rp_verdict_label(enum vt_rp_verdict v);   /* "passed", "failed", ...  */
static inline bool vt_rp_is_problem(enum vt_rp_verdict v)
{
	return v >= VT_RP_TODO;
}

/* One "key: value" of a YAML block, its path flattened:
 * "rule", "violations.0.rule", "identity-address.expected". */
struct vt_rp_kv {
	const char *path;
	const char *value;
	unsigned line;
};

/* A "# text" line (the "# " taken off). */
struct vt_rp_comment {
	const char *text;
	unsigned line;
	unsigned depth;
};

struct vt_rp_point {
	const char *name;          /* the description, TAP escapes undone      */
	const char *directive;     /* "SKIP", "TODO", "XPASS", "BROKEN", ...   */
	const char *reason;        /* what follows the directive, or ""        */
	enum vt_rp_verdict own;    /* from its own line                        */
	enum vt_rp_verdict eff;    /* with its subtests: an ok cell holding a
				      TODO subtest is a hazard (todo)          */
	unsigned number;
	unsigned line;
	unsigned depth;            /* 0: top level, +1 per subtest level       */
	int parent;                /* index of the enclosing point, -1 at top  */
	unsigned sub_begin;        /* descendants: points [sub_begin, self)    */
	unsigned c_begin, c_end;   /* comments of its span (incl. subtests)    */
	unsigned kv_begin, nkv;    /* its YAML block                           */
};

struct vt_rp_tap {
	const char *path;
	char *buf;                 /* the file, split into lines in place     */
	unsigned version;
	bool has_plan;
	unsigned plan;             /* top-level plan                           */
	bool skip_all;
	const char *skip_reason;
	unsigned ntop;             /* top-level test points                    */
	bool bailed;
	const char *bail_reason;
	unsigned bail_line;
	struct vt_rp_point *pt;
	unsigned npt, cap_pt;
	struct vt_rp_comment *cm;
	unsigned ncm, cap_cm;
	struct vt_rp_kv *kv;
	unsigned nkv, cap_kv;
	struct vt_arena arena;
};

/*
 * Read one TAP 13/14 file into t.  A missing, empty or malformed file is
 * -1 with one line "FILE:LINE: what is wrong" in err (t is then freed).
 */
int vt_rp_tap_read(const char *path, struct vt_rp_tap *t, char *err, size_t errlen);
void vt_rp_tap_free(struct vt_rp_tap *t);

/* Value of a YAML key of point p (exact path), or NULL. */
const char *vt_rp_kv_get(const struct vt_rp_tap *t, const struct vt_rp_point *p,
			 const char *path);
/* The first comment of p's span that starts with prefix, the prefix taken
 * off; NULL if none. */
const char *vt_rp_comment_get(const struct vt_rp_tap *t, const struct vt_rp_point *p,
			      const char *prefix);
/* The last top-level comment of the file that starts with prefix (a
 * summary line such as "matrix strict-cc: ..."), prefix kept; or NULL. */
const char *vt_rp_tap_summary(const struct vt_rp_tap *t, const char *prefix);

/*
 * Parse the lines of one YAML block (the "---" and "..." lines left out)
 * into t->kv.  lines[i] are the raw lines with `indent` spaces of block
 * indentation, numbered from first_line.  Returns 0, or -1 with
 * "LINE: what is wrong" in err (the caller adds the file).
 */
int vt_rp_yaml_parse(struct vt_rp_tap *t, char **lines, unsigned nlines, unsigned indent,
		     unsigned first_line, char *err, size_t errlen);

/* ---- the shards of a run (`--shard I/N`) made one TAP again ---- */

struct vt_rp_shard_file {
	const char *path;
	unsigned i, n;             /* from its name PART.shard-I-of-N.tap, or 0 */
};

/* Is file (a name, no directory) "PART.shard-I-of-N.tap"?  Then PART's
 * length, I and N. */
bool vt_rp_shard_name(const char *file, size_t *part_len, unsigned *i, unsigned *n);
/*
 * Check that the files are the N shards of one run and write to out the
 * TAP the whole run would have printed (merge.c tells how).  part is
 * "DIR/PART" when the files are DIR/PART.shard-I-of-N.tap (it names a
 * missing one), else NULL.  Returns 0, or -1 with one line in err.
 */
int vt_rp_merge(const struct vt_rp_shard_file *files, unsigned nfiles, const char *part,
		FILE *out, char *err, size_t errlen);

/* ---- the parts of a report: one per TAP file, or per run of shards ---- */

enum vt_rp_kind {
	VT_RP_RUN,        /* `vcts run` output (suites, mutants, ...)         */
	VT_RP_GUEST,      /* `vcts guest`                                     */
	VT_RP_MATRIX,     /* `vcts matrix --profile P`                        */
	VT_RP_DIFF,       /* `vcts matrix --diff P1 P2`                       */
};

struct vt_rp_part {
	char name[128];            /* file name without .tap (shards: PART)   */
	char file[4096];           /* its TAP (shards: merged, a temp file)   */
	unsigned shards;           /* PART.shard-I-of-N.tap files merged, or 0 */
	struct timespec changed;   /* the latest change of its TAP file(s)    */
	enum vt_rp_kind kind;
	char profile[64];          /* matrix: P; diff: P1                      */
	char profile2[64];         /* diff: P2                                 */
	char title[160];           /* the profile's title, if it loads         */
	char table[4096];          /* diff: the --format table file, or ""     */
	struct vt_rp_tap tap;
	unsigned n[VT_RP_NV];      /* top-level points by effective verdict    */
	bool bad_plan;             /* plan missing or not met                  */
};

struct vt_rp_report {
	const char *dir;
	struct vt_rp_part *parts;
	unsigned nparts;
};

/* Find every *.tap in dir, read and classify them (in report order).  The
 * files PART.shard-I-of-N.tap of a run made with --shard are merged into
 * one part PART first: a shard missing, shards that are not one run, or a
 * PART.tap beside them is an error.  Returns 0, or -1 with one line in err. */
int vt_rp_parts_load(struct vt_rp_report *r, const char *dir, char *err, size_t errlen);
void vt_rp_parts_free(struct vt_rp_report *r);
/* Does the part fail the run (a failure, an xpass, a bail, a bad plan)? */
bool vt_rp_part_failed(const struct vt_rp_part *p);

/* ---- the catalogue behind `vcts run` names ---- */

/* The catalogue test of an instance name "area/name[variant]", or NULL. */
const struct vt_test *vt_rp_catalogue_test(const char *instance, const struct vt_suite **suite);

/* ---- commands that reproduce a result ---- */

/* The command that runs test point p of part again, or "" when there is
 * none (a name the catalogue does not know). */
void vt_rp_repro_point(const struct vt_rp_part *part, const struct vt_rp_point *p, char *buf,
		       size_t len);
/* The matrix command selecting the cells whose axes have the given
 * values ("name=value" tokens). */
void vt_rp_repro_axes(const struct vt_rp_part *part, const char *const *axes, unsigned n,
		      char *buf, size_t len);

/* ---- clause coverage ---- */

enum vt_rp_cov_status {
	VT_COV_FAILED,      /* a citing test failed, or a failure names it    */
	VT_COV_KNOWN,       /* only known issues (TODO) against it            */
	VT_COV_PASSED,      /* citing tests ran and passed                    */
	VT_COV_SKIPPED,     /* citing tests ran but were all skipped          */
	VT_COV_NOT_RUN,     /* cited by the catalogue, not in the TAP         */
	VT_COV_NOT_CITED,   /* no test cites it                               */
	VT_COV_N
};

struct vt_rp_cov_row {
	const struct vt_clause *c;
	unsigned tests;             /* catalogue tests citing it               */
	unsigned n[VT_RP_NV];       /* citing test points by verdict           */
	unsigned named_fail;        /* failures whose YAML rule names it       */
	unsigned named_todo;        /* known issues whose YAML rule names it   */
	enum vt_rp_cov_status st;
};

struct vt_rp_cov_total {
	const char *key;            /* chapter or role                         */
	unsigned clauses, cited;
	unsigned st[VT_COV_N];
};

struct vt_rp_cov {
	struct vt_rp_cov_row *rows;           /* registry order, sections only */
	unsigned nrows;
	struct vt_rp_cov_total *chapters;
	unsigned nchapters;
	struct vt_rp_cov_total roles[2];      /* driver, device                */
	struct vt_rp_cov_total all;
};

const char *vt_rp_cov_status_name(enum vt_rp_cov_status s);   /* "passed", "not-run" */
int vt_rp_coverage(const struct vt_rp_report *r, struct vt_rp_cov *cov);
void vt_rp_coverage_free(struct vt_rp_cov *cov);
void vt_rp_coverage_txt(const struct vt_rp_cov *cov, FILE *f);

/* ---- HTML ---- */

/* Text and attribute values, HTML-escaped. */
void vt_rp_esc(FILE *f, const char *s);
void vt_rp_escn(FILE *f, const char *s, size_t n);
/* An anchor id made of s: letters, digits, '-', '_' (others become '_'). */
void vt_rp_anchor(char *buf, size_t len, const char *prefix, const char *s);
/* s as one shell word (single quotes when needed), appended to buf. */
void vt_rp_shell_word(char *buf, size_t len, const char *s);

/* The whole page. */
void vt_rp_html(FILE *f, const struct vt_rp_report *r, const struct vt_rp_cov *cov);
/* Sections of the page, each in its own file. */
void vt_rp_html_finding(FILE *f, const struct vt_rp_part *part, const struct vt_rp_point *p,
			const char *id);
void vt_rp_html_failures(FILE *f, const struct vt_rp_report *r);
void vt_rp_html_known(FILE *f, const struct vt_rp_report *r);
void vt_rp_html_impl(FILE *f, const struct vt_rp_report *r);
void vt_rp_html_heatmap(FILE *f, const struct vt_rp_part *part);
void vt_rp_html_diff(FILE *f, const struct vt_rp_part *part);
void vt_rp_html_coverage(FILE *f, const struct vt_rp_cov *cov);

/* ---- JUnit through prove ---- */

struct vt_rp_junit;
/* Start prove (TAP::Formatter::JUnit) over a TAP-13 copy of every part,
 * writing out/junit/PART.xml; at most `jobs` at a time.  NULL with one line
 * in err when it cannot start. */
struct vt_rp_junit *vt_rp_junit_start(const struct vt_rp_report *r, const char *out,
				      unsigned jobs, char *err, size_t errlen);
/* Run the rest, wait for all, check each XML is well formed.  Returns 0,
 * or -1 with one line in err; frees j either way. */
int vt_rp_junit_finish(struct vt_rp_junit *j, char *err, size_t errlen);
/* Stop what still runs and remove what it left. */
void vt_rp_junit_abort(struct vt_rp_junit *j);

#endif
