/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench.c - buffers per second through the in-process transport.
 *
 * For split and packed rings, 64-byte and 4 KiB echo buffers, invariant
 * checks on and off: the reference driver makes buffers available, the
 * checking device validates and echoes them, the driver validates what
 * comes back and compares the payload.  Prints one row per cell and the
 * cost of the checks as a ratio.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pair.h"
#include "scenario.h"

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

static void usage(FILE *f)
{
	fprintf(f, "usage: vcts-bench [--seconds S] [--depth N] [--thread]\n"
		   "  Buffers per second through the in-process transport, split and packed\n"
		   "  rings, 64 B and 4 KiB echo buffers, invariant checks on and off.\n");
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
	return 0;
}
