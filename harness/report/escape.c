/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * escape.c - text made safe for where it goes: HTML text and attribute
 * values, anchor ids, and shell words of the commands the page shows.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"

void vt_rp_escn(FILE *f, const char *s, size_t n)
{
	const char *run = s;
	for (const char *end = s + n; s < end; s++) {
		unsigned char c = (unsigned char)*s;
		const char *rep;
		switch (c) {
		case '&':  rep = "&amp;"; break;
		case '<':  rep = "&lt;"; break;
		case '>':  rep = "&gt;"; break;
		case '"':  rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\n':
		case '\t':
			continue;
		default:
			if (c >= 0x20 && c != 0x7f)
				continue;
			rep = "&#xFFFD;";   /* control characters have no place here */
		}
		fwrite(run, 1, (size_t)(s - run), f);
		fputs(rep, f);
		run = s + 1;
	}
	fwrite(run, 1, (size_t)(s - run), f);
}

void vt_rp_esc(FILE *f, const char *s)
{
	if (s)
		vt_rp_escn(f, s, strlen(s));
}

void vt_rp_anchor(char *buf, size_t len, const char *prefix, const char *s)
{
	size_t n = 0;
	if (!len)
		return;
	for (const char *p = prefix; p && *p && n + 1 < len; p++)
		buf[n++] = *p;
	for (; s && *s && n + 1 < len; s++) {
		unsigned char c = (unsigned char)*s;
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_';
		buf[n++] = keep ? (char)c : '_';
	}
	buf[n] = '\0';
}

/* Characters a shell leaves alone outside quotes. */
static bool shell_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "_-./=,:@%+", *s))
			return false;
	return true;
}

void vt_rp_shell_word(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);
	bool quote = !shell_safe(s);
#define PUT(c) do { if (n + 1 < len) buf[n++] = (c); } while (0)
	if (n)
		PUT(' ');
	if (quote)
		PUT('\'');
	for (; *s; s++) {
		if (*s == '\'') {      /* ' ends the quotes: '\'' */
			PUT('\'');
			PUT('\\');
			PUT('\'');
			PUT('\'');
		} else {
			PUT(*s);
		}
	}
	if (quote)
		PUT('\'');
#undef PUT
	buf[n < len ? n : len - 1] = '\0';
}
