/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * repro.c - the command line that runs a result again:
 *   run      build/vcts run --filter 'area/name[variant]'
 *   guest    build/vcts guest --filter 'guest/GUEST/CELL'
 *   matrix   build/vcts matrix --profile P --axis NAME=VALUE ...  (every
 *            axis of the cell's name: exactly that cell)
 *   diff     build/vcts matrix --diff P1 P2 --axis NAME=VALUE ...
 */
#include <string.h>

#include "report.h"

#define VCTS_BIN "build/vcts"
#define MAX_AXES 32

static void add(char *buf, size_t len, const char *word)
{
	vt_rp_shell_word(buf, len, word);
}

/* "matrix --profile P" or "matrix --diff P1 P2" */
static void matrix_head(const struct vt_rp_part *part, char *buf, size_t len)
{
	add(buf, len, "matrix");
	if (part->kind == VT_RP_DIFF) {
		add(buf, len, "--diff");
		add(buf, len, part->profile);
		add(buf, len, part->profile2);
	} else {
		add(buf, len, "--profile");
		add(buf, len, part->profile);
	}
}

void vt_rp_repro_axes(const struct vt_rp_part *part, const char *const *axes, unsigned n,
		      char *buf, size_t len)
{
	snprintf(buf, len, "%s", VCTS_BIN);
	matrix_head(part, buf, len);
	for (unsigned i = 0; i < n; i++) {
		add(buf, len, "--axis");
		add(buf, len, axes[i]);
	}
}

/* The "name=value" words of a matrix cell name. */
static unsigned cell_axes(const char *name, char words[][64], unsigned max)
{
	unsigned n = 0;
	while (*name && n < max) {
		while (*name == ' ')
			name++;
		size_t w = strcspn(name, " ");
		if (!w)
			break;
		if (memchr(name, '=', w) && w < 64) {
			memcpy(words[n], name, w);
			words[n++][w] = '\0';
		}
		name += w;
	}
	return n;
}

void vt_rp_repro_point(const struct vt_rp_part *part, const struct vt_rp_point *p, char *buf,
		       size_t len)
{
	buf[0] = '\0';
	if (!len)
		return;
	switch (part->kind) {
	case VT_RP_RUN:
		if (!vt_rp_catalogue_test(p->name, NULL))
			return;
		snprintf(buf, len, "%s", VCTS_BIN);
		add(buf, len, "run");
		add(buf, len, "--filter");
		add(buf, len, p->name);
		return;
	case VT_RP_GUEST:
		if (strncmp(p->name, "guest/", 6) != 0)
			return;
		snprintf(buf, len, "%s", VCTS_BIN);
		add(buf, len, "guest");
		add(buf, len, "--filter");
		add(buf, len, p->name);
		return;
	case VT_RP_MATRIX:
	case VT_RP_DIFF: {
		char words[MAX_AXES][64];
		const char *axes[MAX_AXES];
		unsigned n = cell_axes(p->name, words, MAX_AXES);
		if (!n || !part->profile[0] || (part->kind == VT_RP_DIFF && !part->profile2[0]))
			return;
		for (unsigned i = 0; i < n; i++)
			axes[i] = words[i];
		vt_rp_repro_axes(part, axes, n, buf, len);
		return;
	}
	}
}
