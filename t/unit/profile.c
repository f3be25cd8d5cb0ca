/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the rule profiles: every shipped profile loads with the
 * values and sources it is meant to have; every class of error in a
 * profile file is reported as "FILE:LINE: reason" (or "FILE: reason") and
 * leaves the profile zeroed; "key=value" overrides change a rule but keep
 * its source, and refuse what the file would refuse.
 *
 * Scratch files go to a private directory under $TMPDIR (or /tmp), removed
 * at the end.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "harness/clause.h"
#include "harness/matrix/matrix.h"

static char tmp[256];
static char err[1024];

/* ---- scratch files -------------------------------------------------------- */

static const char *scratch(const char *file)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, file);
	return path;
}

static const char *write_file(const char *file, const char *text)
{
	const char *path = scratch(file);
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	CU_ASSERT_EQUAL_FATAL(fclose(fp), 0);
	return path;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char path[768];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* The three rules every profile needs, valid. */
#define RULES \
	"driver.secure-without-access-platform refuse POL-cc-secure-refuses\n" \
	"device.refuse-without-access-platform never POL-spec-device-may-fail\n" \
	"driver.address-width respect DRV-6.1\n"

/* A profile "bad" without a proposal: lines 1-3 header, 4-6 rules. */
#define BAD_HEAD "name bad\ntitle a profile\nproposal none\n"
#define BAD_OK   BAD_HEAD RULES

static bool is_zero(const struct vt_profile *p)
{
	static const struct vt_profile zero;
	return memcmp(p, &zero, sizeof(zero)) == 0;
}

/*
 * Load `text` as FILE and expect the error "FILE:LINE: ..." (line 0:
 * "FILE: ...") holding `word`, with the profile left zeroed.
 */
static void expect_error_in(const char *file, const char *text, unsigned line, const char *word)
{
	const char *path = write_file(file, text);
	char prefix[600];
	if (line)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	struct vt_profile p;
	memset(&p, 0xa5, sizeof(p));
	err[0] = '\0';
	CU_ASSERT_EQUAL(vt_mx_profile_load(path, &p, err, sizeof(err)), -1);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, word))
		fprintf(stderr, "\n  expected '%s...%s...', got '%s'\n", prefix, word, err);
	CU_ASSERT_EQUAL(strncmp(err, prefix, strlen(prefix)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, word));
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	CU_ASSERT_TRUE(is_zero(&p));
}

static void expect_error(const char *text, unsigned line, const char *word)
{
	expect_error_in("bad.profile", text, line, word);
}

static void load_ok(const char *name, struct vt_profile *p)
{
	err[0] = '\0';
	int rc = vt_mx_profile_load(name, p, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "\n  %s: %s\n", name, err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* ---- the shipped profiles ---------------------------------------------------- */

struct expect {
	const char *name;
	enum vt_mx_proposal proposal;
	unsigned bit;
	enum vt_mx_secure_no_ap secure;
	enum vt_mx_device_refuse devref;
	enum vt_mx_driver_width width;
	enum vt_mx_identity_map idmap;
	bool idwidth;
	const char *src[MX_NRULES];     /* NULL: the rule is absent */
	enum vt_mx_reaction react[MX_NRULES]; /* the driver.used-* rules */
};

static const struct expect shipped[] = {
	{ "spec-1.4", MX_PROPOSAL_NONE, 0, MX_SECURE_PROCEED, MX_DEVREF_NEVER, MX_WIDTH_RESPECT,
	  0, false, { "DRV-6.1", "POL-spec-device-may-fail", "DRV-6.1", NULL, NULL }, { MX_REACT_UNSAID } },
	{ "strict-cc", MX_PROPOSAL_NONE, 0, MX_SECURE_REFUSE, MX_DEVREF_RESTRICTED,
	  MX_WIDTH_RESPECT, 0, false,
	  { "POL-cc-secure-refuses", "POL-cc-device-refuses", "DRV-6.1", NULL, NULL }, { MX_REACT_UNSAID } },
	{ "linux-6.1", MX_PROPOSAL_NONE, 0, MX_SECURE_REFUSE, MX_DEVREF_ALWAYS, MX_WIDTH_IGNORE,
	  0, false,
	  { "POL-linux61-secure-refuses", "POL-qemu-refuses-without-ap", "POL-linux61-dma-mask",
	    NULL, NULL, "POL-linux61-bad-ring", "POL-linux61-bad-ring",
	    "POL-linux61-used-len-unchecked", "POL-linux61-bad-ring",
	    "POL-linux61-balloon-clears-ap" },
	  { [MX_RULE_USED_ID_RANGE] = MX_REACT_BROKEN, [MX_RULE_USED_ID_NOT_HEAD] = MX_REACT_BROKEN,
	    [MX_RULE_USED_LEN_LARGE] = MX_REACT_IGNORED, [MX_RULE_USED_IDX_JUMP] = MX_REACT_BROKEN } },
	{ "bounce-anyway", MX_PROPOSAL_NONE, 0, MX_SECURE_BOUNCE, MX_DEVREF_NEVER,
	  MX_WIDTH_RESPECT, 0, false,
	  { "PROP-ba-bounce", "POL-spec-device-may-fail", "DRV-6.1", NULL, NULL }, { MX_REACT_UNSAID } },
	{ "identity-address", MX_PROPOSAL_IDENTITY_ADDRESS, 25, MX_SECURE_REFUSE,
	  MX_DEVREF_NEVER, MX_WIDTH_RESPECT, MX_IDMAP_DRIVER_OK, true,
	  { "POL-cc-secure-refuses", "POL-spec-device-may-fail", "DRV-6.1",
	    "PROP-ia-complete-map", "PROP-ia-width" }, { MX_REACT_UNSAID } },
	{ "no-translation", MX_PROPOSAL_NO_TRANSLATION, 26, MX_SECURE_REFUSE, MX_DEVREF_NEVER,
	  MX_WIDTH_RESPECT, 0, false,
	  { "POL-cc-secure-refuses", "POL-spec-device-may-fail", "DRV-6.1", NULL, NULL }, { MX_REACT_UNSAID } },
};
#define NSHIPPED (sizeof(shipped) / sizeof(shipped[0]))

static void test_rule_keys(void)
{
	CU_ASSERT_STRING_EQUAL(vt_mx_rule_key[MX_RULE_SECURE_NO_AP],
			       "driver.secure-without-access-platform");
	CU_ASSERT_STRING_EQUAL(vt_mx_rule_key[MX_RULE_DEVICE_REFUSE],
			       "device.refuse-without-access-platform");
	CU_ASSERT_STRING_EQUAL(vt_mx_rule_key[MX_RULE_DRIVER_WIDTH], "driver.address-width");
	CU_ASSERT_STRING_EQUAL(vt_mx_rule_key[MX_RULE_IDENTITY_MAP], "identity.map-before");
	CU_ASSERT_STRING_EQUAL(vt_mx_rule_key[MX_RULE_IDENTITY_WIDTH], "identity.width-limited");
	CU_ASSERT_STRING_EQUAL(vt_mx_rule_key[MX_RULE_USED_ID_RANGE], "driver.used-id-out-of-range");
	CU_ASSERT_STRING_EQUAL(vt_mx_rule_key[MX_RULE_USED_IDX_JUMP], "driver.used-idx-jump");
}

static void test_shipped_list(void)
{
	size_t n = 0;
	while (vt_mx_shipped_profiles[n])
		n++;
	CU_ASSERT_EQUAL_FATAL(n, NSHIPPED);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_STRING_EQUAL(vt_mx_shipped_profiles[i], shipped[i].name);
}

static void check_shipped(const struct expect *x)
{
	struct vt_profile p;
	load_ok(x->name, &p);
	CU_ASSERT_STRING_EQUAL(p.name, x->name);
	CU_ASSERT_TRUE(strlen(p.title) > 10);
	char tail[80];
	snprintf(tail, sizeof(tail), "/%s.profile", x->name);
	size_t fl = strlen(p.file), tl = strlen(tail);
	CU_ASSERT_TRUE(fl > tl && strcmp(p.file + fl - tl, tail) == 0);
	CU_ASSERT_EQUAL(p.proposal, x->proposal);
	CU_ASSERT_EQUAL(p.proposal_bit, x->bit);
	CU_ASSERT_EQUAL(p.secure_no_ap, x->secure);
	CU_ASSERT_EQUAL(p.device_refuse, x->devref);
	CU_ASSERT_EQUAL(p.driver_width, x->width);
	CU_ASSERT_EQUAL(p.identity_map, x->idmap);
	CU_ASSERT_EQUAL(p.identity_width_limited, x->idwidth);
	for (unsigned r = 0; r < MX_NRULES; r++)
		CU_ASSERT_EQUAL(p.reaction[r], x->react[r]);
	for (unsigned r = 0; r < MX_NRULES; r++) {
		if (!x->src[r]) {
			CU_ASSERT_STRING_EQUAL(p.src[r].source, "");
			CU_ASSERT_EQUAL(p.src[r].line, 0);
			continue;
		}
		if (strcmp(p.src[r].source, x->src[r]) != 0)
			fprintf(stderr, "\n  %s %s: source %s, expected %s\n", x->name,
				vt_mx_rule_key[r], p.src[r].source, x->src[r]);
		CU_ASSERT_STRING_EQUAL(p.src[r].source, x->src[r]);
		CU_ASSERT_TRUE(p.src[r].line > 0);
	}
}

static void test_shipped_values(void)
{
	for (size_t i = 0; i < NSHIPPED; i++)
		check_shipped(&shipped[i]);
}

/* The profile directory holds the shipped profiles and no other. */
static void test_shipped_dir(void)
{
	DIR *d = opendir(vt_mx_profile_dir());
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	unsigned seen = 0, found = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n <= 8 || strcmp(e->d_name + n - 8, ".profile") != 0)
			continue;
		found++;
		for (size_t i = 0; i < NSHIPPED; i++)
			if (strlen(shipped[i].name) == n - 8 &&
			    strncmp(shipped[i].name, e->d_name, n - 8) == 0)
				seen |= 1u << i;
		if (found > 32)
			break;
	}
	closedir(d);
	CU_ASSERT_EQUAL(found, NSHIPPED);
	CU_ASSERT_EQUAL(seen, (1u << NSHIPPED) - 1);
}

/* ---- the profile directory ---------------------------------------------------- */

static void test_profile_dir(void)
{
	const char *old = getenv("VCTS_PROFILE_DIR");
	char saved[512] = "";
	if (old)
		snprintf(saved, sizeof(saved), "%s", old);

	CU_ASSERT_EQUAL_FATAL(unsetenv("VCTS_PROFILE_DIR"), 0);
	const char *def = vt_mx_profile_dir();
	const char *tail = "/harness/matrix/profiles";
	size_t dl = strlen(def), tl = strlen(tail);
	CU_ASSERT_TRUE(dl > tl && strcmp(def + dl - tl, tail) == 0);

	CU_ASSERT_EQUAL_FATAL(setenv("VCTS_PROFILE_DIR", tmp, 1), 0);
	CU_ASSERT_STRING_EQUAL(vt_mx_profile_dir(), tmp);
	write_file("mine.profile", "name mine\ntitle mine\nproposal none\n" RULES);
	struct vt_profile p;
	load_ok("mine", &p);
	CU_ASSERT_STRING_EQUAL(p.name, "mine");
	CU_ASSERT_STRING_EQUAL(p.file, scratch("mine.profile"));
	/* A shipped name is looked up in the directory set, not elsewhere. */
	CU_ASSERT_EQUAL(vt_mx_profile_load("strict-cc", &p, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "strict-cc.profile"));

	if (saved[0])
		setenv("VCTS_PROFILE_DIR", saved, 1);
	else
		unsetenv("VCTS_PROFILE_DIR");
}

/* ---- what the format allows ---------------------------------------------------- */

static void test_format_freedoms(void)
{
	/* Comments, tabs, CRLF, headers after rules, trailing comments. */
	const char *path = write_file("free.profile",
		"# leading comment\r\n"
		"\r\n"
		"driver.address-width\tignore\t POL-linux61-dma-mask   # why\r\n"
		"   device.refuse-without-access-platform always DEV-6.2\n"
		"driver.secure-without-access-platform bounce PROP-ba-bounce\n"
		"identity.width-limited no PROP-ia-width\n"
		"identity.map-before features-ok PROP-ia-complete-map\n"
		"title   a  spaced   title   # not part of it\n"
		"proposal identity-address\n"
		"proposal-bit 49\n"
		"name free\n"
		"   # indented comment\n");
	struct vt_profile p;
	load_ok(path, &p);
	CU_ASSERT_STRING_EQUAL(p.name, "free");
	CU_ASSERT_STRING_EQUAL(p.title, "a  spaced   title");
	CU_ASSERT_STRING_EQUAL(p.file, path);
	CU_ASSERT_EQUAL(p.proposal, MX_PROPOSAL_IDENTITY_ADDRESS);
	CU_ASSERT_EQUAL(p.proposal_bit, 49);
	CU_ASSERT_EQUAL(p.driver_width, MX_WIDTH_IGNORE);
	CU_ASSERT_EQUAL(p.device_refuse, MX_DEVREF_ALWAYS);
	CU_ASSERT_EQUAL(p.secure_no_ap, MX_SECURE_BOUNCE);
	CU_ASSERT_EQUAL(p.identity_map, MX_IDMAP_FEATURES_OK);
	CU_ASSERT_EQUAL(p.identity_width_limited, false);
	CU_ASSERT_STRING_EQUAL(p.src[MX_RULE_DRIVER_WIDTH].source, "POL-linux61-dma-mask");
	CU_ASSERT_EQUAL(p.src[MX_RULE_DRIVER_WIDTH].line, 3);
	CU_ASSERT_STRING_EQUAL(p.src[MX_RULE_DEVICE_REFUSE].source, "DEV-6.2");
	CU_ASSERT_EQUAL(p.src[MX_RULE_DEVICE_REFUSE].line, 4);
	CU_ASSERT_EQUAL(p.src[MX_RULE_IDENTITY_MAP].line, 7);

	/* Every allowed bit loads. */
	static const unsigned bits[] = { 25, 26, 31, 44, 45, 46, 47, 48, 49 };
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 "name nt\ntitle t\nproposal no-translation\nproposal-bit %u\n" RULES,
			 bits[i]);
		load_ok(write_file("nt.profile", text), &p);
		CU_ASSERT_EQUAL(p.proposal_bit, bits[i]);
		CU_ASSERT_EQUAL(p.proposal, MX_PROPOSAL_NO_TRANSLATION);
	}
	/* The good base of the error cases loads. */
	load_ok(write_file("bad.profile", BAD_OK), &p);
	CU_ASSERT_EQUAL(p.secure_no_ap, MX_SECURE_REFUSE);
}

/* ---- errors, one class at a time ---------------------------------------------- */

static void test_err_unreadable(void)
{
	char word[128];
	snprintf(word, sizeof(word), "cannot read: %s", strerror(ENOENT));
	const char *path = scratch("absent.profile");
	char prefix[800];
	snprintf(prefix, sizeof(prefix), "%s: %s", path, word);
	struct vt_profile p;
	memset(&p, 0x5a, sizeof(p));
	CU_ASSERT_EQUAL(vt_mx_profile_load(path, &p, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, prefix);
	CU_ASSERT_TRUE(is_zero(&p));

	/* A directory opens but cannot be read. */
	const char *dir = scratch("dir.profile");
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	snprintf(prefix, sizeof(prefix), "%s: cannot read: %s", dir, strerror(EISDIR));
	memset(&p, 0x5a, sizeof(p));
	CU_ASSERT_EQUAL(vt_mx_profile_load(dir, &p, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, prefix);
	CU_ASSERT_TRUE(is_zero(&p));
	rmdir(dir);

	memset(&p, 0x5a, sizeof(p));
	CU_ASSERT_EQUAL(vt_mx_profile_load("", &p, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty profile name"));
	CU_ASSERT_TRUE(is_zero(&p));
}

static void test_err_unknown_key(void)
{
	expect_error(BAD_HEAD "driver.width respect DRV-6.1\n" RULES, 4, "unknown key 'driver.width'");
	expect_error(BAD_HEAD "Name bad\n" RULES, 4, "unknown key 'Name'");
	/* the reason lists the keys */
	expect_error(BAD_HEAD "foo bar\n", 4, "identity.width-limited");
}

static void test_err_unknown_value(void)
{
	expect_error(BAD_HEAD
		     "driver.secure-without-access-platform refuse POL-cc-secure-refuses\n"
		     "device.refuse-without-access-platform never POL-spec-device-may-fail\n"
		     "driver.address-width obey DRV-6.1\n", 6,
		     "unknown value 'obey' (allowed: respect, ignore)");
	expect_error(BAD_HEAD "driver.secure-without-access-platform Refuse DRV-6.1\n", 4,
		     "(allowed: proceed, refuse, bounce)");
	expect_error(BAD_HEAD "device.refuse-without-access-platform sometimes DEV-6.2\n", 4,
		     "(allowed: never, restricted, always)");
	expect_error("name bad\ntitle t\nproposal maybe\n", 3,
		     "proposal: unknown value 'maybe' (allowed: none, identity-address, "
		     "no-translation)");
	expect_error("name bad\ntitle t\nproposal identity-address\nproposal-bit 25\n"
		     "identity.map-before driver_ok PROP-ia-complete-map\n", 5,
		     "(allowed: driver-ok, features-ok)");
	expect_error("name bad\ntitle t\nproposal identity-address\nproposal-bit 25\n"
		     "identity.width-limited true PROP-ia-width\n", 5, "(allowed: no, yes)");
}

static void test_err_token_count(void)
{
	expect_error(BAD_HEAD "driver.address-width respect DRV-6.1 extra\n", 4,
		     "4 tokens, expected 3");
	expect_error(BAD_HEAD "driver.address-width respect DRV-6.1 # fine\n"
		     "driver.secure-without-access-platform refuse POL-cc-secure-refuses x y\n", 5,
		     "5 tokens");
	expect_error(BAD_HEAD "driver.address-width\n", 4, "missing value and source");
	expect_error("name bad extra\n", 1, "name: expected one value, got 2");
	expect_error("name\n", 1, "name: missing value");
	expect_error("name bad\nproposal\n", 2, "proposal: missing value");
	expect_error("name bad\ntitle t\nproposal no-translation\nproposal-bit 25 26\n", 4,
		     "proposal-bit: expected one value");
	expect_error("name bad\ntitle   # only a comment\n", 2, "title: missing text");
	char text[512];
	memset(text, 'x', sizeof(text));
	memcpy(text, "name bad\ntitle ", 15);
	strcpy(text + 15 + 160, "\n");
	expect_error(text, 2, "title: longer than 159");
	memset(text, 'x', sizeof(text));
	text[0] = '#';
	strcpy(text + 511, "");
	expect_error(text, 1, "line longer than 510");
}

static void test_err_missing_source(void)
{
	expect_error(BAD_HEAD "driver.address-width respect\n", 4,
		     "driver.address-width: missing source after 'respect'");
	/* a comment is not a source */
	expect_error(BAD_HEAD "driver.address-width respect #DRV-6.1\n", 4, "missing source");
}

static void test_err_unknown_source(void)
{
	expect_error(BAD_HEAD "driver.address-width respect DRV-99.1\n", 4,
		     "unknown source 'DRV-99.1'");
	expect_error(BAD_HEAD "driver.address-width respect POL-no-such-policy\n", 4,
		     "unknown source");
	expect_error(BAD_HEAD "driver.address-width respect drv-6.1\n", 4, "unknown source");
	/* registered, but an invariant is not where a rule comes from */
	expect_error(BAD_HEAD "driver.address-width respect INV-dma-width\n", 4,
		     "source 'INV-dma-width' is an invariant");

	/* without the registry no source can be checked */
	const char *path = write_file("bad.profile", BAD_OK);
	vt_clause_unload();
	struct vt_profile p;
	memset(&p, 0x5a, sizeof(p));
	int rc = vt_mx_profile_load(path, &p, err, sizeof(err));
	char lerr[256];
	CU_ASSERT_EQUAL_FATAL(vt_clause_load(NULL, lerr, sizeof(lerr)), 0);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "registry is not loaded"));
	CU_ASSERT_TRUE(is_zero(&p));
}

static void test_err_duplicate(void)
{
	expect_error(BAD_OK "driver.address-width ignore POL-linux61-dma-mask\n", 7,
		     "duplicate key driver.address-width (first at line 6)");
	expect_error(BAD_OK "name bad\n", 7, "duplicate key name (first at line 1)");
	expect_error(BAD_OK "title another\n", 7, "duplicate key title (first at line 2)");
	expect_error(BAD_OK "proposal none\n", 7, "duplicate key proposal (first at line 3)");
	expect_error("name bad\ntitle t\nproposal no-translation\nproposal-bit 25\n"
		     "proposal-bit 26\n", 5, "duplicate key proposal-bit (first at line 4)");
}

static void test_err_name(void)
{
	expect_error("name other\n", 1, "name 'other' does not match the file name 'bad.profile'");
	expect_error_in("strict-cc.profile", "title t\nname strict\n", 2,
			"name 'strict' does not match the file name 'strict-cc.profile'");
	/* a path without the suffix: its whole base name is the name */
	expect_error_in("plain", "name plain.profile\n", 1, "does not match");
	struct vt_profile p;
	load_ok(write_file("plain", "name plain\ntitle t\nproposal none\n" RULES), &p);
	CU_ASSERT_STRING_EQUAL(p.name, "plain");
}

static void test_err_missing(void)
{
	expect_error("title t\nproposal none\n" RULES, 0, "missing name line");
	expect_error("name bad\nproposal none\n" RULES, 0, "missing title line");
	expect_error("name bad\ntitle t\n" RULES, 0, "missing proposal line");
	expect_error("", 0, "missing name line");
	expect_error(BAD_HEAD
		     "driver.secure-without-access-platform refuse POL-cc-secure-refuses\n"
		     "device.refuse-without-access-platform never POL-spec-device-may-fail\n", 0,
		     "missing rule driver.address-width");
	expect_error(BAD_HEAD
		     "device.refuse-without-access-platform never POL-spec-device-may-fail\n"
		     "driver.address-width respect DRV-6.1\n", 0,
		     "missing rule driver.secure-without-access-platform");
	expect_error(BAD_HEAD
		     "driver.secure-without-access-platform refuse POL-cc-secure-refuses\n"
		     "driver.address-width respect DRV-6.1\n", 0,
		     "missing rule device.refuse-without-access-platform");
}

static void test_err_identity_rules(void)
{
	const char *ia = "name bad\ntitle t\nproposal identity-address\nproposal-bit 25\n" RULES;
	char text[1024];
	snprintf(text, sizeof(text), "%sidentity.map-before driver-ok PROP-ia-complete-map\n", ia);
	expect_error(text, 0, "proposal identity-address needs rule identity.width-limited");
	snprintf(text, sizeof(text), "%sidentity.width-limited yes PROP-ia-width\n", ia);
	expect_error(text, 0, "proposal identity-address needs rule identity.map-before");
	snprintf(text, sizeof(text), "%sidentity.width-limited yes PROP-ia-width\n"
		 "identity.map-before driver-ok PROP-ia-complete-map\n", ia);
	struct vt_profile p;
	load_ok(write_file("bad.profile", text), &p);
	CU_ASSERT_EQUAL(p.identity_width_limited, true);

	/* forbidden under any other proposal, at the rule's line */
	expect_error(BAD_OK "identity.map-before driver-ok PROP-ia-complete-map\n", 7,
		     "identity.map-before applies only with proposal identity-address "
		     "(proposal is none)");
	expect_error("name bad\ntitle t\nproposal no-translation\nproposal-bit 26\n" RULES
		     "# the proposal is another one\n"
		     "identity.width-limited no PROP-ia-width\n", 9,
		     "(proposal is no-translation)");
}

static void test_err_proposal_bit(void)
{
	expect_error("name bad\ntitle t\nproposal no-translation\n" RULES, 0,
		     "proposal no-translation needs a proposal-bit line");
	expect_error("name bad\ntitle t\nproposal identity-address\n" RULES
		     "identity.map-before driver-ok PROP-ia-complete-map\n"
		     "identity.width-limited yes PROP-ia-width\n", 0,
		     "proposal identity-address needs a proposal-bit line");
	expect_error("name bad\ntitle t\nproposal none\nproposal-bit 25\n" RULES, 4,
		     "proposal-bit 25 without a proposal");
	/* without any proposal line, that one is missing first */
	expect_error("name bad\ntitle t\nproposal-bit 25\n" RULES, 0, "missing proposal line");

	static const struct { const char *bit, *word; } bad[] = {
		{ "33", "proposal-bit 33 is not allowed: it is VIRTIO_F_ACCESS_PLATFORM" },
		{ "32", "VIRTIO_F_VERSION_1" },
		{ "34", "VIRTIO_F_RING_PACKED" },
		{ "28", "VIRTIO_F_INDIRECT_DESC" },
		{ "43", "VIRTIO_F_SUSPEND" },
		{ "24", "VIRTIO_F_NOTIFY_ON_EMPTY (legacy)" },
		{ "27", "VIRTIO_F_ANY_LAYOUT (legacy)" },
		{ "30", "legacy" },
		{ "0", "a device-type feature bit" },
		{ "23", "a device-type feature bit" },
		{ "42", "a device-type feature bit" },
		{ "50", "a device-type feature bit" },
		{ "64", "beyond the 64 feature bits" },
		{ "999", "beyond the 64 feature bits" },
		{ "1000", "is not a bit number" },
		{ "0x19", "'0x19' is not a bit number" },
		{ "-1", "is not a bit number" },
		{ "+25", "is not a bit number" },
		{ "25x", "is not a bit number" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text),
			 "name bad\ntitle t\nproposal no-translation\n\nproposal-bit %s\n" RULES,
			 bad[i].bit);
		expect_error(text, 5, bad[i].word);
	}
	expect_error("name bad\ntitle t\nproposal no-translation\nproposal-bit 33\n" RULES, 4,
		     "(allowed: 25, 26, 31, 44..49)");
}

/* ---- overrides ------------------------------------------------------------------ */

static void set_ok(struct vt_profile *p, const char *kv)
{
	err[0] = '\0';
	int rc = vt_mx_profile_set(p, kv, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "\n  --set %s: %s\n", kv, err);
	CU_ASSERT_EQUAL(rc, 0);
}

/* A refused override says why and leaves the profile as it was. */
static void set_fails(struct vt_profile *p, const char *kv, const char *word)
{
	struct vt_profile before = *p;
	err[0] = '\0';
	CU_ASSERT_EQUAL(vt_mx_profile_set(p, kv, err, sizeof(err)), -1);
	if (!strstr(err, word))
		fprintf(stderr, "\n  --set %s: expected '%s', got '%s'\n", kv, word, err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, word));
	CU_ASSERT_EQUAL(memcmp(&before, p, sizeof(before)), 0);
}

static void test_set_rules(void)
{
	struct vt_profile p;
	load_ok("spec-1.4", &p);
	unsigned line = p.src[MX_RULE_DRIVER_WIDTH].line;

	set_ok(&p, "driver.address-width=ignore");
	CU_ASSERT_EQUAL(p.driver_width, MX_WIDTH_IGNORE);
	CU_ASSERT_STRING_EQUAL(p.src[MX_RULE_DRIVER_WIDTH].source, "DRV-6.1");
	CU_ASSERT_EQUAL(p.src[MX_RULE_DRIVER_WIDTH].line, line);

	set_ok(&p, "driver.secure-without-access-platform=bounce");
	CU_ASSERT_EQUAL(p.secure_no_ap, MX_SECURE_BOUNCE);
	CU_ASSERT_STRING_EQUAL(p.src[MX_RULE_SECURE_NO_AP].source, "DRV-6.1");
	set_ok(&p, "device.refuse-without-access-platform=restricted");
	CU_ASSERT_EQUAL(p.device_refuse, MX_DEVREF_RESTRICTED);
	CU_ASSERT_STRING_EQUAL(p.src[MX_RULE_DEVICE_REFUSE].source, "POL-spec-device-may-fail");
	/* back again: the last override wins */
	set_ok(&p, "driver.address-width=respect");
	CU_ASSERT_EQUAL(p.driver_width, MX_WIDTH_RESPECT);
	CU_ASSERT_STRING_EQUAL(p.name, "spec-1.4");

	load_ok("identity-address", &p);
	set_ok(&p, "identity.map-before=features-ok");
	CU_ASSERT_EQUAL(p.identity_map, MX_IDMAP_FEATURES_OK);
	CU_ASSERT_STRING_EQUAL(p.src[MX_RULE_IDENTITY_MAP].source, "PROP-ia-complete-map");
	set_ok(&p, "identity.width-limited=no");
	CU_ASSERT_EQUAL(p.identity_width_limited, false);
	set_ok(&p, "proposal-bit=31");
	CU_ASSERT_EQUAL(p.proposal_bit, 31);
	CU_ASSERT_EQUAL(p.proposal, MX_PROPOSAL_IDENTITY_ADDRESS);
}

static void test_set_errors(void)
{
	struct vt_profile p;
	memset(&p, 0, sizeof(p));
	set_fails(&p, "driver.address-width=ignore", "no profile loaded");

	load_ok("spec-1.4", &p);
	set_fails(&p, "driver.address-width", "'driver.address-width' is not KEY=VALUE");
	set_fails(&p, "=ignore", "is not KEY=VALUE");
	set_fails(&p, "driver.address-width=obey",
		  "driver.address-width: unknown value 'obey' (allowed: respect, ignore)");
	set_fails(&p, "driver.address-width=", "driver.address-width: missing value");
	set_fails(&p, "driver.address-width=ignore extra", "unknown value 'ignore extra'");
	set_fails(&p, "driver.address-width =ignore", "unknown key 'driver.address-width '");
	set_fails(&p, "driver.width=ignore", "unknown key 'driver.width'");
	set_fails(&p, "identity.map-before=features-ok",
		  "identity.map-before applies only with proposal identity-address "
		  "(proposal is none)");
	set_fails(&p, "identity.width-limited=yes", "applies only");
	set_fails(&p, "proposal-bit=25", "proposal-bit 25 without a proposal");
	set_fails(&p, "proposal=identity-address", "proposal is fixed by the profile file");
	set_fails(&p, "name=other", "name is fixed");
	set_fails(&p, "title=other", "title is fixed");

	load_ok("no-translation", &p);
	set_fails(&p, "proposal-bit=33", "it is VIRTIO_F_ACCESS_PLATFORM");
	set_fails(&p, "proposal-bit=", "'' is not a bit number");
	set_fails(&p, "proposal-bit=0x1a", "is not a bit number");
	set_fails(&p, "identity.map-before=driver-ok", "(proposal is no-translation)");
	CU_ASSERT_EQUAL(p.proposal_bit, 26);
	set_ok(&p, "proposal-bit=44");
	CU_ASSERT_EQUAL(p.proposal_bit, 44);
}

int main(void)
{
	if (vt_clause_load(NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	const char *base = getenv("TMPDIR");
	snprintf(tmp, sizeof(tmp), "%s/vcts-profile.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		perror(tmp);
		return 2;
	}
	static const struct unit_test tests[] = {
		{ "rule keys", test_rule_keys },
		{ "shipped profile list", test_shipped_list },
		{ "shipped profile values and sources", test_shipped_values },
		{ "profile directory holds the shipped profiles", test_shipped_dir },
		{ "VCTS_PROFILE_DIR", test_profile_dir },
		{ "comments, blanks, order, CRLF", test_format_freedoms },
		{ "error: unreadable file", test_err_unreadable },
		{ "error: unknown key", test_err_unknown_key },
		{ "error: unknown value", test_err_unknown_value },
		{ "error: token count", test_err_token_count },
		{ "error: missing source", test_err_missing_source },
		{ "error: unknown source", test_err_unknown_source },
		{ "error: duplicate key", test_err_duplicate },
		{ "error: name mismatch", test_err_name },
		{ "error: missing header or rule", test_err_missing },
		{ "error: identity rules", test_err_identity_rules },
		{ "error: proposal bit", test_err_proposal_bit },
		{ "set: rules keep their source", test_set_rules },
		{ "set: errors leave the profile", test_set_errors },
	};
	int rc = UNIT_RUN("profile", tests);
	remove_tree(tmp);
	vt_clause_unload();
	return rc;
}
