/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heatmap.c - one matrix profile as an SVG heat map.  Cells are named by
 * their axis values ("ap-offer=no ... device=blk"); rows are the values of
 * who offers and who knows ACCESS_PLATFORM and the proposed bit and the
 * secure guest, columns translation x device DMA width.  Each square
 * aggregates the cells with those values (over ring, event index,
 * indirect, device), coloured by the worst verdict among them, with a
 * tooltip of its counts and the oracle's expectations, and a link to the
 * details of its problem cells listed below the map.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define MAX_AXES    16
#define MAX_VALUES  16
#define NAME_LEN    32
#define CW          46       /* square width, px          */
#define CH          18       /* square height             */
#define CHAR_W      6.1      /* monospace 10px advance    */
#define LINE_H      14
#define DETAIL_CAP  24       /* groups shown with a cell's full finding */

static const char *const row_pref[] = { "ap-offer", "ap-accept", "prop-offer", "prop-accept",
					"secure" };
static const char *const col_pref[] = { "translation", "width" };

/* The oracle's expectation of a cell ("# expected: live ..."). */
enum expect { EX_LIVE, EX_HAZARD, EX_DRIVER_REFUSES, EX_DEVICE_REFUSES, EX_SKIP, EX_OTHER, EX_N };
static const char *const expect_names[EX_N] = {
	"live", "hazard", "driver-refuses", "device-refuses", "skip", "other",
};
static const char *const expect_short[EX_N] = { "live", "haz", "drv", "dev", "skip", "?" };

struct axis {
	char name[NAME_LEN];
	char val[MAX_VALUES][NAME_LEN];
	unsigned nval;
};

struct group {
	unsigned n[VT_RP_NV];
	unsigned ex[EX_N];
	unsigned cells, problems;
	int first_problem;                /* point index, -1 */
	enum vt_rp_verdict worst;
};

struct grid {
	struct axis ax[MAX_AXES];
	unsigned nax;
	unsigned rax[MAX_AXES], nr;       /* row axes (indices into ax)   */
	unsigned cax[MAX_AXES], nc;       /* column axes                  */
	unsigned nrows, ncols;
	struct group *g;                  /* nrows x ncols                */
	unsigned ungrouped;               /* cells without axis values    */
};

/* Next "name=value" word of s; false at the end. */
static bool next_word(const char **s, const char **name, size_t *nlen, const char **val,
		      size_t *vlen)
{
	for (;;) {
		while (**s == ' ')
			(*s)++;
		if (!**s)
			return false;
		const char *w = *s;
		size_t len = strcspn(w, " ");
		*s += len;
		const char *eq = memchr(w, '=', len);
		if (!eq)
			continue;
		*name = w;
		*nlen = (size_t)(eq - w);
		*val = eq + 1;
		*vlen = len - *nlen - 1;
		return true;
	}
}

static int find_or_add(char (*names)[NAME_LEN], unsigned *n, unsigned max, const char *s,
		       size_t len)
{
	for (unsigned i = 0; i < *n; i++)
		if (strlen(names[i]) == len && strncmp(names[i], s, len) == 0)
			return (int)i;
	if (*n == max || len >= NAME_LEN)
		return -1;
	memcpy(names[*n], s, len);
	names[*n][len] = '\0';
	return (int)(*n)++;
}

static int axis_index(struct grid *gr, const char *name, size_t len, bool add)
{
	for (unsigned i = 0; i < gr->nax; i++)
		if (strlen(gr->ax[i].name) == len && strncmp(gr->ax[i].name, name, len) == 0)
			return (int)i;
	if (!add || gr->nax == MAX_AXES || len >= NAME_LEN)
		return -1;
	memset(&gr->ax[gr->nax], 0, sizeof(gr->ax[0]));
	memcpy(gr->ax[gr->nax].name, name, len);
	return (int)gr->nax++;
}

/* Pass 1: every axis and value, in the order the cells show them. */
static void collect_axes(struct grid *gr, const struct vt_rp_tap *t)
{
	for (unsigned i = 0; i < t->npt; i++) {
		if (t->pt[i].depth)
			continue;
		const char *s = t->pt[i].name, *name, *val;
		size_t nl, vl;
		while (next_word(&s, &name, &nl, &val, &vl)) {
			int a = axis_index(gr, name, nl, true);
			if (a >= 0)
				find_or_add(gr->ax[a].val, &gr->ax[a].nval, MAX_VALUES, val, vl);
		}
	}
}

static void pick(struct grid *gr, const char *const *pref, unsigned npref, unsigned *out,
		 unsigned *n)
{
	for (unsigned i = 0; i < npref; i++) {
		int a = axis_index(gr, pref[i], strlen(pref[i]), false);
		if (a >= 0)
			out[(*n)++] = (unsigned)a;
	}
}

/* Rows and columns from the axes: the preferred ones, else the first two. */
static void choose_axes(struct grid *gr)
{
	pick(gr, row_pref, sizeof(row_pref) / sizeof(row_pref[0]), gr->rax, &gr->nr);
	pick(gr, col_pref, sizeof(col_pref) / sizeof(col_pref[0]), gr->cax, &gr->nc);
	if (!gr->nr && !gr->nc && gr->nax) {
		gr->rax[gr->nr++] = 0;
		if (gr->nax > 1)
			gr->cax[gr->nc++] = 1;
	}
	gr->nrows = gr->ncols = 1;
	for (unsigned i = 0; i < gr->nr; i++)
		gr->nrows *= gr->ax[gr->rax[i]].nval;
	for (unsigned i = 0; i < gr->nc; i++)
		gr->ncols *= gr->ax[gr->cax[i]].nval;
}

/* The value index of each axis in a cell name (-1: not given). */
static void cell_values(const struct grid *gr, const char *s, int *vi)
{
	const char *name, *val;
	size_t nl, vl;
	for (unsigned a = 0; a < gr->nax; a++)
		vi[a] = -1;
	while (next_word(&s, &name, &nl, &val, &vl)) {
		int a = axis_index((struct grid *)gr, name, nl, false);
		if (a < 0)
			continue;
		for (unsigned v = 0; v < gr->ax[a].nval; v++)
			if (strlen(gr->ax[a].val[v]) == vl &&
			    strncmp(gr->ax[a].val[v], val, vl) == 0)
				vi[a] = (int)v;
	}
}

static int mixed_index(const struct grid *gr, const unsigned *axes, unsigned n, const int *vi)
{
	int idx = 0;
	for (unsigned i = 0; i < n; i++) {
		if (vi[axes[i]] < 0)
			return -1;
		idx = idx * (int)gr->ax[axes[i]].nval + vi[axes[i]];
	}
	return idx;
}

static enum expect expectation(const struct vt_rp_tap *t, const struct vt_rp_point *p)
{
	const char *e = vt_rp_comment_get(t, p, "expected: ");
	if (!e)
		return p->own == VT_RP_SKIP ? EX_SKIP : EX_OTHER;
	for (int x = 0; x < EX_OTHER; x++) {
		size_t n = strlen(expect_names[x]);
		if (strncmp(e, expect_names[x], n) == 0 && (e[n] == ' ' || e[n] == '\0' ||
							     e[n] == ','))
			return (enum expect)x;
	}
	return EX_OTHER;
}

/* Pass 2: every cell into its square. */
static int fill(struct grid *gr, const struct vt_rp_tap *t)
{
	gr->g = calloc((size_t)gr->nrows * gr->ncols, sizeof(*gr->g));
	if (!gr->g)
		return -1;
	for (size_t i = 0; i < (size_t)gr->nrows * gr->ncols; i++)
		gr->g[i].first_problem = -1;
	for (unsigned i = 0; i < t->npt; i++) {
		const struct vt_rp_point *p = &t->pt[i];
		int vi[MAX_AXES];
		if (p->depth)
			continue;
		cell_values(gr, p->name, vi);
		int r = mixed_index(gr, gr->rax, gr->nr, vi);
		int c = mixed_index(gr, gr->cax, gr->nc, vi);
		if (r < 0 || c < 0) {
			gr->ungrouped++;
			continue;
		}
		struct group *g = &gr->g[(size_t)r * gr->ncols + (size_t)c];
		if (!g->cells || p->eff > g->worst)
			g->worst = p->eff;
		g->cells++;
		g->n[p->eff]++;
		g->ex[expectation(t, p)]++;
		if (vt_rp_is_problem(p->eff)) {
			if (g->first_problem < 0)
				g->first_problem = (int)i;
			g->problems++;
		}
	}
	return 0;
}

/* The value of axis number k of mixed index idx over axes[0..n). */
static const char *value_at(const struct grid *gr, const unsigned *axes, unsigned n,
			    unsigned idx, unsigned k)
{
	unsigned v = idx;
	for (unsigned i = n; i-- > k + 1;)
		v /= gr->ax[axes[i]].nval;
	return gr->ax[axes[k]].val[v % gr->ax[axes[k]].nval];
}

/* "name=value ..." of a row or column. */
static void words(const struct grid *gr, const unsigned *axes, unsigned n, unsigned idx,
		  char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned k = 0; k < n && used < len; k++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", k ? " " : "",
					 gr->ax[axes[k]].name, value_at(gr, axes, n, idx, k));
}

static void group_id(char *buf, size_t len, const struct vt_rp_part *part, unsigned r,
		     unsigned c)
{
	char tail[32];
	snprintf(tail, sizeof(tail), "-r%u-c%u", r, c);
	vt_rp_anchor(buf, len - sizeof(tail), "g-", part->profile[0] ? part->profile : part->name);
	strcat(buf, tail);
}

static void counts_text(FILE *f, const struct group *g)
{
	static const enum vt_rp_verdict order[] = { VT_RP_FAIL, VT_RP_XPASS, VT_RP_TODO,
						    VT_RP_PASS, VT_RP_SKIP };
	const char *sep = "";
	for (unsigned k = 0; k < 5; k++)
		if (g->n[order[k]]) {
			fprintf(f, "%s%u %s", sep, g->n[order[k]], vt_rp_verdict_label(order[k]));
			sep = ", ";
		}
}

static enum expect main_expect(const struct group *g, bool *mixed)
{
	enum expect best = EX_OTHER;
	unsigned kinds = 0, most = 0;
	for (int x = 0; x < EX_N; x++) {
		kinds += g->ex[x] > 0;
		if (g->ex[x] > most) {
			most = g->ex[x];
			best = (enum expect)x;
		}
	}
	*mixed = kinds > 1;
	return best;
}

static void tooltip(FILE *f, const struct grid *gr, const struct group *g, unsigned r,
		    unsigned c)
{
	char rw[512], cw[256];
	words(gr, gr->rax, gr->nr, r, rw, sizeof(rw));
	words(gr, gr->cax, gr->nc, c, cw, sizeof(cw));
	fputs("<title>", f);
	vt_rp_esc(f, rw);
	fputs("\n", f);
	vt_rp_esc(f, cw);
	fprintf(f, "\n%u cell%s: ", g->cells, g->cells == 1 ? "" : "s");
	counts_text(f, g);
	fputs("\nexpected:", f);
	for (int x = 0; x < EX_N; x++)
		if (g->ex[x])
			fprintf(f, " %u %s", g->ex[x], expect_names[x]);
	fputs("</title>", f);
}

static double label_width(const struct grid *gr, unsigned a)
{
	size_t w = strlen(gr->ax[a].name);
	for (unsigned v = 0; v < gr->ax[a].nval; v++)
		if (strlen(gr->ax[a].val[v]) > w)
			w = strlen(gr->ax[a].val[v]);
	return (double)w * CHAR_W + 12;
}

/* The row labels' columns: x of each row axis, and the grid's left edge. */
static double row_label_x(const struct grid *gr, double *x)
{
	double at = 4;
	for (unsigned k = 0; k < gr->nr; k++) {
		x[k] = at;
		at += label_width(gr, gr->rax[k]);
	}
	return at + 4;
}

static void svg_labels(FILE *f, const struct grid *gr, const double *rx, double left,
		       double top)
{
	/* row axis names over their columns, on the last header line */
	for (unsigned k = 0; k < gr->nr; k++) {
		fprintf(f, "<text class=\"ax\" x=\"%.1f\" y=\"%.1f\">", rx[k], top - 6);
		vt_rp_esc(f, gr->ax[gr->rax[k]].name);
		fputs("</text>", f);
	}
	/* one header line per column axis, its name right of the grid */
	for (unsigned k = 0; k < gr->nc; k++) {
		double y = 4 + LINE_H * (k + 1) - 3;
		for (unsigned c = 0; c < gr->ncols; c++) {
			const char *v = value_at(gr, gr->cax, gr->nc, c, k);
			unsigned span = 1;
			for (unsigned j = k + 1; j < gr->nc; j++)
				span *= gr->ax[gr->cax[j]].nval;
			if (c % span)
				continue;         /* an outer value labels its whole span */
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
				left + CW * (c + span / 2.0), y);
			vt_rp_esc(f, v);
			fputs("</text>", f);
		}
		fprintf(f, "<text class=\"ax\" x=\"%.1f\" y=\"%.1f\">", left + CW * gr->ncols + 8,
			y);
		vt_rp_esc(f, gr->ax[gr->cax[k]].name);
		fputs("</text>", f);
	}
	for (unsigned r = 0; r < gr->nrows; r++)
		for (unsigned k = 0; k < gr->nr; k++) {
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", rx[k], top + CH * r + CH - 5);
			vt_rp_esc(f, value_at(gr, gr->rax, gr->nr, r, k));
			fputs("</text>", f);
		}
}

static void svg_square(FILE *f, const struct vt_rp_part *part, const struct grid *gr,
		       unsigned r, unsigned c, double x, double y)
{
	const struct group *g = &gr->g[(size_t)r * gr->ncols + c];
	char id[160];
	bool link = g->problems > 0;
	if (link) {
		group_id(id, sizeof(id), part, r, c);
		fprintf(f, "<a href=\"#%s\">", id);
	}
	fprintf(f, "<rect class=\"cell v-%s\" x=\"%.0f\" y=\"%.0f\" width=\"%d\" height=\"%d\">",
		vt_rp_verdict_name(g->worst), x + 1, y + 1, CW - 2, CH - 2);
	tooltip(f, gr, g, r, c);
	fputs("</rect>", f);
	if (link)
		fputs("</a>", f);
	bool mixed;
	enum expect e = main_expect(g, &mixed);
	fprintf(f, "<text class=\"in\" x=\"%.0f\" y=\"%.0f\">%s%s</text>\n",
		x + CW / 2.0, y + CH - 5.0, expect_short[e], mixed ? "*" : "");
}

static void svg_legend(FILE *f, double y)
{
	double x = 4;
	for (int v = VT_RP_NV; v-- > 0;) {
		const char *label = vt_rp_verdict_label((enum vt_rp_verdict)v);
		fprintf(f, "<rect class=\"v-%s\" x=\"%.1f\" y=\"%.1f\" width=\"14\" "
			   "height=\"12\"/>",
			vt_rp_verdict_name((enum vt_rp_verdict)v), x, y);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", x + 18, y + 10, label);
		x += 18 + strlen(label) * CHAR_W + 14;
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">in a square: what the oracle expects of most of "
		   "its cells (live, haz(ard), drv/dev: driver/device refuses, skip; * mixed)"
		   "</text>", x + 10, y + 10);
}

static void svg(FILE *f, const struct vt_rp_part *part, const struct grid *gr)
{
	double rx[MAX_AXES];
	double left = (double)(int)(row_label_x(gr, rx) + 0.5);
	double top = 4 + LINE_H * (gr->nc ? gr->nc : 1) + 4;
	double colname_w = 0;
	for (unsigned k = 0; k < gr->nc; k++)
		if (strlen(gr->ax[gr->cax[k]].name) * CHAR_W + 16 > colname_w)
			colname_w = strlen(gr->ax[gr->cax[k]].name) * CHAR_W + 16;
	double width = left + CW * gr->ncols + colname_w;
	double height = top + CH * gr->nrows + 30;
	if (width < 900)
		width = 900;
	fprintf(f, "<svg class=\"heat\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		   "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n",
		width, height, width, height);
	svg_labels(f, gr, rx, left, top);
	fputc('\n', f);
	for (unsigned r = 0; r < gr->nrows; r++)
		for (unsigned c = 0; c < gr->ncols; c++)
			if (gr->g[(size_t)r * gr->ncols + c].cells)
				svg_square(f, part, gr, r, c, left + CW * c, top + CH * r);
	svg_legend(f, top + CH * gr->nrows + 10);
	fputs("</svg>\n", f);
}

/* The "name=value" words selecting a square's cells. */
static unsigned square_axes(const struct grid *gr, unsigned r, unsigned c,
			    char (*vals)[2 * NAME_LEN + 2])
{
	unsigned n = 0;
	for (unsigned k = 0; k < gr->nr; k++, n++)
		snprintf(vals[n], sizeof(vals[n]), "%s=%s", gr->ax[gr->rax[k]].name,
			 value_at(gr, gr->rax, gr->nr, r, k));
	for (unsigned k = 0; k < gr->nc; k++, n++)
		snprintf(vals[n], sizeof(vals[n]), "%s=%s", gr->ax[gr->cax[k]].name,
			 value_at(gr, gr->cax, gr->nc, c, k));
	return n;
}

/* One square with problem cells: its values and counts, the command that
 * runs exactly its cells, and (when `full`) its first problem cell. */
static void square_entry(FILE *f, const struct vt_rp_part *part, const struct grid *gr,
			 unsigned r, unsigned c, bool full)
{
	const struct group *g = &gr->g[(size_t)r * gr->ncols + c];
	char id[160], rw[512], cw[256], cmd[2048];
	char vals[2 * MAX_AXES][2 * NAME_LEN + 2];
	const char *axes[2 * MAX_AXES];
	unsigned n = square_axes(gr, r, c, vals);
	for (unsigned k = 0; k < n; k++)
		axes[k] = vals[k];
	group_id(id, sizeof(id), part, r, c);
	words(gr, gr->rax, gr->nr, r, rw, sizeof(rw));
	words(gr, gr->cax, gr->nc, c, cw, sizeof(cw));
	fprintf(f, "<div class=\"group\" id=\"%s\"><div><span class=\"badge v-%s\">%s</span> "
		   "<code>",
		id, vt_rp_verdict_name(g->worst), vt_rp_verdict_name(g->worst));
	vt_rp_esc(f, rw);
	fputs(" &middot; ", f);
	vt_rp_esc(f, cw);
	fprintf(f, "</code>: %u of %u cells (", g->problems, g->cells);
	counts_text(f, g);
	fputs(")</div>\n<pre class=\"cmd\">", f);
	vt_rp_repro_axes(part, axes, n, cmd, sizeof(cmd));
	vt_rp_esc(f, cmd);
	fputs("</pre>\n", f);
	if (full)
		vt_rp_html_finding(f, part, &part->tap.pt[g->first_problem], NULL);
	fputs("</div>\n", f);
}

/* Below the map: every square holding problem cells; the first ones with
 * their first problem cell in full. */
static void details(FILE *f, const struct vt_rp_part *part, const struct grid *gr)
{
	unsigned ngroups = 0, shown = 0;
	for (size_t i = 0; i < (size_t)gr->nrows * gr->ncols; i++)
		ngroups += gr->g[i].problems > 0;
	if (!ngroups)
		return;
	fprintf(f, "<h4>Squares with problem cells: %u</h4>\n", ngroups);
	for (unsigned r = 0; r < gr->nrows; r++)
		for (unsigned c = 0; c < gr->ncols; c++)
			if (gr->g[(size_t)r * gr->ncols + c].problems)
				square_entry(f, part, gr, r, c, shown++ < DETAIL_CAP);
	if (shown > DETAIL_CAP)
		fprintf(f, "<p class=\"more\">... and %u more squares listed without their first "
			   "cell's details (run the command shown)</p>\n", shown - DETAIL_CAP);
}

static void axis_names(FILE *f, const struct grid *gr, const unsigned *axes, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		if (k)
			fputs(" &times; ", f);
		vt_rp_esc(f, gr->ax[axes[k]].name);
	}
}

void vt_rp_html_heatmap(FILE *f, const struct vt_rp_part *part)
{
	struct grid *gr = calloc(1, sizeof(*gr));
	char id[160];
	vt_rp_anchor(id, sizeof(id), "mx-", part->profile);
	fprintf(f, "<h3 id=\"%s\">Profile <code>", id);
	vt_rp_esc(f, part->profile);
	fputs("</code>", f);
	if (part->title[0]) {
		fputs(" &mdash; ", f);
		vt_rp_esc(f, part->title);
	}
	fputs("</h3>\n", f);
	const char *sum = vt_rp_tap_summary(&part->tap, "matrix ");
	if (sum) {
		fputs("<p><code>", f);
		vt_rp_esc(f, sum);
		fputs("</code></p>\n", f);
	}
	if (!gr)
		return;
	collect_axes(gr, &part->tap);
	choose_axes(gr);
	if (!gr->nax || fill(gr, &part->tap)) {
		fputs("<p>No cells named by axis values.</p>\n", f);
		free(gr);
		return;
	}
	fputs("<p class=\"label\">Rows: ", f);
	axis_names(f, gr, gr->rax, gr->nr);
	fputs("; columns: ", f);
	axis_names(f, gr, gr->cax, gr->nc);
	fputs(". A square aggregates the cells over the other axes, coloured by the worst "
	      "verdict; hover for counts, click a framed square for its problem cells.</p>\n", f);
	svg(f, part, gr);
	if (gr->ungrouped)
		fprintf(f, "<p class=\"more\">%u cells without the axes of the map are not in "
			   "it.</p>\n", gr->ungrouped);
	details(f, part, gr);
	free(gr->g);
	free(gr);
}
