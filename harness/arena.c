/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * arena.c - strings and small records carved out of large chunks and
 * freed together (arena.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define CHUNK_SIZE (256u * 1024u)

struct vt_arena_chunk {
	struct vt_arena_chunk *next;
	size_t used, size;
	_Alignas(max_align_t) unsigned char data[];
};

void *vt_arena_alloc(struct vt_arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	struct vt_arena_chunk *c = a->head;
	if (!c || c->size - c->used < size) {
		size_t cap = size > CHUNK_SIZE ? size : CHUNK_SIZE;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->size = cap;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

char *vt_arena_strndup(struct vt_arena *a, const char *s, size_t n)
{
	char *p = vt_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *vt_arena_strdup(struct vt_arena *a, const char *s)
{
	return vt_arena_strndup(a, s, strlen(s));
}

void vt_arena_free(struct vt_arena *a)
{
	while (a->head) {
		struct vt_arena_chunk *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}
