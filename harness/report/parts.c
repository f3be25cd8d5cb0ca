/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * parts.c - the TAP files of a reports directory, each one part of the
 * report: found, told apart by name (matrix-diff-*, matrix-P, guest*,
 * anything else is `vcts run` output), read, counted, and put in the
 * order the page shows them: suites, mutants, other runs, guests, the
 * matrix profiles in their shipped order, the profile diffs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "report.h"
#include "../matrix/matrix.h"

#define MAX_PARTS 256

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

static void free_names(char **v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The names of the *.tap files of dir, sorted; -1 with a reason. */
static int list_dir(const char *dir, char ***names, unsigned *n, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	char **v = NULL;
	unsigned k = 0;
	struct dirent *e;
	while ((e = readdir(d)) && k < MAX_PARTS) {
		if (!ends_with(e->d_name, ".tap") || e->d_name[0] == '.')
			continue;
		char **nv = realloc(v, (k + 1) * sizeof(*v));
		if (nv)
			v = nv;
		if (!nv || !(v[k] = strdup(e->d_name))) {
			free_names(v, k);
			closedir(d);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		k++;
	}
	closedir(d);
	*names = v;
	*n = k;
	return 0;
}

static int load_part(struct vt_rp_part *p, const char *dir, const char *file, char *err,
		     size_t errlen)
{
	struct stat st;
	snprintf(p->file, sizeof(p->file), "%s/%s", dir, file);
	snprintf(p->name, sizeof(p->name), "%.*s", (int)(strlen(file) - 4), file);
	if (stat(p->file, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", p->file);
		return -1;
	}
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

int vt_rp_parts_load(struct vt_rp_report *r, const char *dir, char *err, size_t errlen)
{
	char **names;
	unsigned n;
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	if (list_dir(dir, &names, &n, err, errlen))
		return -1;
	int rc = 0;
	if (!n) {
		snprintf(err, errlen, "%s: no TAP files (*.tap) to report on", dir);
		rc = -1;
	} else if (!(r->parts = calloc(n, sizeof(*r->parts)))) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	for (unsigned i = 0; i < n && rc == 0; i++) {
		rc = load_part(&r->parts[i], dir, names[i], err, errlen);
		r->nparts = i + 1;
	}
	free_names(names, n);
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
	for (unsigned i = 0; i < r->nparts; i++)
		vt_rp_tap_free(&r->parts[i].tap);
	free(r->parts);
	r->parts = NULL;
	r->nparts = 0;
}
