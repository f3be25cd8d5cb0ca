/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * impl.c - results per implementation under test: the `vcts run` parts by
 * implementation (its "# implementation:" line, else vcts's own models),
 * area and transport; the `vcts guest` parts by guest, each cell a chip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define OWN_MODELS "vcts models"

struct row {
	const char *impl;
	char area[64];
	const char *transport;
	bool driver, device;
	unsigned n[VT_RP_NV];
};

static void count_cells(FILE *f, const unsigned *n)
{
	static const enum vt_rp_verdict order[] = { VT_RP_PASS, VT_RP_FAIL, VT_RP_SKIP,
						    VT_RP_TODO, VT_RP_XPASS };
	for (unsigned k = 0; k < 5; k++) {
		enum vt_rp_verdict v = order[k];
		bool loud = n[v] && vt_rp_is_problem(v);
		fprintf(f, "<td class=\"n%s%s%s\">%u</td>", n[v] ? "" : " z", loud ? " c-" : "",
			loud ? vt_rp_verdict_name(v) : "", n[v]);
	}
}

static void count_header(FILE *f)
{
	fputs("<th>tests</th><th>passed</th><th>failed</th><th>skipped</th><th>todo</th>"
	      "<th>xpass</th></tr>\n", f);
}

static struct row *find_row(struct row *rows, unsigned *n, unsigned cap, const char *impl,
			    const char *area, size_t alen, const char *transport)
{
	for (unsigned i = 0; i < *n; i++)
		if (strcmp(rows[i].impl, impl) == 0 && strlen(rows[i].area) == alen &&
		    strncmp(rows[i].area, area, alen) == 0 &&
		    strcmp(rows[i].transport, transport) == 0)
			return &rows[i];
	if (*n == cap)
		return NULL;
	struct row *r = &rows[(*n)++];
	memset(r, 0, sizeof(*r));
	r->impl = impl;
	snprintf(r->area, sizeof(r->area), "%.*s", (int)alen, area);
	r->transport = transport;
	return r;
}

static void run_part(FILE *f, const struct vt_rp_part *part)
{
	const struct vt_rp_tap *t = &part->tap;
	unsigned cap = t->ntop ? t->ntop : 1, n = 0;
	struct row *rows = calloc(cap, sizeof(*rows));
	if (!rows)
		return;
	for (unsigned i = 0; i < t->npt; i++) {
		const struct vt_rp_point *p = &t->pt[i];
		if (p->depth)
			continue;
		const struct vt_test *test = vt_rp_catalogue_test(p->name, NULL);
		const char *impl = vt_rp_comment_get(t, p, "implementation: ");
		size_t alen = strcspn(p->name, "/");
		struct row *r = find_row(rows, &n, cap, impl ? impl : OWN_MODELS, p->name, alen,
					 test && test->transport ? test->transport : "?");
		if (!r)
			continue;
		r->n[p->eff]++;
		r->driver |= test && test->role == VT_ROLE_DRIVER;
		r->device |= test && test->role == VT_ROLE_DEVICE;
	}
	fputs("<h3><code>", f);
	vt_rp_esc(f, part->name);
	fputs(".tap</code></h3>\n<table><tr><th>implementation</th><th>area</th><th>transport</th>"
	      "<th>judges</th>", f);
	count_header(f);
	for (unsigned i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		unsigned tests = 0;
		for (int v = 0; v < VT_RP_NV; v++)
			tests += r->n[v];
		fputs("<tr><td>", f);
		vt_rp_esc(f, r->impl);
		fputs("</td><td>", f);
		vt_rp_esc(f, r->area);
		fputs("</td><td>", f);
		vt_rp_esc(f, r->transport);
		fprintf(f, "</td><td>%s</td><td class=\"n\">%u</td>",
			r->driver && r->device ? "driver, device" : r->driver ? "driver" :
			r->device ? "device" : "?", tests);
		count_cells(f, r->n);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	free(rows);
}

/* "guest/GUEST/CELL": the guest and the cell. */
static void guest_split(const char *name, const char **guest, size_t *glen, const char **cell)
{
	const char *s = strncmp(name, "guest/", 6) == 0 ? name + 6 : name;
	const char *slash = strchr(s, '/');
	*guest = s;
	*glen = slash ? (size_t)(slash - s) : strlen(s);
	*cell = slash ? slash + 1 : s;
}

static void chip(FILE *f, const struct vt_rp_point *p, const char *cell)
{
	fprintf(f, "<span class=\"chip v-%s\" title=\"%s", vt_rp_verdict_name(p->eff),
		vt_rp_verdict_name(p->eff));
	if (p->directive && *p->reason) {
		fputs(": ", f);
		vt_rp_esc(f, p->reason);
	}
	fputs("\">", f);
	vt_rp_esc(f, cell);
	fputs("</span>", f);
}

static void guest_part(FILE *f, const struct vt_rp_part *part)
{
	const struct vt_rp_tap *t = &part->tap;
	fputs("<h3><code>", f);
	vt_rp_esc(f, part->name);
	fputs(".tap</code></h3>\n<table><tr><th>guest</th><th>cells</th>", f);
	count_header(f);
	for (unsigned i = 0; i < t->npt; i++) {
		const struct vt_rp_point *p = &t->pt[i];
		const char *g, *cell;
		size_t gl;
		if (p->depth)
			continue;
		guest_split(p->name, &g, &gl, &cell);
		/* a guest's row starts at its first cell */
		bool first = true;
		for (unsigned k = 0; k < i && first; k++) {
			const char *g2, *c2;
			size_t gl2;
			if (t->pt[k].depth)
				continue;
			guest_split(t->pt[k].name, &g2, &gl2, &c2);
			first = !(gl2 == gl && strncmp(g, g2, gl) == 0);
		}
		if (!first)
			continue;
		unsigned n[VT_RP_NV] = { 0 }, tests = 0;
		fputs("<tr><td><code>", f);
		vt_rp_escn(f, g, gl);
		fputs("</code></td><td>", f);
		for (unsigned k = i; k < t->npt; k++) {
			const char *g2, *c2;
			size_t gl2;
			if (t->pt[k].depth)
				continue;
			guest_split(t->pt[k].name, &g2, &gl2, &c2);
			if (gl2 != gl || strncmp(g, g2, gl) != 0)
				continue;
			chip(f, &t->pt[k], c2);
			n[t->pt[k].eff]++;
			tests++;
		}
		fprintf(f, "</td><td class=\"n\">%u</td>", tests);
		count_cells(f, n);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

void vt_rp_html_impl(FILE *f, const struct vt_rp_report *r)
{
	bool any = false;
	fputs("<section id=\"impl\"><h2>Results per implementation</h2>\n", f);
	for (unsigned i = 0; i < r->nparts; i++) {
		if (r->parts[i].kind == VT_RP_RUN)
			run_part(f, &r->parts[i]);
		else if (r->parts[i].kind == VT_RP_GUEST)
			guest_part(f, &r->parts[i]);
		else
			continue;
		any = true;
	}
	if (!any)
		fputs("<p>No <code>vcts run</code> or <code>vcts guest</code> results.</p>\n", f);
	fputs("</section>\n", f);
}
