/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * select.h - which units a command takes, and the catalogue of them.
 *
 * One selection language for run, list, device, matrix and guest:
 *
 *   --filter EXPR   repeatable; an item is kept when ANY --filter holds
 *   --exclude EXPR  repeatable; an item for which any holds is left out
 *   (no --filter: every item)
 *
 *   EXPR   := TERM [',' TERM]...      every term must hold
 *   TERM   := KEY '=' VALUES          some value of KEY matches a VALUE
 *           | KEY '!=' VALUES         no value of KEY matches any VALUE
 *           | GLOB                    the same as name=GLOB
 *   VALUES := VALUE ['|' VALUE]...
 *
 * A term is KEY=... or KEY!=... when the text before its first '=' (less
 * a final '!') is a key word: letters, digits, '-' and '_' only.  Any
 * other term is a name glob, such as "status/driver-*" or
 * "split/x[packed]".  A VALUE matches a string equal to it, or matching
 * it as an fnmatch(3) glob: an exact name matches itself although its
 * "[variant]" reads as a set.  Blanks around terms and values are ignored.
 *
 * Items are a name plus {key, value} attributes; a key may repeat
 * (clause: every id the item cites).  Each command declares the keys it
 * knows; an unknown key is an error naming them, and so is a plain value
 * outside the values of a key that has a closed set (a glob is not
 * checked).  A value no item has is not an error.
 *
 * --shard I/N (1 <= I <= N <= 1000): the selected units, numbered 0..T-1
 * in the order the unsharded command prints them, go to shard I when
 * u % N == I - 1.  A unit is a test point (a guest for `vcts guest`).  A
 * sharded TAP stream says so right after its plan line:
 *   # vcts-shard I/N units=K total=T unit=point|guest
 *
 * The catalogue (vt_sel_list) is what `vcts list` and the --list of the
 * commands print: text (aligned name, role, transport, clauses), TAP
 * ("ok i - NAME # SKIP listed" with a YAML block of the attributes) or one
 * JSON document {"vcts": VERSION, "items": [...]}, with "shard": {index,
 * count, units, total, unit} when sharded.  An attribute with one value
 * is a string, with several a list; "clauses" is always a list.
 *
 * Matching allocates nothing and makes no system call.
 */
#ifndef VCTS_SELECT_H
#define VCTS_SELECT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tap.h"

#ifndef VCTS_VERSION
#define VCTS_VERSION "0.1"
#endif

/* ---- items and keys ---- */

struct vt_sel_attr {
	const char *key;      /* "clause", "role", "ring" ...  */
	const char *value;
};

struct vt_sel_item {
	const char *name;
	const struct vt_sel_attr *attr;
	unsigned nattr;
};

/* A key a command knows, and the values it takes (nvalues 0: any). */
struct vt_sel_key {
	const char *name;
	const char *const *values;
	unsigned nvalues;
};

/* ---- the selection ---- */

enum vt_sel_kind { VT_SEL_FILTER, VT_SEL_EXCLUDE };

#define VT_SEL_MAX_EXPRS   64     /* --filter and --exclude together */
#define VT_SEL_MAX_TERMS   256
#define VT_SEL_MAX_VALUES  512
#define VT_SEL_MAX_TABLES  4      /* key tables (one per catalogue)   */
#define VT_SEL_MAX_TEXT    8192   /* the expressions, copied          */

struct vt_sel_value {
	const char *text;
	bool glob;             /* holds *, ? or [: try fnmatch too */
};

struct vt_sel_term {
	const char *key;       /* from a key table; vt_sel_name_key for names */
	bool negated;          /* KEY!=...                                     */
	uint16_t first, n;     /* its values                                   */
};

struct vt_sel_expr {
	const char *text;      /* as given, for messages */
	bool exclude;
	uint16_t first, n;     /* its terms              */
};

struct vt_sel {
	const struct vt_sel_key *table[VT_SEL_MAX_TABLES];
	unsigned ntable[VT_SEL_MAX_TABLES];
	unsigned ntables;
	struct vt_sel_expr expr[VT_SEL_MAX_EXPRS];
	unsigned nexpr, nfilter;
	struct vt_sel_term term[VT_SEL_MAX_TERMS];
	unsigned nterm;
	struct vt_sel_value value[VT_SEL_MAX_VALUES];
	unsigned nvalue;
	char text[VT_SEL_MAX_TEXT];
	unsigned used;
	uint64_t hits;         /* bit k: --filter number k held for an item */
};

/* The key every item has: its name. */
extern const char vt_sel_name_key[];

/* An empty selection (every item) knowing the keys of one table. */
void vt_sel_init(struct vt_sel *s, const struct vt_sel_key *keys, unsigned nkeys);
/* Know the keys of one more table (a listing of several catalogues). */
int vt_sel_add_keys(struct vt_sel *s, const struct vt_sel_key *keys, unsigned nkeys);
/* Parse one --filter or --exclude.  0, or -1 with a one-line reason in
 * err (unknown key, value outside a closed set, empty term, too long). */
int vt_sel_add(struct vt_sel *s, enum vt_sel_kind kind, const char *expr, char *err,
	       size_t errlen);
/* Is the item kept: some --filter holds (or there is none) and no
 * --exclude does? */
bool vt_sel_match(const struct vt_sel *s, const struct vt_sel_item *it);
/* The same, also noting in s->hits each --filter that held. */
bool vt_sel_take(struct vt_sel *s, const struct vt_sel_item *it);
/* The first --filter that held for no item taken so far, or NULL. */
const char *vt_sel_missed(const struct vt_sel *s);
/* Does any term look at key?  (An attribute costly to make can be left
 * out of the items when nothing asks for it.) */
bool vt_sel_uses(const struct vt_sel *s, const char *key);
/* Any --filter or --exclude at all? */
bool vt_sel_active(const struct vt_sel *s);

/* ---- shards ---- */

struct vt_sel_shard {
	unsigned index;        /* I, 1-based      */
	unsigned count;        /* N; 0: unsharded */
};

#define VT_SEL_MAX_SHARDS 1000

/* "I/N".  0, or -1 with a one-line reason. */
int vt_sel_shard_parse(const char *spec, struct vt_sel_shard *sh, char *err, size_t errlen);
/* Does the shard take unit u (0-based)?  Always, when unsharded. */
bool vt_sel_shard_takes(const struct vt_sel_shard *sh, uint64_t u);
/* How many of total units the shard takes. */
uint64_t vt_sel_shard_size(const struct vt_sel_shard *sh, uint64_t total);
/* After the plan line of a sharded stream: "# vcts-shard I/N units=K
 * total=T unit=UNIT".  Nothing when unsharded. */
void vt_sel_shard_note(struct vt_tap *t, const struct vt_sel_shard *sh, uint64_t total,
		       const char *unit);
/* The shard line itself, for a stream of `units` of `total` units (nothing
 * when unsharded); and the plan "1..0 # SKIP no units in shard I/N" with it. */
void vt_sel_shard_line(struct vt_tap *t, const struct vt_sel_shard *sh, uint64_t units,
		       uint64_t total, const char *unit);
void vt_sel_shard_skip_all(struct vt_tap *t, const struct vt_sel_shard *sh, uint64_t total,
			   const char *unit);
/* A sharded selection whose shard holds nothing: print the whole stream's
 * plan "1..0 # SKIP no units in shard I/N" and the note, return true.
 * False (nothing printed) otherwise. */
bool vt_sel_shard_empty(struct vt_tap *t, const struct vt_sel_shard *sh, uint64_t total,
			const char *unit);

/* ---- the catalogue: vcts list, and --list ---- */

enum vt_sel_format { VT_SEL_TEXT, VT_SEL_TAP, VT_SEL_JSON };

/* "text", "tap" or "json": 0, else -1. */
int vt_sel_format_parse(const char *s, enum vt_sel_format *f);

struct vt_sel_list;

struct vt_sel_list *vt_sel_list_new(void);
void vt_sel_list_free(struct vt_sel_list *l);
/* Add an item of kind ("test", "guest-cell", "matrix-cell"), copied. */
int vt_sel_list_add(struct vt_sel_list *l, const char *kind, const struct vt_sel_item *it);
/* A catalogue's share of a sharded listing: K units of T, of one kind
 * ("point" or "guest"). */
void vt_sel_list_units(struct vt_sel_list *l, uint64_t units, uint64_t total,
		       const char *unit);
/* Print the items in the order added.  TAP streams start with "TAP
 * version tap_version" (0: 14).  Returns 0, or -1 if out of memory earlier
 * or the write failed. */
int vt_sel_list_write(const struct vt_sel_list *l, FILE *f, enum vt_sel_format fmt,
		      const struct vt_sel_shard *sh, unsigned tap_version);

/* ---- catalogues defined elsewhere ---- */

/*
 * The guest cells (guest_cmd.c): the static cell table, no boot, judged
 * under `profile` (NULL: linux-6.1) for the clauses they cite.  The keys
 * their items have; and every selected cell of the selected guests in
 * the guest shard, added to l.  The clause registry must be loaded.
 * Returns 0, or -1 with the reason in err.
 */
void vt_guest_keys(const struct vt_sel_key **keys, unsigned *nkeys);
int vt_guest_list(const char *profile, struct vt_sel *sel, const struct vt_sel_shard *sh,
		  struct vt_sel_list *l, char *err, size_t errlen);

#endif
