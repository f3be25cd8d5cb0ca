/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * arena.h - memory carved out of large chunks and freed all at once: the
 * report's TAP model, the catalogue of `vcts list`.
 */
#ifndef VCTS_ARENA_H
#define VCTS_ARENA_H

#include <stddef.h>

struct vt_arena_chunk;
struct vt_arena {
	struct vt_arena_chunk *head;    /* zero-initialised: empty */
};

void *vt_arena_alloc(struct vt_arena *a, size_t size);   /* NULL: out of memory */
char *vt_arena_strndup(struct vt_arena *a, const char *s, size_t n);
char *vt_arena_strdup(struct vt_arena *a, const char *s);
void vt_arena_free(struct vt_arena *a);

#endif
