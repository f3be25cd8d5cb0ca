/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench.c - buffers per second through the in-process transport.
 *
 * For split and packed rings, 64-byte and 4 KiB echo buffers, invariant
 * checks on and off: the reference driver makes buffers available, the
 * checking device validates and echoes them, the driver validates what
 * comes back and compares the payload.  Prints one row per cell and the
 * cost of the checks as a ratio.
 *
 * Then cells per second of the platform-access matrix: every cell under
 * each shipped profile on two worker processes (vt_mx_run).
 *
 * Then requests per second through the vhost-user front-end against real
 * backends (qemu-storage-daemon: 4 KiB block writes and read-backs; DPDK:
 * 64-byte frames looped back) at queue depth 1 and 32, when installed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends.h"
#include "clause.h"
#include "pair.h"
#include "scenario.h"
#include "matrix/matrix.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct result {
	double rate;       /* buffers per second */
	uint64_t n;
};

static int measure(bool packed, unsigned size, bool checks, double secs, unsigned depth,
		   bool threaded, struct result *out)
{
	struct vt_cell cell = {
		.packed = packed, .buf_size = size, .depth = depth, .event_idx = true,
		.threaded = threaded,
	};
	struct vt_pair_cfg cfg;
	struct vt_pair p;
	struct vt_verdict vd;
	char err[160];
	const unsigned chunk = 4096;

	vt_cell_to_cfg(&cell, &cfg);
	cfg.checks_off = !checks;
	vt_verdict_init(&vd);
	if (vt_pair_open(&p, &cfg, &vd, err, sizeof(err))) {
		fprintf(stderr, "vcts-bench: %s\n", err);
		return -1;
	}
	if (vt_pair_init(&p) != 0 || vt_pair_io(&p, chunk)) {   /* warm-up */
		vt_verdict_dump(&vd, stderr);
		vt_pair_close(&p);
		return -1;
	}
	uint64_t n = 0;
	double t0 = now(), t;
	do {
		if (vt_pair_io(&p, chunk)) {
			vt_verdict_dump(&vd, stderr);
			vt_pair_close(&p);
			return -1;
		}
		n += chunk;
		t = now();
	} while (t - t0 < secs);
	p.drv->ops->reset(p.drv);
	vt_pair_close(&p);
	out->rate = n / (t - t0);
	out->n = n;
	return 0;
}

/* ---- through the vhost-user front-end --------------------------------- */

/* Requests per second of one real backend at one queue depth: blk 4 KiB
 * writes then read-backs (both counted), net 64-byte frames looped back. */
static int measure_vhu(struct vt_backend *b, unsigned depth, double secs, struct result *out)
{
	struct vt_vhu_target tg = { .kind = b->kind, .backend = b, .timeout_ms = 2000 };
	struct vt_pair_cfg cfg;
	struct vt_pair p;
	struct vt_verdict vd;
	char err[256];
	bool blk = b->kind == VT_BACKEND_QSD;
	const unsigned chunk = blk ? 256 : 1024;
	const unsigned per = blk ? 2 : 1;             /* requests per vt_pair_io unit */

	vt_pair_cfg_default(&cfg);
	cfg.type = NULL;
	cfg.open_target = vt_vhu_open;
	cfg.target = &tg;
	cfg.device_id = vt_backend_device_id(b->kind);
	cfg.buf_size = blk ? 4096 : 64;
	cfg.depth = depth;
	cfg.buf_region = -1;
	cfg.drv.accept_access_platform = false;
	cfg.drv.rings_read_write = true;      /* as the vhost-user suites */
	cfg.drv.features |= VT_BIT(VIRTIO_F_EVENT_IDX) | (blk ? 0 : VT_BIT(15)); /* MRG_RXBUF */
	vt_verdict_init(&vd);
	if (vt_pair_open(&p, &cfg, &vd, err, sizeof(err))) {
		fprintf(stderr, "vcts-bench: %s\n", err);
		return -1;
	}
	uint64_t n = 0;
	double t0 = 0, t = 0;
	int rc = vt_pair_init(&p) != 0 || vt_pair_io(&p, chunk / 4);   /* warm-up */
	if (!rc)
		t0 = now();
	while (!rc) {
		if (vt_pair_io(&p, chunk)) {
			rc = -1;
			break;
		}
		n += (uint64_t)chunk * per;
		t = now();
		if (t - t0 >= secs)
			break;
	}
	if (rc)
		vt_verdict_dump(&vd, stderr);
	else
		p.drv->ops->reset(p.drv);
	vt_pair_close(&p);
	if (rc)
		return -1;
	out->rate = n / (t - t0);
	out->n = n;
	return 0;
}

static int bench_vhost_user(double secs)
{
	static const enum vt_backend_kind kinds[] = { VT_BACKEND_QSD, VT_BACKEND_DPDK };
	static const char *const what[] = { "blk 4 KiB", "net 64 B" };

	printf("\n%-20s %-10s %14s %14s\n", "vhost-user backend", "requests", "depth 1 /s",
	       "depth 32 /s");
	for (unsigned i = 0; i < 2; i++) {
		struct vt_backend b;
		struct result d1, d32;
		char err[256];
		if (vt_backend_available(kinds[i], err, sizeof(err))) {
			printf("%-20s %-10s skipped: %s\n", vt_backend_name(kinds[i]), what[i], err);
			continue;
		}
		if (vt_backend_start(&b, kinds[i], NULL, err, sizeof(err))) {
			fprintf(stderr, "vcts-bench: %s\n", err);
			return -1;
		}
		int rc = measure_vhu(&b, 1, secs, &d1) || measure_vhu(&b, 32, secs, &d32);
		vt_backend_stop(&b);
		if (rc)
			return -1;
		printf("%-20s %-10s %14.0f %14.0f\n", vt_backend_name(kinds[i]), what[i], d1.rate,
		       d32.rate);
		fflush(stdout);
	}
	return 0;
}

/* ---- the platform-access matrix ---------------------------------------- */

struct mx_count {
	unsigned failed, skipped;
};

static void count_cell(void *ctx, const struct vt_mx_result *r)
{
	struct mx_count *c = ctx;
	c->failed += vt_outcome_failed(r->outcome);
	c->skipped += r->outcome == VT_SKIP;
}

/* Every cell of the matrix under each shipped profile on two workers:
 * wall time and cells per second (a skipped cell costs nothing, so the
 * rate counts the cells that ran). */
static int bench_matrix(void)
{
	struct vt_mx_run_opts o = { .jobs = 2 };
	struct vt_mx_sel sel;
	char err[512];
	long total = 0, total_ran = 0;
	double total_t = 0;

	if (vt_clause_load(NULL, err, sizeof(err))) {
		fprintf(stderr, "vcts-bench: %s\n", err);
		return -1;
	}
	vt_mx_sel_all(&sel);
	printf("\n%-20s %8s %8s %6s %10s %14s\n", "matrix profile", "cells", "ran", "jobs",
	       "wall s", "cells run/s");
	for (const char *const *name = vt_mx_shipped_profiles; *name; name++) {
		struct vt_profile p;
		struct mx_count c = { 0, 0 };
		if (vt_mx_profile_load(*name, &p, err, sizeof(err))) {
			fprintf(stderr, "vcts-bench: %s\n", err);
			return -1;
		}
		double t0 = now();
		long n = vt_mx_run(&p, &sel, &o, count_cell, &c, err, sizeof(err));
		double t = now() - t0;
		if (n < 0) {
			fprintf(stderr, "vcts-bench: matrix: %s\n", err);
			return -1;
		}
		long ran = n - (long)c.skipped;
		printf("%-20s %8ld %8ld %6u %10.2f %14.0f\n", p.name, n, ran, o.jobs, t, ran / t);
		if (c.failed)
			printf("%-20s %u cells failed (see vcts matrix --profile %s)\n", "",
			       c.failed, p.name);
		fflush(stdout);
		total += n;
		total_ran += ran;
		total_t += t;
	}
	printf("%-20s %8ld %8ld %6u %10.2f %14.0f\n", "all", total, total_ran, o.jobs, total_t,
	       total_ran / total_t);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vcts-bench [--seconds S] [--depth N] [--thread]\n"
		   "  Buffers per second through the in-process transport, split and packed\n"
		   "  rings, 64 B and 4 KiB echo buffers, invariant checks on and off.\n"
		   "  Then cells/s of the platform-access matrix (every shipped profile, 2 jobs).\n"
		   "  Then requests/s through the vhost-user front-end against\n"
		   "  qemu-storage-daemon and DPDK at depth 1 and 32.\n");
}

int main(int argc, char **argv)
{
	double secs = 1.0;
	unsigned depth = 32;
	bool threaded = false;
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'd' },
		{ "thread", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:d:th", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			secs = atof(optarg);
			if (secs <= 0 || secs > 60) {
				fprintf(stderr, "vcts-bench: --seconds must be in (0, 60]\n");
				return 2;
			}
			break;
		case 'd':
			depth = (unsigned)atoi(optarg);
			if (depth < 1 || depth > 128) {
				fprintf(stderr, "vcts-bench: --depth must be 1..128\n");
				return 2;
			}
			break;
		case 't':
			threaded = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vcts-bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	printf("%-7s %6s %14s %14s %8s\n", "ring", "size", "checks on/s", "checks off/s", "cost");
	for (int packed = 0; packed <= 1; packed++) {
		for (int s = 0; s < 2; s++) {
			unsigned size = s ? 4096 : 64;
			struct result on, off;
			if (measure(packed, size, true, secs, depth, threaded, &on) ||
			    measure(packed, size, false, secs, depth, threaded, &off))
				return 1;
			printf("%-7s %6u %14.0f %14.0f %7.2fx\n", packed ? "packed" : "split", size,
			       on.rate, off.rate, off.rate / on.rate);
			fflush(stdout);
		}
	}
	if (bench_matrix())
		return 1;
	return bench_vhost_user(secs) ? 1 : 0;
}
