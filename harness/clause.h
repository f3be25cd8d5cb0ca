/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clause.h - the rule registry: every normative section of the virtio spec
 * (spec/normative-sections.tsv) and every invariant vcts adds to it
 * (spec/invariants.tsv).  A test, a verdict record and a profile name their
 * rules by the ids kept here; an id that is not here is an error.
 */
#ifndef VCTS_CLAUSE_H
#define VCTS_CLAUSE_H

#include <stdbool.h>
#include <stddef.h>

enum vt_clause_kind {
	VT_CLAUSE_SECTION,    /* a normative section: DRV-* or DEV-*   */
	VT_CLAUSE_INVARIANT,  /* an invariant of vcts: INV-*           */
};

struct vt_clause {
	enum vt_clause_kind kind;
	const char *id;           /* "DRV-2.7.5.2", "INV-unshared-access"     */
	const char *role;         /* "driver", "device" or "invariant"        */
	const char *section;      /* "2.7.5.2" (empty for invariants)         */
	const char *title;        /* section title, or the invariant's text   */
	const char *chapter;      /* "2 Basic Facilities of a Virtio Device"  */
	const char *label;        /* the LaTeX label of the section           */
	const char *related;      /* invariants: related clause ids           */
	const char *source;       /* invariants: where the rule comes from    */
	/* normative keyword counts of the section */
	unsigned must, should, may, must_not, should_not, other_kw;
};

/* Where the registry lives: $VCTS_SPEC_DIR, else VCTS_SRCDIR "/spec". */
const char *vt_clause_default_dir(void);

/*
 * Load both registry files from dir (NULL: the default), replacing any
 * registry loaded before.  On a missing or corrupt file returns -1 and puts
 * one line "FILE:LINE: what is wrong" into err.
 */
int vt_clause_load(const char *dir, char *err, size_t errlen);

bool vt_clause_loaded(void);
void vt_clause_unload(void);

/* The row of an id, or NULL. */
const struct vt_clause *vt_clause_lookup(const char *id);

/* Iteration in file order: sections first, then invariants. */
unsigned vt_clause_count(void);
const struct vt_clause *vt_clause_at(unsigned i);

/*
 * Split a space-separated id list ("DRV-2.7.5.2 INV-unshared-access"):
 * copies the next id into buf (cut to fit: a cut id is then unknown) and
 * advances *cursor.  False when no id is left.
 */
bool vt_clause_next(const char **cursor, char *buf, size_t buflen);

#endif
