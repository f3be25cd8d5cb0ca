/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * parts.c - the TAP files of a reports directory, each one part of the
 * report: found, told apart by name (matrix-diff-*, matrix-P, guest*,
 * anything else is `vcts run` output), read, counted, and put in the
 * order the page shows them: suites, mutants, other runs, guests, the
 * matrix profiles in their shipped order, the profile diffs.  The shards
 * of a run made with --shard (PART.shard-I-of-N.tap) are one part: merged
 * (merge.c) into a temporary file, which the part then reads as its TAP.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "report.h"
#include "../matrix/matrix.h"
#include "../proc.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Where the part sorts: lower first. */
static int rank(const struct vt_rp_part *p)
{
	switch (p->kind) {
	case VT_RP_RUN:
		return strcmp(p->name, "suites") == 0 ? 0 : strcmp(p->name, "mutants") == 0 ? 1 : 2;
	case VT_RP_GUEST:
		return 3;
	case VT_RP_MATRIX:
		for (int i = 0; vt_mx_shipped_profiles[i]; i++)
			if (strcmp(vt_mx_shipped_profiles[i], p->profile) == 0)
				return 10 + i;
		return 100;
	case VT_RP_DIFF:
		return 200;
	}
	return 300;
}

static int cmp_parts(const void *a, const void *b)
{
	const struct vt_rp_part *x = a, *y = b;
	int d = rank(x) - rank(y);
	return d ? d : strcmp(x->name, y->name);
}

static void profile_title(struct vt_rp_part *p)
{
	struct vt_profile prof;
	char err[256];
	if (p->profile[0] && vt_mx_profile_load(p->profile, &prof, err, sizeof(err)) == 0)
		snprintf(p->title, sizeof(p->title), "%s", prof.title);
}

/* The two profiles of a diff, from its summary line
 * "matrix diff P1 P2: ..." or, failing that, its YAML keys. */
static void diff_profiles(struct vt_rp_part *p)
{
	const char *s = vt_rp_tap_summary(&p->tap, "matrix diff ");
	if (s && sscanf(s, "matrix diff %63s %63[^: ]", p->profile, p->profile2) == 2)
		return;
	p->profile[0] = p->profile2[0] = '\0';
	const struct vt_rp_tap *t = &p->tap;
	for (unsigned i = 0; i < t->nkv && !p->profile2[0]; i++) {
		const char *path = t->kv[i].path, *dot = strchr(path, '.');
		if (!dot || (size_t)(dot - path) >= sizeof(p->profile))
			continue;
		char key[64];
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		if (!p->profile[0])
			snprintf(p->profile, sizeof(p->profile), "%s", key);
		else if (strcmp(key, p->profile) != 0)
			snprintf(p->profile2, sizeof(p->profile2), "%s", key);
	}
}

static void classify(struct vt_rp_part *p, const char *dir)
{
	if (strncmp(p->name, "matrix-diff-", 12) == 0) {
		p->kind = VT_RP_DIFF;
		snprintf(p->table, sizeof(p->table), "%s/%s.txt", dir, p->name);
		struct stat st;
		if (stat(p->table, &st) != 0 || !S_ISREG(st.st_mode))
			p->table[0] = '\0';
	} else if (strncmp(p->name, "matrix-", 7) == 0) {
		p->kind = VT_RP_MATRIX;
		snprintf(p->profile, sizeof(p->profile), "%s", p->name + 7);
	} else if (strncmp(p->name, "guest", 5) == 0) {
		p->kind = VT_RP_GUEST;
	} else {
		p->kind = VT_RP_RUN;
	}
}

static void count(struct vt_rp_part *p)
{
	const struct vt_rp_tap *t = &p->tap;
	for (unsigned i = 0; i < t->npt; i++)
		if (t->pt[i].depth == 0)
			p->n[t->pt[i].eff]++;
	p->bad_plan = !t->bailed && (!t->has_plan || t->plan != t->ntop);
}

bool vt_rp_part_failed(const struct vt_rp_part *p)
{
	return p->n[VT_RP_FAIL] || p->n[VT_RP_XPASS] || p->tap.bailed || p->bad_plan;
}

/* A *.tap file of the directory: PART.tap, or PART.shard-I-of-N.tap. */
struct tap_file {
	char *name;
	size_t part_len;
	unsigned i, n;                /* a shard: I of N; else 0           */
};

static void free_files(struct tap_file *v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		free(v[k].name);
	free(v);
}

/* By PART, a PART.tap before its shards, the shards by N and I. */
static int cmp_files(const void *a, const void *b)
{
	const struct tap_file *x = a, *y = b;
	int d = memcmp(x->name, y->name, x->part_len < y->part_len ? x->part_len : y->part_len);
	if (d)
		return d;
	if (x->part_len != y->part_len)
		return x->part_len < y->part_len ? -1 : 1;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static bool same_part(const struct tap_file *x, const struct tap_file *y)
{
	return x->part_len == y->part_len && memcmp(x->name, y->name, x->part_len) == 0;
}

static int add_file(struct tap_file **v, unsigned *n, unsigned *cap, const char *name)
{
	if (*n == *cap) {
		unsigned ncap = *cap ? *cap * 2 : 64;
		struct tap_file *nv = realloc(*v, ncap * sizeof(*nv));
		if (!nv)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	struct tap_file *f = &(*v)[*n];
	*f = (struct tap_file){ .name = strdup(name), .part_len = strlen(name) - 4 };
	if (!f->name)
		return -1;
	vt_rp_shard_name(name, &f->part_len, &f->i, &f->n);
	++*n;
	return 0;
}

/* The *.tap files of dir, a part's files together; -1 with a reason. */
static int list_dir(const char *dir, struct tap_file **files, unsigned *n, char *err,
		    size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	struct tap_file *v = NULL;
	unsigned k = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!ends_with(e->d_name, ".tap") || e->d_name[0] == '.')
			continue;
		if (add_file(&v, &k, &cap, e->d_name)) {
			free_files(v, k);
			closedir(d);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	closedir(d);
	if (k)
		qsort(v, k, sizeof(*v), cmp_files);
	*files = v;
	*n = k;
	return 0;
}

static void later(struct timespec *t, const struct timespec *u)
{
	if (u->tv_sec > t->tv_sec || (u->tv_sec == t->tv_sec && u->tv_nsec > t->tv_nsec))
		*t = *u;
}

/* A regular file: its latest change (written, or moved in) into *t. */
static int changed(const char *path, struct timespec *t, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	later(t, &st.st_mtim);
	later(t, &st.st_ctim);
	return 0;
}

/* p->name and p->file set: classify, read and count. */
static int load_part(struct vt_rp_part *p, const char *dir, char *err, size_t errlen)
{
	classify(p, dir);
	if (vt_rp_tap_read(p->file, &p->tap, err, errlen))
		return -1;
	if (p->kind == VT_RP_DIFF)
		diff_profiles(p);
	if (p->kind == VT_RP_MATRIX)
		profile_title(p);
	count(p);
	return 0;
}

/* Where the merged TAP of a part's shards goes: the temporary directory,
 * so that nothing is left in the user's. */
static int merged_path(struct vt_rp_part *p, char *err, size_t errlen)
{
	char dir[4096];
	const char *tmp = vt_proc_tmpdir();
	if (!tmp) {
		snprintf(err, errlen, "no temporary directory for the merged shards");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/merged", tmp);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (snprintf(p->file, sizeof(p->file), "%s/%s.tap", dir, p->name) >=
	    (int)sizeof(p->file)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	return 0;
}

/* Merge the shards f[0..nf) of one part, then read what they make. */
static int load_shards(struct vt_rp_part *p, const char *dir, const struct tap_file *f,
		       unsigned nf, char *err, size_t errlen)
{
	struct vt_rp_shard_file *sf = calloc(nf, sizeof(*sf));
	char part[4096];
	int rc = -1;
	snprintf(part, sizeof(part), "%s/%s", dir, p->name);
	if (!sf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned k = 0; k < nf; k++) {
		sf[k] = (struct vt_rp_shard_file){ .i = f[k].i, .n = f[k].n };
		char *path;
		if (asprintf(&path, "%s/%s", dir, f[k].name) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		sf[k].path = path;
		if (changed(sf[k].path, &p->changed, err, errlen))
			goto out;
	}
	if (merged_path(p, err, errlen))
		goto out;
	p->shards = nf;               /* from here on the file is ours to remove */
	FILE *o = fopen(p->file, "w");
	if (!o) {
		snprintf(err, errlen, "%s: %s", p->file, strerror(errno));
		goto out;
	}
	int m = vt_rp_merge(sf, nf, part, o, err, errlen);
	bool bad = ferror(o);
	if (fclose(o) != 0 || bad) {
		if (m == 0)
			snprintf(err, errlen, "%s: cannot write", p->file);
		goto out;
	}
	if (m == 0)
		rc = load_part(p, dir, err, errlen);
out:
	for (unsigned k = 0; k < nf; k++)
		free((char *)sf[k].path);
	free(sf);
	return rc;
}

/* The files f[0..nf) of one part: PART.tap alone, or its shards. */
static int load_group(struct vt_rp_part *p, const char *dir, const struct tap_file *f,
		      unsigned nf, char *err, size_t errlen)
{
	snprintf(p->name, sizeof(p->name), "%.*s", (int)f[0].part_len, f[0].name);
	if (f[0].n)
		return load_shards(p, dir, f, nf, err, errlen);
	if (nf > 1) {
		snprintf(err, errlen, "%s/%s: beside its shards (%s/%s, ...): a part is one "
			 "file or its shards, not both", dir, f[0].name, dir, f[1].name);
		return -1;
	}
	snprintf(p->file, sizeof(p->file), "%s/%s", dir, f[0].name);
	if (changed(p->file, &p->changed, err, errlen))
		return -1;
	return load_part(p, dir, err, errlen);
}

int vt_rp_parts_load(struct vt_rp_report *r, const char *dir, char *err, size_t errlen)
{
	struct tap_file *files;
	unsigned n;
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	if (list_dir(dir, &files, &n, err, errlen))
		return -1;
	int rc = 0;
	if (!n) {
		snprintf(err, errlen, "%s: no TAP files (*.tap) to report on", dir);
		rc = -1;
	} else if (!(r->parts = calloc(n, sizeof(*r->parts)))) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	for (unsigned k = 0; k < n && rc == 0;) {
		unsigned j = k + 1;
		while (j < n && same_part(&files[k], &files[j]))
			j++;
		rc = load_group(&r->parts[r->nparts++], dir, files + k, j - k, err, errlen);
		k = j;
	}
	free_files(files, n);
	if (rc) {
		vt_rp_parts_free(r);
		return -1;
	}
	/* the model points into each part's own buffers: moving parts is safe */
	qsort(r->parts, r->nparts, sizeof(*r->parts), cmp_parts);
	for (unsigned i = 0; i < r->nparts; i++)
		r->parts[i].tap.path = r->parts[i].file;
	return 0;
}

void vt_rp_parts_free(struct vt_rp_report *r)
{
	char dir[4096] = "";
	for (unsigned i = 0; i < r->nparts; i++) {
		struct vt_rp_part *p = &r->parts[i];
		vt_rp_tap_free(&p->tap);
		if (p->shards && p->file[0]) {
			unlink(p->file);
			snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(p->file, '/') - p->file),
				 p->file);
		}
	}
	if (dir[0])
		rmdir(dir);
	free(r->parts);
	r->parts = NULL;
	r->nparts = 0;
}
