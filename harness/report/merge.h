/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * merge.h - what the files of `vcts merge` share: the lines of a shard
 * that are not units (the header before the first unit, the summary after
 * the last) merged into the lines the whole run would have printed.
 */
#ifndef VCTS_REPORT_MERGE_H
#define VCTS_REPORT_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct vt_rp_cm_entry;
struct vt_rp_cm_member;

/* The comment lines of one place (header or trailer) of every shard. */
struct vt_rp_cmerge {
	struct vt_rp_cm_entry *e;
	unsigned ne, cap_e;
	struct vt_rp_cm_member *m;
	unsigned nm, cap_m;
};

/*
 * Add a comment line ("# text", its line end left off) of shard i
 * (1-based); empty: that shard has no units.  The line must live until the
 * merge is written.  -1: out of memory.
 */
int vt_rp_cmerge_add(struct vt_rp_cmerge *c, unsigned i, bool empty, const char *raw,
		     size_t rawlen);
/*
 * Write the merged lines: a summary vcts writes with its counts added up
 * over the shards; a line every shard with units has alike, once; any
 * other line as "# shard I/N: text".  nonempty: how many shards have units.
 */
void vt_rp_cmerge_write(const struct vt_rp_cmerge *c, FILE *out, unsigned n, unsigned nonempty);
void vt_rp_cmerge_free(struct vt_rp_cmerge *c);

#endif
