/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clause.c - load and look up the rule registry.
 *
 * Both files are tab-separated with a header line.  The loader is strict:
 * the header must name the expected columns in order, every row must have
 * them all, ids are unique across both files, counts are numbers, a
 * section id is its role prefix plus its section number, and every clause
 * an invariant relates to exists.  The first problem found is reported as
 * "FILE:LINE: what is wrong".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clause.h"
#include "proc.h"

#ifndef VCTS_SRCDIR
#define VCTS_SRCDIR "."
#endif

#define SECTIONS_FILE   "normative-sections.tsv"
#define INVARIANTS_FILE "invariants.tsv"

static const char *const section_cols[] = {
	"id", "role", "chapter", "source_file", "label", "must", "should", "may",
	"must_not", "should_not", "other_kw", "section_number", "section_title",
	"parent_section", "top_section", "source_line", "conformance_clause",
	"alias_labels", "via_macro",
};
enum {
	S_ID, S_ROLE, S_CHAPTER, S_SOURCE_FILE, S_LABEL, S_MUST, S_SHOULD, S_MAY,
	S_MUST_NOT, S_SHOULD_NOT, S_OTHER_KW, S_SECTION_NUMBER, S_SECTION_TITLE,
	S_PARENT, S_TOP, S_SOURCE_LINE, S_CONFORMANCE, S_ALIAS, S_VIA_MACRO,
	S_NCOLS
};

static const char *const invariant_cols[] = {
	"id", "description", "related_clauses", "source",
};
enum { I_ID, I_DESCRIPTION, I_RELATED, I_SOURCE, I_NCOLS };

_Static_assert(sizeof(section_cols) / sizeof(section_cols[0]) == S_NCOLS, "section columns");
_Static_assert(sizeof(invariant_cols) / sizeof(invariant_cols[0]) == I_NCOLS, "invariant columns");

struct registry {
	char *text[2];               /* file contents, split in place */
	struct vt_clause *rows;
	unsigned *line;              /* source line of each row        */
	unsigned n, cap;
	unsigned n_sections;         /* rows [0, n_sections) are sections */
};

static struct registry reg;
static bool reg_loaded;

/* One file being parsed: where errors point. */
struct tsv {
	const char *path;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail_at(const struct tsv *f, unsigned line, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(f->err, f->errlen, "%s:%u: %s", f->path, line, what);
	else
		snprintf(f->err, f->errlen, "%s: %s", f->path, what);
	return -1;
}

const char *vt_clause_default_dir(void)
{
	const char *d = getenv("VCTS_SPEC_DIR");
	if (d && *d)
		return d;
	return VCTS_SRCDIR "/spec";
}

static char *read_file(const struct tsv *f)
{
	char why[128];
	size_t len;
	char *buf = vt_file_read(f->path, &len, why, sizeof(why));
	if (!buf) {
		fail_at(f, 0, "%s", why);
		return NULL;
	}
	if (strlen(buf) != len) {
		free(buf);
		fail_at(f, 0, "contains a NUL byte");
		return NULL;
	}
	return buf;
}

/* Cut the next line out of *p (in place); NULL at the end of the text. */
static char *next_line(char **p)
{
	char *s = *p;
	if (!*s)
		return NULL;
	char *nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = s + strlen(s);
	}
	size_t len = strlen(s);
	if (len && s[len - 1] == '\r')
		s[len - 1] = '\0';
	return s;
}

/* Split a line at tabs in place; returns the number of fields found. */
static unsigned split_tabs(char *s, char **field, unsigned max)
{
	unsigned n = 0;
	for (;;) {
		if (n < max)
			field[n] = s;
		n++;
		char *tab = strchr(s, '\t');
		if (!tab)
			return n;
		*tab = '\0';
		s = tab + 1;
	}
}

static int check_header(const struct tsv *f, char *line, const char *const *cols,
			unsigned ncols)
{
	char *field[32];
	if (!line)
		return fail_at(f, 1, "empty file, expected a header line");
	unsigned n = split_tabs(line, field, 32);
	for (unsigned i = 0; i < ncols && i < n; i++)
		if (strcmp(field[i], cols[i]) != 0)
			return fail_at(f, 1, "header column %u is '%s', expected '%s'",
				       i + 1, field[i], cols[i]);
	if (n != ncols)
		return fail_at(f, 1, "header has %u columns, expected %u", n, ncols);
	return 0;
}

static int parse_count(const struct tsv *f, unsigned line, const char *col, const char *s,
		       unsigned *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return fail_at(f, line, "column '%s' is '%s', expected a number", col, s);
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > 1000000)
		return fail_at(f, line, "column '%s' is '%s', expected a number", col, s);
	*out = (unsigned)v;
	return 0;
}

static int add_row(const struct tsv *f, unsigned line, const struct vt_clause *c)
{
	for (unsigned i = 0; i < reg.n; i++)
		if (strcmp(reg.rows[i].id, c->id) == 0)
			return fail_at(f, line, "duplicate id '%s' (also at %s:%u)", c->id,
				       reg.rows[i].kind == VT_CLAUSE_SECTION ? SECTIONS_FILE
									     : INVARIANTS_FILE,
				       reg.line[i]);
	if (reg.n == reg.cap) {
		unsigned cap = reg.cap ? reg.cap * 2 : 512;
		struct vt_clause *rows = realloc(reg.rows, cap * sizeof(*rows));
		if (!rows)
			return fail_at(f, line, "out of memory");
		reg.rows = rows;
		unsigned *ln = realloc(reg.line, cap * sizeof(*ln));
		if (!ln)
			return fail_at(f, line, "out of memory");
		reg.line = ln;
		reg.cap = cap;
	}
	reg.line[reg.n] = line;
	reg.rows[reg.n++] = *c;
	return 0;
}

static int section_row(const struct tsv *f, unsigned line, char **fd)
{
	struct vt_clause c = { .kind = VT_CLAUSE_SECTION };
	const char *want_prefix;

	c.id = fd[S_ID];
	c.role = fd[S_ROLE];
	if (strcmp(c.role, "driver") == 0)
		want_prefix = "DRV-";
	else if (strcmp(c.role, "device") == 0)
		want_prefix = "DEV-";
	else
		return fail_at(f, line, "role is '%s', expected 'driver' or 'device'", c.role);
	c.section = fd[S_SECTION_NUMBER];
	if (!*c.section)
		return fail_at(f, line, "empty section_number");
	if (strncmp(c.id, want_prefix, 4) != 0 || strcmp(c.id + 4, c.section) != 0)
		return fail_at(f, line, "id '%s' does not match role %s and section %s",
			       c.id, c.role, c.section);
	c.title = fd[S_SECTION_TITLE];
	if (!*c.title)
		return fail_at(f, line, "empty section_title");
	c.chapter = fd[S_CHAPTER];
	c.label = fd[S_LABEL];
	c.related = "";
	c.source = fd[S_SOURCE_FILE];

	static const struct { int col; size_t off; } counts[] = {
		{ S_MUST, offsetof(struct vt_clause, must) },
		{ S_SHOULD, offsetof(struct vt_clause, should) },
		{ S_MAY, offsetof(struct vt_clause, may) },
		{ S_MUST_NOT, offsetof(struct vt_clause, must_not) },
		{ S_SHOULD_NOT, offsetof(struct vt_clause, should_not) },
		{ S_OTHER_KW, offsetof(struct vt_clause, other_kw) },
	};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (parse_count(f, line, section_cols[counts[i].col], fd[counts[i].col],
				(unsigned *)((char *)&c + counts[i].off)))
			return -1;
	unsigned src_line;
	if (parse_count(f, line, section_cols[S_SOURCE_LINE], fd[S_SOURCE_LINE], &src_line))
		return -1;
	return add_row(f, line, &c);
}

/* The suite's own ids: invariants (INV-), rules of proposals (PROP-) and
 * platform policies (POL-). */
static bool own_id_prefix(const char *id)
{
	static const char *const pre[] = { "INV-", "PROP-", "POL-" };
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t n = strlen(pre[i]);
		if (strncmp(id, pre[i], n) == 0 && id[n])
			return true;
	}
	return false;
}

static int invariant_row(const struct tsv *f, unsigned line, char **fd)
{
	struct vt_clause c = { .kind = VT_CLAUSE_INVARIANT };
	c.id = fd[I_ID];
	if (!own_id_prefix(c.id))
		return fail_at(f, line, "id '%s' does not start with INV-, PROP- or POL-", c.id);
	c.role = "invariant";
	c.section = "";
	c.title = fd[I_DESCRIPTION];
	if (!*c.title)
		return fail_at(f, line, "empty description");
	c.chapter = "";
	c.label = "";
	c.related = fd[I_RELATED];
	c.source = fd[I_SOURCE];
	return add_row(f, line, &c);
}

typedef int (*row_fn)(const struct tsv *f, unsigned line, char **fields);

static int parse_tsv(const struct tsv *f, char *text, const char *const *cols,
		     unsigned ncols, row_fn row)
{
	char *p = text;
	if (check_header(f, next_line(&p), cols, ncols))
		return -1;
	unsigned line = 1;
	char *s;
	while ((s = next_line(&p))) {
		char *field[32];
		line++;
		if (!*s)
			return fail_at(f, line, "empty line");
		unsigned n = split_tabs(s, field, 32);
		if (n != ncols)
			return fail_at(f, line, "%u columns, expected %u", n, ncols);
		if (!*field[0])
			return fail_at(f, line, "empty id");
		if (row(f, line, field))
			return -1;
	}
	if (line == 1)
		return fail_at(f, 1, "no rows after the header");
	return 0;
}

/* Every clause an invariant relates to must be a section in the registry. */
static int check_related(const struct tsv *f)
{
	for (unsigned i = reg.n_sections; i < reg.n; i++) {
		const char *cur = reg.rows[i].related;
		char id[64];
		while (vt_clause_next(&cur, id, sizeof(id))) {
			const struct vt_clause *c = vt_clause_lookup(id);
			if (!c || c->kind != VT_CLAUSE_SECTION)
				return fail_at(f, reg.line[i],
					       "related clause '%s' is not in %s", id, SECTIONS_FILE);
		}
	}
	return 0;
}

static void free_registry(struct registry *r)
{
	free(r->text[0]);
	free(r->text[1]);
	free(r->rows);
	free(r->line);
	memset(r, 0, sizeof(*r));
}

int vt_clause_load(const char *dir, char *err, size_t errlen)
{
	char spath[4096], ipath[4096];
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (!dir)
		dir = vt_clause_default_dir();
	snprintf(spath, sizeof(spath), "%s/%s", dir, SECTIONS_FILE);
	snprintf(ipath, sizeof(ipath), "%s/%s", dir, INVARIANTS_FILE);
	struct tsv sf = { spath, err, errlen }, inf = { ipath, err, errlen };

	struct registry old = reg;
	memset(&reg, 0, sizeof(reg));
	reg_loaded = false;

	int rc = -1;
	reg.text[0] = read_file(&sf);
	if (!reg.text[0] ||
	    parse_tsv(&sf, reg.text[0], section_cols, S_NCOLS, section_row))
		goto out;
	reg.n_sections = reg.n;
	reg.text[1] = read_file(&inf);
	if (!reg.text[1] ||
	    parse_tsv(&inf, reg.text[1], invariant_cols, I_NCOLS, invariant_row))
		goto out;
	reg_loaded = true;    /* lookups below need it */
	if (check_related(&inf)) {
		reg_loaded = false;
		goto out;
	}
	rc = 0;
out:
	if (rc) {
		free_registry(&reg);
		reg = old;
		reg_loaded = reg.n != 0;
	} else {
		free_registry(&old);
	}
	return rc;
}

bool vt_clause_loaded(void)
{
	return reg_loaded;
}

void vt_clause_unload(void)
{
	free_registry(&reg);
	reg_loaded = false;
}

const struct vt_clause *vt_clause_lookup(const char *id)
{
	if (!reg_loaded || !id)
		return NULL;
	for (unsigned i = 0; i < reg.n; i++)
		if (strcmp(reg.rows[i].id, id) == 0)
			return &reg.rows[i];
	return NULL;
}

unsigned vt_clause_count(void)
{
	return reg_loaded ? reg.n : 0;
}

const struct vt_clause *vt_clause_at(unsigned i)
{
	return reg_loaded && i < reg.n ? &reg.rows[i] : NULL;
}

bool vt_clause_next(const char **cursor, char *buf, size_t buflen)
{
	const char *p = *cursor;
	if (!p || !buflen)
		return false;
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (!*p) {
		*cursor = p;
		return false;
	}
	size_t n = 0;
	while (*p && *p != ' ' && *p != '\t' && *p != ',') {
		if (n + 1 < buflen)
			buf[n++] = *p;
		p++;
	}
	buf[n] = '\0';
	*cursor = p;
	return true;
}
