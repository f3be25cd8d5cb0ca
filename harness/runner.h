/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runner.h - run a catalogue of tests, one forked child per instance.
 *
 * The runner owns the clock: every instance gets a deadline (its timeout x
 * a scale); a child that misses it is killed with its whole process group
 * and reported as a timeout, a child killed by a signal as a crash.  The
 * child runs the test body under CUnit (cunit_tap.c) and sends fixed-size
 * result records over a pipe; the parent turns them into TAP (tap.c).
 */
#ifndef VCTS_RUNNER_H
#define VCTS_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "select.h"
#include "test.h"

struct vt_run_opts {
	const char *const *filters;  /* --filter EXPR (select.h), OR'ed       */
	unsigned nfilters;           /* 0: every instance                     */
	const char *const *excludes; /* --exclude EXPR: removed after that    */
	unsigned nexcludes;
	struct vt_sel *sel;          /* or: the selection already parsed      */
	struct vt_sel_shard shard;   /* --shard I/N; count 0: every instance */
	enum vt_sel_format format;   /* list: text (default), tap or json     */
	struct vt_sel_list *into;    /* list: add the items here, print none;
					the caller checks vt_sel_missed()   */
	FILE *out;                   /* TAP or the list; NULL: stdout         */
	double timeout_scale;        /* 0: 1.0                                */
	bool list;                   /* print the instances, run nothing      */
	bool progress;               /* "[i/N] name" on stderr even if no tty */
	unsigned tap_version;        /* 0: 14 (13 under prove < 3.48)         */
	const char *spec_dir;        /* NULL: vt_clause_default_dir()         */
};

/* Exit statuses of vt_run (and of the vcts program). */
#define VT_EXIT_OK     0   /* nothing failed                           */
#define VT_EXIT_FAIL   1   /* a test failed, broke, timed out, crashed */
#define VT_EXIT_USAGE  2   /* bad arguments, registry or catalogue     */

/*
 * Run (or list) the instances of a NULL-terminated catalogue that the
 * selection keeps, in catalogue order, the shard's share of them when
 * sharded (a unit is one instance).  Every clause id the catalogue cites
 * is checked against the registry first; an unknown one is a one-line
 * error on stderr and VT_EXIT_USAGE, as is a bad expression or a --filter
 * that matches no instance.  A test without variants gets fn(NULL).
 */
int vt_run(const struct vt_suite *const *suites, const struct vt_run_opts *o);

/*
 * The keys an instance has for --filter and --exclude: name, clause (each
 * id it cites), role (driver|device), transport, area, variant, timeout
 * (ms).
 */
void vt_run_keys(const struct vt_sel_key **keys, unsigned *nkeys);

/*
 * The TAP version line to announce: `asked` when not 0, else 14, except
 * 13 under a prove (HARNESS_ACTIVE) older than 3.48, which rejects 14.
 */
unsigned vt_run_tap_version(unsigned asked);

/*
 * Check every test of the catalogue against the loaded registry: names
 * present and unique, clauses cited and known.  Prints one line per
 * problem to err; returns the number of problems.
 */
unsigned vt_check_catalogue(const struct vt_suite *const *suites, FILE *err);

/* ---- between the runner and its child (cunit_tap.c) ---- */

/* One instance: a test with one of its variants. */
struct vt_instance {
	const struct vt_suite *suite;
	const struct vt_test *test;
	const struct vt_variant *variant;   /* NULL: the test has none */
	char name[160];                     /* "area/name[variant]"    */
};

enum vt_rec_kind {
	VT_REC_ASSERT = 1,  /* a failed CUnit assertion: file, line, text      */
	VT_REC_VIOL,        /* a verdict record: rule, who, text, expected ...  */
	VT_REC_DIAG,        /* vt_diag text                                     */
	VT_REC_FAIL,        /* a failed judgement: text (and rule it expected)  */
	VT_REC_SKIP,        /* final: skipped, text is the reason               */
	VT_REC_BROKEN,      /* final: could not run, text is the reason         */
	VT_REC_END,         /* final: the body returned; `passed` says how      */
	VT_REC_IMPL,        /* the implementation judged: text, version in got    */
};

#define VT_REC_MAGIC 0x56545231u   /* "VTR1" */

/* Fixed size and below PIPE_BUF, so every write() of one is atomic. */
struct vt_rec {
	uint32_t magic;
	uint16_t kind;          /* enum vt_rec_kind                           */
	uint8_t who;            /* enum vt_who                                */
	uint8_t sev;            /* enum vt_severity                           */
	uint8_t judged;         /* VIOL: part of a failure (else only shown)  */
	uint8_t has_addr;
	uint8_t passed;         /* END                                        */
	uint8_t pad;
	uint32_t line;          /* ASSERT                                     */
	uint32_t pad2;
	uint64_t addr, gpa, page;
	char rule[48];
	char file[96];
	char text[256];
	char expected[64];
	char got[64];
};

/* In the forked child: run one instance under CUnit, send its records to
 * fd, never return. */
void vt_child_run(const struct vt_instance *inst, int fd) __attribute__((noreturn));

#endif
