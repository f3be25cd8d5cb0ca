/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * merge_cmd.c - `vcts merge`: the TAP files of the N shards of one run
 * (`--shard I/N`) made the TAP of the whole run, on stdout or in a file
 * written under a temporary name and renamed.  Shards that do not belong
 * together are one line on stderr and exit status 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "../runner.h"

#define PATH_LEN 4096

const char vt_merge_usage[] =
	"usage: vcts merge [-o FILE] SHARD.tap...\n"
	"\n"
	"Put the TAP of the N shards of one run back together (vcts run, device,\n"
	"matrix or guest with --shard I/N, each shard saved to its own file): the TAP\n"
	"the run without --shard would have printed, on stdout or in FILE.\n"
	"  - The files must be shards 1..N of one run, each once: the same N, total\n"
	"    and unit on their '# vcts-shard I/N units=K total=T unit=point|guest'\n"
	"    line, K the round-robin count of shard I, the same TAP version, no test\n"
	"    point (or guest) twice.\n"
	"  - The units go back in the order of the whole run and the test points are\n"
	"    numbered 1..n again; comments, subtests and YAML are kept byte for byte;\n"
	"    the vcts-shard lines are dropped.\n"
	"  - The summary comments vcts writes (\"pass N, fail N, ...\", \"matrix P: ...\",\n"
	"    \"matrix diff P1 P2: ...\") are added up over the shards.  Any other\n"
	"    comment outside the units (the header of a guest run) is kept once when\n"
	"    every shard has it alike, else once per shard as \"# shard I/N: ...\".\n"
	"  - A shard cut short (Bail out!, a plan not met) is merged as far as it got:\n"
	"    the plan stays the sum of the plans and its Bail out! comes last.\n"
	"So the merged TAP is what the whole run prints, up to timings: those are\n"
	"only in comments (\"QEMU up and connected in 31 ms\", \"guest q35: ... 3.4 s\"),\n"
	"no YAML key is a duration.  `vcts report` merges files named\n"
	"PART.shard-I-of-N.tap the same way.\n"
	"Exit status: 0 when the TAP is written, 2 on a usage error or shards that\n"
	"do not belong together (one line naming the file and what is wrong).\n"
	"\n"
	"  -o FILE, --output FILE   write FILE instead of stdout\n";

static int usage(const char *what, const char *arg)
{
	fprintf(stderr, "vcts: merge: %s '%s' (see 'vcts help merge')\n", what, arg);
	return VT_EXIT_USAGE;
}

/* Write the merge to path through path's temporary twin and a rename. */
static int merge_to_file(const struct vt_rp_shard_file *f, unsigned n, const char *path)
{
	char tmp[PATH_LEN], err[1024];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return usage("path too long", path);
	FILE *out = fopen(tmp, "w");
	if (!out) {
		fprintf(stderr, "vcts: merge: %s: %s\n", tmp, strerror(errno));
		return VT_EXIT_USAGE;
	}
	int rc = vt_rp_merge(f, n, NULL, out, err, sizeof(err));
	bool bad = ferror(out);
	if (fclose(out) != 0)
		bad = true;
	if (rc == 0 && !bad && rename(tmp, path) == 0)
		return VT_EXIT_OK;
	if (rc)
		fprintf(stderr, "vcts: merge: %s\n", err);
	else
		fprintf(stderr, "vcts: merge: %s: %s\n", path, bad ? "cannot write" :
			strerror(errno));
	unlink(tmp);
	return VT_EXIT_USAGE;
}

static int merge_to_stdout(const struct vt_rp_shard_file *f, unsigned n)
{
	char err[1024];
	if (vt_rp_merge(f, n, NULL, stdout, err, sizeof(err))) {
		fprintf(stderr, "vcts: merge: %s\n", err);
		return VT_EXIT_USAGE;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vcts: merge: stdout: %s\n", strerror(errno));
		return VT_EXIT_USAGE;
	}
	return VT_EXIT_OK;
}

int vt_merge_main(int argc, char **argv)
{
	const char *out = NULL;
	struct vt_rp_shard_file *f = calloc(argc > 1 ? (size_t)argc : 1, sizeof(*f));
	unsigned n = 0;
	int rc = VT_EXIT_USAGE;
	if (!f) {
		fprintf(stderr, "vcts: merge: out of memory\n");
		return VT_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(vt_merge_usage, stdout);
			rc = VT_EXIT_OK;
			goto out;
		}
		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vcts: merge: option '%s' needs an argument\n", a);
				goto out;
			}
			out = argv[++i];
		} else if (strncmp(a, "--output=", 9) == 0) {
			out = a + 9;
		} else if (a[0] == '-' && a[1]) {
			usage("unknown option", a);
			goto out;
		} else {
			f[n++].path = a;
		}
	}
	if (out && !*out)
		usage("-o wants a file name, not", out);
	else if (!n)
		fprintf(stderr, "vcts: merge: no shard files given (see 'vcts help merge')\n");
	else
		rc = out ? merge_to_file(f, n, out) : merge_to_stdout(f, n);
out:
	free(f);
	return rc;
}
