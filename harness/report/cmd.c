/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd.c - `vcts report`: read the TAP files of a reports directory and
 * write index.html, coverage.txt and junit/PART.xml.  Files are written
 * under a temporary name and renamed, so a failed report leaves the last
 * good one.  Bad input is one line on stderr and exit status 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "report.h"
#include "../runner.h"

#define PATH_LEN 4096

const char vt_report_usage[] =
	"usage: vcts report [--dir DIR] [--out DIR] [--jobs N] [--no-junit]\n"
	"\n"
	"Turn the TAP a conformance run saved (every *.tap of DIR: vcts run, vcts\n"
	"guest, vcts matrix and matrix --diff output) into what people read:\n"
	"  OUT/index.html       one self-contained page (no script, nothing fetched):\n"
	"                       a summary per file; every failure with its clause,\n"
	"                       expected, got, address and the command that runs it\n"
	"                       again; results per implementation; a heat map per\n"
	"                       matrix profile; the profile diffs; known issues;\n"
	"                       clause coverage\n"
	"  OUT/coverage.txt     every normative section of the spec: the tests that\n"
	"                       cite it and whether they passed, failed or did not run;\n"
	"                       totals per chapter and per role\n"
	"  OUT/junit/PART.xml   JUnit XML of each TAP file, made by prove with\n"
	"                       TAP::Formatter::JUnit and checked by xmllint\n"
	"The files PART.shard-I-of-N.tap of a run made with --shard I/N (N CI jobs,\n"
	"their TAP collected in one directory) are merged into one part PART, as\n"
	"`vcts merge` does; its line numbers are those of the merged TAP.\n"
	"Exit status: 0 when the report is written (whatever the verdicts), 2 on a\n"
	"usage error, bad input (a missing directory, an empty or malformed TAP\n"
	"file: FILE:LINE; shards of a part missing, not of one run, or beside a\n"
	"PART.tap) or a missing tool.\n"
	"\n"
	"  --dir DIR    where the TAP files are (default: reports)\n"
	"  --out DIR    where to write (default: the --dir)\n"
	"  --jobs N     prove processes at a time, 1..64 (default: the CPUs online)\n"
	"  --no-junit   leave out the JUnit XML (then prove is not needed)\n";

struct opts {
	const char *dir, *out;
	unsigned jobs;
	bool junit;
};

static int usage(const char *what, const char *arg)
{
	fprintf(stderr, "vcts: report: %s '%s' (see 'vcts help report')\n", what, arg);
	return VT_EXIT_USAGE;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 and *val, 0, or -1. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n])
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "vcts: report: option '%s' needs an argument\n", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

static int parse_jobs(const char *val, unsigned *jobs)
{
	char *end;
	long n = strtol(val, &end, 10);
	if (!*val || *end || n < 1 || n > 64) {
		usage("--jobs wants a number in 1..64, not", val);
		return -1;
	}
	*jobs = (unsigned)n;
	return 0;
}

/* A directory option's value: not empty. */
static int dir_value(const char *val, const char **out)
{
	if (!*val) {
		usage("a directory option wants a path, not", val);
		return -1;
	}
	*out = val;
	return 0;
}

/* 0: go on; 1: help shown; -1: usage error (printed). */
static int parse(int argc, char **argv, struct opts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (struct opts){ .dir = "reports", .jobs = cpus > 0 ? (unsigned)cpus : 1,
			    .junit = true };
	for (int i = 1; i < argc; i++) {
		const char *val;
		int r = 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(vt_report_usage, stdout);
			return 1;
		}
		if (strcmp(argv[i], "--no-junit") == 0)
			o->junit = false;
		else if ((r = opt_value(argc, argv, &i, "--dir", &val)) != 0)
			r = r < 0 ? -1 : dir_value(val, &o->dir);
		else if ((r = opt_value(argc, argv, &i, "--out", &val)) != 0)
			r = r < 0 ? -1 : dir_value(val, &o->out);
		else if ((r = opt_value(argc, argv, &i, "--jobs", &val)) != 0)
			r = r < 0 ? -1 : parse_jobs(val, &o->jobs);
		else {
			usage(argv[i][0] == '-' ? "unknown option" : "unexpected argument",
			      argv[i]);
			r = -1;
		}
		if (r < 0)
			return -1;
	}
	if (!o->out)
		o->out = o->dir;
	return 0;
}

static int check_dir(const char *dir, bool create)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (create && errno == ENOENT && mkdir(dir, 0777) == 0)
			return 0;
		fprintf(stderr, "vcts: report: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vcts: report: %s: not a directory\n", dir);
		return -1;
	}
	return 0;
}

/* Write OUT/name through a temporary file and a rename. */
static int write_file(const char *out, const char *name, const struct vt_rp_report *r,
		      const struct vt_rp_cov *cov, bool html)
{
	char path[PATH_LEN], tmp[PATH_LEN];
	snprintf(path, sizeof(path), "%s/%s", out, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", out, name);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "vcts: report: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (html)
		vt_rp_html(f, r, cov);
	else
		vt_rp_coverage_txt(cov, f);
	bool bad = ferror(f);
	int saved = errno;
	if (fclose(f) != 0) {
		bad = true;
		saved = errno;
	}
	if (bad || rename(tmp, path) != 0) {
		fprintf(stderr, "vcts: report: %s: %s\n", bad ? tmp : path,
			strerror(bad ? saved : errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The end of the summary line: how many parts were merged from shards. */
static void print_merged(const struct vt_rp_report *r)
{
	unsigned parts = 0, shards = 0;
	for (unsigned i = 0; i < r->nparts; i++) {
		parts += r->parts[i].shards > 0;
		shards += r->parts[i].shards;
	}
	if (parts)
		printf(" (%u merged from %u shard files)", parts, shards);
	putchar('\n');
}

int vt_report_main(int argc, char **argv)
{
	struct opts o;
	char err[1024];
	int p = parse(argc, argv, &o);
	if (p)
		return p > 0 ? VT_EXIT_OK : VT_EXIT_USAGE;
	if (vt_clause_load(NULL, err, sizeof(err))) {
		fprintf(stderr, "vcts: report: %s\n", err);
		return VT_EXIT_USAGE;
	}
	if (check_dir(o.dir, false) || check_dir(o.out, true))
		return VT_EXIT_USAGE;

	struct vt_rp_report r;
	struct vt_rp_cov cov;
	if (vt_rp_parts_load(&r, o.dir, err, sizeof(err))) {
		fprintf(stderr, "vcts: report: %s\n", err);
		return VT_EXIT_USAGE;
	}
	int rc = VT_EXIT_USAGE;
	struct vt_rp_junit *jn = NULL;
	if (vt_rp_coverage(&r, &cov)) {
		fprintf(stderr, "vcts: report: out of memory\n");
		vt_rp_parts_free(&r);
		return VT_EXIT_USAGE;
	}
	/* prove works on the files while the page is written */
	if (o.junit && !(jn = vt_rp_junit_start(&r, o.out, o.jobs, err, sizeof(err)))) {
		fprintf(stderr, "vcts: report: %s\n", err);
		goto out;
	}
	if (write_file(o.out, "index.html", &r, &cov, true) ||
	    write_file(o.out, "coverage.txt", &r, &cov, false))
		goto out;
	if (jn) {
		int j = vt_rp_junit_finish(jn, err, sizeof(err));
		jn = NULL;
		if (j) {
			fprintf(stderr, "vcts: report: %s\n", err);
			goto out;
		}
	}
	printf("vcts report: %s/index.html, %s/coverage.txt%s%s%s from %u TAP files", o.out,
	       o.out, o.junit ? ", " : "", o.junit ? o.out : "", o.junit ? "/junit/*.xml" : "",
	       r.nparts);
	print_merged(&r);
	rc = VT_EXIT_OK;
out:
	vt_rp_junit_abort(jn);
	vt_rp_coverage_free(&cov);
	vt_rp_parts_free(&r);
	return rc;
}
