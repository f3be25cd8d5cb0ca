/* SPDX-License-Identifier: GPL-2.0-or-later */
/* xfail.c - load the known differences of implementations and match test instances. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clause.h"
#include "xfail.h"

#ifndef VCTS_SRCDIR
#define VCTS_SRCDIR "."
#endif

static struct vt_xfail *entries;
static unsigned nentries, cap;

void vt_xfail_unload(void)
{
	free(entries);
	entries = NULL;
	nentries = cap = 0;
}

unsigned vt_xfail_count(void)
{
	return nentries;
}

static struct vt_xfail *new_entry(void)
{
	if (nentries == cap) {
		unsigned ncap = cap ? 2 * cap : 16;
		struct vt_xfail *e = realloc(entries, ncap * sizeof(*e));
		if (!e)
			return NULL;
		entries = e;
		cap = ncap;
	}
	struct vt_xfail *x = &entries[nentries];
	memset(x, 0, sizeof(*x));
	return x;
}

/* Split a line into 5 tab-separated fields (the reason may hold tabs no
 * more: it is the rest of the line). */
static int split(char *line, char *f[5])
{
	line[strcspn(line, "\r\n")] = '\0';
	for (int i = 0; i < 4; i++) {
		f[i] = line;
		char *tab = strchr(line, '\t');
		if (!tab)
			return -1;
		*tab = '\0';
		line = tab + 1;
		while (*line == '\t')
			line++;
	}
	f[4] = line;
	for (int i = 0; i < 5; i++)
		if (!*f[i])
			return -1;
	return 0;
}

static int copy_field(char *dst, size_t n, const char *src)
{
	if (strlen(src) >= n)
		return -1;
	strcpy(dst, src);
	return 0;
}

static int load_line(char *line, const char *path, unsigned lineno, char *err, size_t errlen)
{
	char *f[5];

	if (split(line, f)) {
		snprintf(err, errlen, "%s:%u: expected 5 tab-separated fields: implementation, "
			 "version, test, clause, reason", path, lineno);
		return -1;
	}
	if (!vt_clause_lookup(f[3])) {
		snprintf(err, errlen, "%s:%u: unknown clause %s", path, lineno, f[3]);
		return -1;
	}
	struct vt_xfail *x = new_entry();
	if (!x) {
		snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
		return -1;
	}
	if (copy_field(x->impl, sizeof(x->impl), f[0]) ||
	    copy_field(x->version, sizeof(x->version), f[1]) ||
	    copy_field(x->test, sizeof(x->test), f[2]) ||
	    copy_field(x->rule, sizeof(x->rule), f[3])) {
		snprintf(err, errlen, "%s:%u: a field is too long", path, lineno);
		return -1;
	}
	snprintf(x->reason, sizeof(x->reason), "%s", f[4]);
	x->intermittent = strncmp(f[4], "intermittent:", 13) == 0;
	snprintf(x->where, sizeof(x->where), "%.140s:%u", path, lineno);
	nentries++;
	return 0;
}

static int load_file(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char line[1024];
	unsigned lineno = 0;
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (load_line(line, path, lineno, err, errlen)) {
			fclose(fp);
			return -1;
		}
	}
	fclose(fp);
	return 0;
}

static int tsv_only(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 4 && d->d_name[0] != '.' && strcmp(d->d_name + n - 4, ".tsv") == 0;
}

static int load_dir(const char *dir, char *err, size_t errlen)
{
	struct dirent **list;
	int n = scandir(dir, &list, tsv_only, alphasort);
	int rc = 0;
	if (n < 0)
		return 0;          /* no such directory: no entries */
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (rc == 0 && load_file(path, err, errlen))
			rc = -1;
		free(list[i]);
	}
	free(list);
	return rc;
}

int vt_xfail_load(const char *spec_dir, char *err, size_t errlen)
{
	char dir[4096];
	vt_xfail_unload();
	const char *env = getenv("VCTS_XFAIL_DIR");
	if (env && *env)
		return load_dir(env, err, errlen);
	snprintf(dir, sizeof(dir), "%s/xfail", spec_dir ? spec_dir : vt_clause_default_dir());
	if (load_dir(dir, err, errlen))
		return -1;
	return load_dir(VCTS_SRCDIR "/suites/xfail", err, errlen);
}

const struct vt_xfail *vt_xfail_match(const char *name, const char *impl, const char *version)
{
	if (!impl || !*impl)
		return NULL;
	for (unsigned i = 0; i < nentries; i++) {
		const struct vt_xfail *x = &entries[i];
		if (strcmp(x->impl, "*") != 0 && strcmp(x->impl, impl) != 0)
			continue;
		if (fnmatch(x->version, version ? version : "", 0) != 0)
			continue;
		if (strcmp(x->test, name) == 0 || fnmatch(x->test, name, 0) == 0)
			return x;
	}
	return NULL;
}
