/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * difftable.c - a profile diff (`vcts matrix --diff P1 P2`): its summary
 * line from the TAP and its aligned table (--format table, saved as .txt
 * beside it) as an HTML table.  Columns are where the header's words
 * start; a verdict marked "(!)" (not what its profile expects) is
 * highlighted.  Lines outside the table are shown as text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define MAX_COLS  32
#define MAX_TEXT  (1u << 20)

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	char *buf = malloc(MAX_TEXT + 1);
	size_t n = buf ? fread(buf, 1, MAX_TEXT, fp) : 0;
	fclose(fp);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* Where the columns of an aligned header start: word starts after two or
 * more spaces (and at 0).  Returns how many. */
static unsigned columns(const char *h, unsigned *off)
{
	unsigned n = 0;
	for (unsigned i = 0; h[i] && n < MAX_COLS; i++) {
		bool after_gap = i >= 2 && h[i - 1] == ' ' && h[i - 2] == ' ';
		bool start = h[i] != ' ' && (i == 0 || after_gap);
		if (start)
			off[n++] = i;
	}
	return n;
}

static void cell(FILE *f, const char *line, size_t len, unsigned from, unsigned to, bool head)
{
	const char *s = from < len ? line + from : line + len;
	size_t n = to > len ? len - (size_t)(s - line) : to - from;
	if (from >= len)
		n = 0;
	while (n && s[n - 1] == ' ')
		n--;
	while (n && *s == ' ') {
		s++;
		n--;
	}
	bool bad = !head && n >= 3 && memmem(s, n, "(!)", 3);
	fputs(head ? "<th>" : bad ? "<td class=\"bad\">" : "<td>", f);
	vt_rp_escn(f, s, n);
	fputs(head ? "</th>" : "</td>", f);
}

static void table_row(FILE *f, const char *line, const unsigned *off, unsigned ncols, bool head)
{
	size_t len = strlen(line);
	fputs("<tr>", f);
	for (unsigned k = 0; k < ncols; k++)
		cell(f, line, len, off[k], k + 1 < ncols ? off[k + 1] : (unsigned)len + 1, head);
	fputs("</tr>\n", f);
}

static void table(FILE *f, char *text)
{
	unsigned off[MAX_COLS], ncols = 0;
	bool in_table = false;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned o[MAX_COLS];
		unsigned n = columns(line, o);
		if (!in_table && n >= 2) {
			memcpy(off, o, sizeof(o));
			ncols = n;
			in_table = true;
			fputs("<table>\n", f);
			table_row(f, line, off, ncols, true);
			continue;
		}
		if (in_table && n >= 2) {
			table_row(f, line, off, ncols, false);
			continue;
		}
		if (in_table) {
			fputs("</table>\n", f);
			in_table = false;
		}
		fputs("<p>", f);
		vt_rp_esc(f, line);
		fputs("</p>\n", f);
	}
	if (in_table)
		fputs("</table>\n", f);
}

void vt_rp_html_diff(FILE *f, const struct vt_rp_part *part)
{
	char id[160];
	vt_rp_anchor(id, sizeof(id), "diff-", part->name);
	fprintf(f, "<h3 id=\"%s\"><code>", id);
	vt_rp_esc(f, part->profile);
	fputs("</code> vs <code>", f);
	vt_rp_esc(f, part->profile2);
	fputs("</code></h3>\n", f);
	const char *sum = vt_rp_tap_summary(&part->tap, "matrix diff ");
	if (sum) {
		fputs("<p><code>", f);
		vt_rp_esc(f, sum);
		fputs("</code></p>\n", f);
	}
	char *text = part->table[0] ? slurp(part->table) : NULL;
	if (!text) {
		fputs("<p class=\"more\">No table (<code>--format table</code>) saved beside the "
		      "TAP.</p>\n", f);
		return;
	}
	fputs("<p class=\"label\">From <code>", f);
	vt_rp_esc(f, part->name);
	fputs(".txt</code>: observed verdicts; (!) where one is not what its profile "
	      "expects.</p>\n", f);
	table(f, text);
	free(text);
}
