/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * profile.c - rule profiles: the strict reader of profiles/NAME.profile
 * (the format is in profiles/README.md) and "key=value" overrides.
 *
 * Every problem is one line, "FILE:LINE: reason", or "FILE: reason" when
 * it concerns the whole file (a line that is missing).  A profile that
 * fails to load is left zeroed; an override that fails leaves the profile
 * as it was.  Every rule cites a source that must be in the rule registry
 * (clause.h): a spec clause (DRV-6.1, DEV-6.2), a rule of a proposal
 * (PROP-*) or a platform policy (POL-*).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../clause.h"
#include "../virtio.h"
#include "matrix.h"

#ifndef VCTS_SRCDIR
#define VCTS_SRCDIR "."
#endif

#define PROFILE_SUFFIX ".profile"
#define LINE_MAX_LEN   512     /* longest line, newline included      */
#define MAX_TOKENS     4       /* more than any line may have         */
#define WHY_LEN        384     /* a reason, before FILE:LINE is added */

const char *const vt_mx_shipped_profiles[] = {
	"spec-1.4", "strict-cc", "linux-6.1", "bounce-anyway",
	"identity-address", "no-translation", NULL,
};

const char *const vt_mx_rule_key[MX_NRULES] = {
	[MX_RULE_SECURE_NO_AP]   = "driver.secure-without-access-platform",
	[MX_RULE_DEVICE_REFUSE]  = "device.refuse-without-access-platform",
	[MX_RULE_DRIVER_WIDTH]   = "driver.address-width",
	[MX_RULE_IDENTITY_MAP]   = "identity.map-before",
	[MX_RULE_IDENTITY_WIDTH] = "identity.width-limited",
	[MX_RULE_USED_ID_RANGE]    = "driver.used-id-out-of-range",
	[MX_RULE_USED_ID_NOT_HEAD] = "driver.used-id-not-outstanding",
	[MX_RULE_USED_LEN_LARGE]   = "driver.used-len-too-large",
	[MX_RULE_USED_IDX_JUMP]    = "driver.used-idx-jump",
	[MX_RULE_BALLOON_AP]       = "driver.balloon-access-platform",
};

/* The values a rule takes, indexed by its enum value. */
#define MAX_RULE_VALUES 3
struct rule_def {
	const char *values[MAX_RULE_VALUES];
	bool identity_only;     /* only under ACCESS_PLATFORM_IDENTITY_ADDRESS */
	bool optional;          /* a profile may leave it out                   */
};

static const struct rule_def rule_defs[MX_NRULES] = {
	[MX_RULE_SECURE_NO_AP] = { .identity_only = false, .values = {
		[MX_SECURE_PROCEED] = "proceed",
		[MX_SECURE_REFUSE]  = "refuse",
		[MX_SECURE_BOUNCE]  = "bounce",
	} },
	[MX_RULE_DEVICE_REFUSE] = { .identity_only = false, .values = {
		[MX_DEVREF_NEVER]      = "never",
		[MX_DEVREF_RESTRICTED] = "restricted",
		[MX_DEVREF_ALWAYS]     = "always",
	} },
	[MX_RULE_DRIVER_WIDTH] = { .identity_only = false, .values = {
		[MX_WIDTH_RESPECT] = "respect",
		[MX_WIDTH_IGNORE]  = "ignore",
	} },
	[MX_RULE_IDENTITY_MAP] = { .identity_only = true, .values = {
		[MX_IDMAP_DRIVER_OK]   = "driver-ok",
		[MX_IDMAP_FEATURES_OK] = "features-ok",
	} },
	[MX_RULE_IDENTITY_WIDTH] = { .identity_only = true, .values = { "no", "yes" } },
#define REACTIONS { [MX_REACT_BROKEN] = "queue-broken", [MX_REACT_IGNORED] = "ignored" }
	[MX_RULE_USED_ID_RANGE]    = { .optional = true, .values = REACTIONS },
	[MX_RULE_USED_ID_NOT_HEAD] = { .optional = true, .values = REACTIONS },
	[MX_RULE_USED_LEN_LARGE]   = { .optional = true, .values = REACTIONS },
	[MX_RULE_USED_IDX_JUMP]    = { .optional = true, .values = REACTIONS },
#undef REACTIONS
	[MX_RULE_BALLOON_AP] = { .optional = true, .values = {
		[MX_BALLOON_AP_ACCEPT] = "accept",
		[MX_BALLOON_AP_CLEAR]  = "clear",
	} },
};

static const char *const proposal_names[] = {
	[MX_PROPOSAL_NONE]             = "none",
	[MX_PROPOSAL_IDENTITY_ADDRESS] = "identity-address",
	[MX_PROPOSAL_NO_TRANSLATION]   = "no-translation",
};
#define NPROPOSALS (sizeof(proposal_names) / sizeof(proposal_names[0]))

/* Header lines: each exactly once (proposal-bit only with a proposal). */
enum header { H_NAME, H_TITLE, H_PROPOSAL, H_BIT, H_N };
static const char *const header_key[H_N] = { "name", "title", "proposal", "proposal-bit" };

const char *vt_mx_profile_dir(void)
{
	const char *d = getenv("VCTS_PROFILE_DIR");
	if (d && *d)
		return d;
	return VCTS_SRCDIR "/harness/matrix/profiles";
}

/* ---- values, sources, bits: a reason without a location ------------------ */

static void join(char *buf, size_t len, const char *const *words, size_t n)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		if (!words[i])
			continue;
		int k = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", words[i]);
		if (k < 0)
			break;
		off += (size_t)k;
	}
}

static void all_keys(char *buf, size_t len)
{
	const char *words[H_N + MX_NRULES];
	for (unsigned h = 0; h < H_N; h++)
		words[h] = header_key[h];
	for (unsigned r = 0; r < MX_NRULES; r++)
		words[H_N + r] = vt_mx_rule_key[r];
	join(buf, len, words, H_N + MX_NRULES);
}

static int find_rule(const char *key)
{
	for (unsigned r = 0; r < MX_NRULES; r++)
		if (strcmp(vt_mx_rule_key[r], key) == 0)
			return (int)r;
	return -1;
}

static int find_header(const char *key)
{
	for (unsigned h = 0; h < H_N; h++)
		if (strcmp(header_key[h], key) == 0)
			return (int)h;
	return -1;
}

static int rule_value(enum vt_mx_rule r, const char *tok, unsigned *out, char *why)
{
	const struct rule_def *d = &rule_defs[r];
	for (unsigned v = 0; v < MAX_RULE_VALUES; v++) {
		if (d->values[v] && strcmp(d->values[v], tok) == 0) {
			*out = v;
			return 0;
		}
	}
	char allowed[128];
	join(allowed, sizeof(allowed), d->values, MAX_RULE_VALUES);
	if (!*tok)
		snprintf(why, WHY_LEN, "%s: missing value (allowed: %s)", vt_mx_rule_key[r], allowed);
	else
		snprintf(why, WHY_LEN, "%s: unknown value '%s' (allowed: %s)", vt_mx_rule_key[r],
			 tok, allowed);
	return -1;
}

static void rule_put(struct vt_profile *p, enum vt_mx_rule r, unsigned v)
{
	switch (r) {
	case MX_RULE_SECURE_NO_AP:
		p->secure_no_ap = (enum vt_mx_secure_no_ap)v;
		break;
	case MX_RULE_DEVICE_REFUSE:
		p->device_refuse = (enum vt_mx_device_refuse)v;
		break;
	case MX_RULE_DRIVER_WIDTH:
		p->driver_width = (enum vt_mx_driver_width)v;
		break;
	case MX_RULE_IDENTITY_MAP:
		p->identity_map = (enum vt_mx_identity_map)v;
		break;
	case MX_RULE_IDENTITY_WIDTH:
		p->identity_width_limited = v != 0;
		break;
	case MX_RULE_USED_ID_RANGE: case MX_RULE_USED_ID_NOT_HEAD:
	case MX_RULE_USED_LEN_LARGE: case MX_RULE_USED_IDX_JUMP:
		p->reaction[r] = (enum vt_mx_reaction)v;
		break;
	case MX_RULE_BALLOON_AP:
		p->balloon_ap = (enum vt_mx_balloon_ap)v;
		break;
	case MX_NRULES:
		break;
	}
}

/*
 * A source is a registered id that states a rule: a spec clause (DRV-,
 * DEV-), a rule of a proposal (PROP-) or a platform policy (POL-).  The
 * INV- ids are what a cell checks, not where a profile's choice comes from.
 */
static int check_source(enum vt_mx_rule r, const char *id, char *why)
{
	const char *key = vt_mx_rule_key[r];
	const struct vt_clause *c = vt_clause_lookup(id);
	if (!c || strlen(id) >= sizeof(((struct vt_mx_rule_src *)0)->source)) {
		snprintf(why, WHY_LEN, "%s: unknown source '%s' (not in the rule registry)", key, id);
		return -1;
	}
	if (c->kind == VT_CLAUSE_INVARIANT && strncmp(id, "INV-", 4) == 0) {
		snprintf(why, WHY_LEN,
			 "%s: source '%s' is an invariant; cite a spec clause (DRV-, DEV-), "
			 "a proposal rule (PROP-) or a policy (POL-)", key, id);
		return -1;
	}
	return 0;
}

/*
 * A proposed bit must be one that v1.4 leaves free and legacy never used:
 * 25, 26 and 31 of the range reserved for extensions to the queue and
 * feature negotiation mechanisms (24 to 40, and 43), and 44 to 49,
 * reserved for future extensions.
 */
static bool bit_allowed(unsigned b)
{
	return b == 25 || b == 26 || b == 31 || (b >= 44 && b <= 49);
}

/* Who holds a bit that is not allowed. */
static const char *bit_owner(unsigned b)
{
	static const char *const named[64] = {
		[24] = "VIRTIO_F_NOTIFY_ON_EMPTY (legacy)",
		[27] = "VIRTIO_F_ANY_LAYOUT (legacy)",
		[30] = "bit 30 (legacy: UNUSED, early virtio check)",
		[VIRTIO_F_INDIRECT_DESC]     = "VIRTIO_F_INDIRECT_DESC",
		[VIRTIO_F_EVENT_IDX]         = "VIRTIO_F_EVENT_IDX",
		[VIRTIO_F_VERSION_1]         = "VIRTIO_F_VERSION_1",
		[VIRTIO_F_ACCESS_PLATFORM]   = "VIRTIO_F_ACCESS_PLATFORM",
		[VIRTIO_F_RING_PACKED]       = "VIRTIO_F_RING_PACKED",
		[VIRTIO_F_IN_ORDER]          = "VIRTIO_F_IN_ORDER",
		[VIRTIO_F_ORDER_PLATFORM]    = "VIRTIO_F_ORDER_PLATFORM",
		[VIRTIO_F_SR_IOV]            = "VIRTIO_F_SR_IOV",
		[VIRTIO_F_NOTIFICATION_DATA] = "VIRTIO_F_NOTIFICATION_DATA",
		[VIRTIO_F_NOTIF_CONFIG_DATA] = "VIRTIO_F_NOTIF_CONFIG_DATA",
		[VIRTIO_F_RING_RESET]        = "VIRTIO_F_RING_RESET",
		[VIRTIO_F_ADMIN_VQ]          = "VIRTIO_F_ADMIN_VQ",
		[VIRTIO_F_SUSPEND]           = "VIRTIO_F_SUSPEND",
	};
	if (b >= 64)
		return "beyond the 64 feature bits a cell negotiates";
	if (named[b])
		return named[b];
	return "a device-type feature bit";
}

static int parse_bit(const char *tok, unsigned *out, char *why)
{
	size_t n = strlen(tok);
	if (n == 0 || n > 3 || strspn(tok, "0123456789") != n) {
		snprintf(why, WHY_LEN, "proposal-bit: '%s' is not a bit number", tok);
		return -1;
	}
	unsigned b = (unsigned)strtoul(tok, NULL, 10);
	if (!bit_allowed(b)) {
		snprintf(why, WHY_LEN,
			 "proposal-bit %u is not allowed: it is %s (allowed: 25, 26, 31, 44..49)",
			 b, bit_owner(b));
		return -1;
	}
	*out = b;
	return 0;
}

/* ---- consistency of a whole profile --------------------------------------- */

struct problem {
	unsigned line;          /* 0: the whole profile */
	char what[WHY_LEN];
};

static bool rule_given(const struct vt_profile *p, enum vt_mx_rule r)
{
	return p->src[r].source[0] != '\0';
}

/* Whether rule r may appear under the profile's proposal. */
static int rule_applies(const struct vt_profile *p, enum vt_mx_rule r, char *why)
{
	if (!rule_defs[r].identity_only || p->proposal == MX_PROPOSAL_IDENTITY_ADDRESS)
		return 0;
	snprintf(why, WHY_LEN, "%s applies only with proposal %s (proposal is %s)",
		 vt_mx_rule_key[r], proposal_names[MX_PROPOSAL_IDENTITY_ADDRESS],
		 proposal_names[p->proposal]);
	return -1;
}

/*
 * Rules every profile has, rules only its proposal allows, and the
 * proposal's bit.  bit_line: where proposal-bit was read (0: unknown).
 */
static int check_profile(const struct vt_profile *p, unsigned bit_line, struct problem *pb)
{
	for (unsigned r = 0; r < MX_NRULES; r++) {
		enum vt_mx_rule rr = (enum vt_mx_rule)r;
		bool needed = !rule_defs[r].optional && (!rule_defs[r].identity_only ||
			      p->proposal == MX_PROPOSAL_IDENTITY_ADDRESS);
		if (needed && !rule_given(p, rr)) {
			pb->line = 0;
			if (rule_defs[r].identity_only)
				snprintf(pb->what, WHY_LEN, "proposal %s needs rule %s",
					 proposal_names[p->proposal], vt_mx_rule_key[r]);
			else
				snprintf(pb->what, WHY_LEN, "missing rule %s", vt_mx_rule_key[r]);
			return -1;
		}
		if (rule_given(p, rr) && rule_applies(p, rr, pb->what) < 0) {
			pb->line = p->src[r].line;
			return -1;
		}
	}
	if (p->proposal == MX_PROPOSAL_NONE && p->proposal_bit) {
		pb->line = bit_line;
		snprintf(pb->what, WHY_LEN, "proposal-bit %u without a proposal (proposal is none)",
			 p->proposal_bit);
		return -1;
	}
	if (p->proposal != MX_PROPOSAL_NONE && !p->proposal_bit) {
		pb->line = 0;
		snprintf(pb->what, WHY_LEN, "proposal %s needs a proposal-bit line",
			 proposal_names[p->proposal]);
		return -1;
	}
	return 0;
}

/* ---- the file reader ------------------------------------------------------ */

struct reader {
	const char *path;
	char base[64];              /* file name without directory and suffix */
	struct vt_profile p;
	unsigned hline[H_N];        /* where each header was read            */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail_at(const struct reader *rd, unsigned line, const char *fmt, ...)
{
	char what[WHY_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(rd->err, rd->errlen, "%s:%u: %s", rd->path, line, what);
	else
		snprintf(rd->err, rd->errlen, "%s: %s", rd->path, what);
	return -1;
}

struct tokens {
	unsigned n;                 /* all tokens after the key */
	char *t[MAX_TOKENS];        /* the first MAX_TOKENS     */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void split(char *s, struct tokens *tk)
{
	tk->n = 0;
	for (;;) {
		while (is_blank(*s))
			s++;
		if (!*s)
			return;
		if (tk->n < MAX_TOKENS)
			tk->t[tk->n] = s;
		tk->n++;
		while (*s && !is_blank(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/* Drop the comment and the blanks around what is left. */
static char *strip(char *s)
{
	char *hash = strchr(s, '#');
	if (hash)
		*hash = '\0';
	while (is_blank(*s))
		s++;
	size_t n = strlen(s);
	while (n && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* title TEXT...: the rest of the line. */
static int title_line(struct reader *rd, unsigned line, const char *text)
{
	while (is_blank(*text))
		text++;
	if (!*text)
		return fail_at(rd, line, "title: missing text");
	if (strlen(text) >= sizeof(rd->p.title))
		return fail_at(rd, line, "title: longer than %zu characters",
			       sizeof(rd->p.title) - 1);
	strcpy(rd->p.title, text);
	return 0;
}

static int one_value(struct reader *rd, unsigned line, const char *key, const struct tokens *tk)
{
	if (tk->n == 1)
		return 0;
	if (tk->n == 0)
		return fail_at(rd, line, "%s: missing value", key);
	return fail_at(rd, line, "%s: expected one value, got %u", key, tk->n);
}

static int header_line(struct reader *rd, unsigned line, enum header h, const struct tokens *tk)
{
	char why[WHY_LEN];
	if (one_value(rd, line, header_key[h], tk) < 0)
		return -1;
	const char *v = tk->t[0];
	switch (h) {
	case H_NAME:
		if (strcmp(v, rd->base) != 0)
			return fail_at(rd, line, "name '%s' does not match the file name '%s%s'",
				       v, rd->base, PROFILE_SUFFIX);
		strcpy(rd->p.name, v);   /* fits: base does */
		return 0;
	case H_PROPOSAL:
		for (unsigned i = 0; i < NPROPOSALS; i++) {
			if (strcmp(proposal_names[i], v) == 0) {
				rd->p.proposal = (enum vt_mx_proposal)i;
				return 0;
			}
		}
		join(why, sizeof(why), proposal_names, NPROPOSALS);
		return fail_at(rd, line, "proposal: unknown value '%s' (allowed: %s)", v, why);
	case H_BIT:
		if (parse_bit(v, &rd->p.proposal_bit, why) < 0)
			return fail_at(rd, line, "%s", why);
		return 0;
	case H_TITLE:
	case H_N:
		break;
	}
	return 0;
}

/* KEY VALUE SOURCE */
static int rule_line(struct reader *rd, unsigned line, enum vt_mx_rule r, const struct tokens *tk)
{
	char why[WHY_LEN];
	const char *key = vt_mx_rule_key[r];
	if (tk->n == 0)
		return fail_at(rd, line, "%s: missing value and source", key);
	if (tk->n == 1)
		return fail_at(rd, line, "%s: missing source after '%s'", key, tk->t[0]);
	if (tk->n > 2)
		return fail_at(rd, line, "%s: %u tokens, expected 3: KEY VALUE SOURCE", key,
			       tk->n + 1);
	if (rd->p.src[r].line)
		return fail_at(rd, line, "duplicate key %s (first at line %u)", key,
			       rd->p.src[r].line);
	unsigned v;
	if (rule_value(r, tk->t[0], &v, why) < 0 || check_source(r, tk->t[1], why) < 0)
		return fail_at(rd, line, "%s", why);
	rule_put(&rd->p, r, v);
	strcpy(rd->p.src[r].source, tk->t[1]);   /* fits: check_source */
	rd->p.src[r].line = line;
	return 0;
}

static int one_line(struct reader *rd, unsigned line, char *text)
{
	char *key = strip(text);
	if (!*key)
		return 0;
	char *rest = key;
	while (*rest && !is_blank(*rest))
		rest++;
	if (*rest)
		*rest++ = '\0';

	int h = find_header(key);
	if (h >= 0 && rd->hline[h])
		return fail_at(rd, line, "duplicate key %s (first at line %u)", key, rd->hline[h]);
	if (h >= 0)
		rd->hline[h] = line;
	if (h == H_TITLE)
		return title_line(rd, line, rest);
	struct tokens tk;
	split(rest, &tk);
	if (h >= 0)
		return header_line(rd, line, (enum header)h, &tk);
	int r = find_rule(key);
	if (r >= 0)
		return rule_line(rd, line, (enum vt_mx_rule)r, &tk);
	char keys[WHY_LEN];
	all_keys(keys, sizeof(keys));
	return fail_at(rd, line, "unknown key '%s' (keys: %s)", key, keys);
}

static int read_lines(struct reader *rd, FILE *fp)
{
	char buf[LINE_MAX_LEN];
	unsigned line = 0;
	while (fgets(buf, sizeof(buf), fp)) {
		line++;
		size_t n = strlen(buf);
		if (n == sizeof(buf) - 1 && buf[n - 1] != '\n' && !feof(fp))
			return fail_at(rd, line, "line longer than %d characters", LINE_MAX_LEN - 2);
		if (one_line(rd, line, buf) < 0)
			return -1;
	}
	if (ferror(fp))
		return fail_at(rd, 0, "cannot read: %s", strerror(errno));
	return 0;
}

static int finish(struct reader *rd)
{
	for (unsigned h = 0; h < H_N; h++)
		if (h != H_BIT && !rd->hline[h])
			return fail_at(rd, 0, "missing %s line", header_key[h]);
	struct problem pb;
	if (check_profile(&rd->p, rd->hline[H_BIT], &pb) < 0)
		return fail_at(rd, pb.line, "%s", pb.what);
	return 0;
}

static void base_name(const char *path, char *out, size_t len)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(b), sl = strlen(PROFILE_SUFFIX);
	if (n >= sl && strcmp(b + n - sl, PROFILE_SUFFIX) == 0)
		n -= sl;
	if (n >= len)
		n = 0;            /* too long to be a profile name: nothing matches */
	memcpy(out, b, n);
	out[n] = '\0';
}

static bool is_path(const char *name)
{
	size_t n = strlen(name), sl = strlen(PROFILE_SUFFIX);
	return strchr(name, '/') || (n >= sl && strcmp(name + n - sl, PROFILE_SUFFIX) == 0);
}

static int read_profile(struct reader *rd)
{
	if (!vt_clause_loaded())
		return fail_at(rd, 0, "cannot check sources: the rule registry is not loaded");
	FILE *fp = fopen(rd->path, "r");
	if (!fp)
		return fail_at(rd, 0, "cannot read: %s", strerror(errno));
	int rc = read_lines(rd, fp);
	fclose(fp);
	if (rc < 0)
		return -1;
	return finish(rd);
}

int vt_mx_profile_load(const char *name, struct vt_profile *p, char *err, size_t errlen)
{
	struct reader rd = { .path = name, .err = err, .errlen = errlen };
	char path[sizeof(p->file)];
	memset(p, 0, sizeof(*p));
	if (!*name)
		return fail_at(&rd, 0, "empty profile name");
	int n;
	if (is_path(name))
		n = snprintf(path, sizeof(path), "%s", name);
	else
		n = snprintf(path, sizeof(path), "%s/%s%s", vt_mx_profile_dir(), name,
			     PROFILE_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(path))
		return fail_at(&rd, 0, "path longer than %zu characters", sizeof(path) - 1);
	rd.path = path;
	base_name(path, rd.base, sizeof(rd.base));
	if (read_profile(&rd) < 0)
		return -1;
	*p = rd.p;
	strcpy(p->file, path);
	return 0;
}

/* ---- overrides -------------------------------------------------------------- */

static int set_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

int vt_mx_profile_set(struct vt_profile *p, const char *kv, char *err, size_t errlen)
{
	char why[WHY_LEN], key[64];
	if (!p->name[0])
		return set_fail(err, errlen, "no profile loaded");
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : 0;
	if (!eq || klen == 0 || klen >= sizeof(key)) {
		snprintf(why, sizeof(why), "'%s' is not KEY=VALUE", kv);
		return set_fail(err, errlen, why);
	}
	memcpy(key, kv, klen);
	key[klen] = '\0';
	const char *val = eq + 1;

	struct vt_profile q = *p;
	int r = find_rule(key);
	int h = find_header(key);
	if (r >= 0) {
		unsigned v;
		if (rule_applies(&q, (enum vt_mx_rule)r, why) < 0 ||
		    rule_value((enum vt_mx_rule)r, val, &v, why) < 0)
			return set_fail(err, errlen, why);
		rule_put(&q, (enum vt_mx_rule)r, v);
	} else if (h == H_BIT) {
		if (parse_bit(val, &q.proposal_bit, why) < 0)
			return set_fail(err, errlen, why);
	} else if (h >= 0) {
		snprintf(why, sizeof(why),
			 "%s is fixed by the profile file; overrides: proposal-bit and the rules", key);
		return set_fail(err, errlen, why);
	} else {
		char keys[WHY_LEN];
		all_keys(keys, sizeof(keys));
		snprintf(err, errlen, "unknown key '%s' (keys: %s)", key, keys);
		return -1;
	}
	struct problem pb;
	if (check_profile(&q, 0, &pb) < 0)
		return set_fail(err, errlen, pb.what);
	*p = q;
	return 0;
}
