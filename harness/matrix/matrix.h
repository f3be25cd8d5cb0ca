/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * matrix.h - the platform-access matrix: axes, cells, rule profiles, the
 * oracle and the run of one cell.
 *
 * A cell is one value per axis (who offers and accepts ACCESS_PLATFORM,
 * the proposed feature, secure guest, translation, the device's DMA
 * address width, ring layout, event index, indirect descriptors, device
 * type).  A profile is a named rule set read from a data file
 * (profiles/NAME.profile, format in profiles/README.md); every rule cites
 * where it comes from.  The oracle says, for a cell under a profile, what
 * must happen: the negotiated features, or who refuses and how, and which
 * invariants must hold.  vt_mx_run_cell() runs the cell with the strict
 * reference driver and the checking device, both taking their policy from
 * the profile, and judges what happened against the oracle.
 *
 *   axes.c     axis table, cell names, --axis parsing
 *   filter.c   a cell as an item of --filter and --exclude (select.h)
 *   profile.c  profile files: strict parser, --set overrides
 *   oracle.c   expected outcome of a cell under a profile
 *   cell.c     run one cell, observe, judge: subtests
 *   report.c   a result as TAP; one-word verdicts for --diff
 *   sched.c    run a selection of cells on N worker processes
 *   cmd.c      the `vcts matrix` command (TAP, --diff, progress)
 */
#ifndef VCTS_MATRIX_H
#define VCTS_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../select.h"
#include "../tap.h"

/* ---- axes --------------------------------------------------------------- */

enum vt_mx_axis {
	MX_AP_OFFER,     /* device offers ACCESS_PLATFORM:      no yes          */
	MX_AP_ACCEPT,    /* driver knows ACCESS_PLATFORM:       no yes          */
	MX_PROP_OFFER,   /* device offers the proposed bit:     no yes          */
	MX_PROP_ACCEPT,  /* driver knows the proposed bit:      no yes          */
	MX_SECURE,       /* secure (confidential) guest:        off on          */
	MX_TRANSLATION,  /* platform translation:  none iommu39 iommu48 identity */
	MX_WIDTH,        /* device DMA address width:     32 39 48 64           */
	MX_RING,         /* split packed                                        */
	MX_EVENT_IDX,    /* off on                                              */
	MX_INDIRECT,     /* off on                                              */
	MX_DEVICE,       /* blk echo                                            */
	MX_NAXES
};

/* Value indices of the axes with more than yes/no. */
enum vt_mx_translation { MX_TR_NONE, MX_TR_IOMMU39, MX_TR_IOMMU48, MX_TR_IDENTITY };
enum vt_mx_width       { MX_W32, MX_W39, MX_W48, MX_W64 };
enum vt_mx_ring        { MX_SPLIT, MX_PACKED };
enum vt_mx_device      { MX_DEV_BLK, MX_DEV_ECHO };

#define MX_MAX_VALUES 4

struct vt_mx_axis_def {
	const char *name;                      /* "ap-offer"                    */
	const char *what;                      /* one line for --help           */
	unsigned nvalues;
	const char *values[MX_MAX_VALUES];     /* index 0 first: "no", "yes"    */
};
extern const struct vt_mx_axis_def vt_mx_axes[MX_NAXES];

/* Yes/no axes use value 0 for no/off and 1 for yes/on. */
struct vt_mx_cell {
	uint8_t v[MX_NAXES];
};

/* Numeric meaning of a cell's values. */
unsigned vt_mx_width_bits(const struct vt_mx_cell *c);    /* 32 39 48 64   */
unsigned vt_mx_iommu_aw(const struct vt_mx_cell *c);      /* 0, 39, 48, 64 */
/* Is the device's memory access restricted by the platform: translated
 * (any translation but none) or confined to a secure guest's shared pages?
 * (device.refuse-without-access-platform restricted) */
bool vt_mx_access_restricted(const struct vt_mx_cell *c);

/* "ap-offer=yes ap-accept=yes ... device=blk": the cell's canonical name,
 * every axis in table order.  Returns buf. */
char *vt_mx_cell_name(const struct vt_mx_cell *c, char *buf, size_t len);
#define MX_NAME_MAX 256

/* A selection: which values of each axis take part (bit i = value i). */
struct vt_mx_sel {
	uint8_t mask[MX_NAXES];
};
void vt_mx_sel_all(struct vt_mx_sel *s);
/* "name=v1,v2": restrict one axis.  Returns 0, or -1 with a one-line
 * reason in err (unknown axis, unknown value, empty list). */
int vt_mx_sel_axis(struct vt_mx_sel *s, const char *spec, char *err, size_t errlen);
/* Number of cells in the selection, and the i-th (0-based, last axis
 * fastest) in a fixed order: cell numbers are stable for a selection. */
uint64_t vt_mx_sel_count(const struct vt_mx_sel *s);
void vt_mx_sel_cell(const struct vt_mx_sel *s, uint64_t i, struct vt_mx_cell *out);
/* Parse a full cell name (every axis, "name=value" separated by spaces or
 * commas; axes missing take value 0 unless `partial` is false, then a
 * missing axis is an error). */
int vt_mx_cell_parse(const char *s, bool partial, struct vt_mx_cell *out, char *err,
		     size_t errlen);

/* ---- profiles ----------------------------------------------------------- */

enum vt_mx_proposal {
	MX_PROPOSAL_NONE,
	MX_PROPOSAL_IDENTITY_ADDRESS,   /* ACCESS_PLATFORM_IDENTITY_ADDRESS */
	MX_PROPOSAL_NO_TRANSLATION,     /* ACCESS_PLATFORM_NO_TRANSLATION   */
};

/* Secure guest and a device without ACCESS_PLATFORM. */
enum vt_mx_secure_no_ap {
	MX_SECURE_PROCEED,   /* nothing stops the driver: physical addresses     */
	MX_SECURE_REFUSE,    /* the driver sets FAILED                            */
	MX_SECURE_BOUNCE,    /* bounce everything through shared memory          */
};

/* When a device offering ACCESS_PLATFORM refuses FEATURES_OK without it. */
enum vt_mx_device_refuse {
	MX_DEVREF_NEVER,
	MX_DEVREF_RESTRICTED,  /* when its access is restricted: translation
				  other than none, or a secure guest          */
	MX_DEVREF_ALWAYS,
};

/* Whether the driver keeps to the device's DMA address width. */
enum vt_mx_driver_width {
	MX_WIDTH_RESPECT,      /* bounce (or allocate IOVAs) below 2^width   */
	MX_WIDTH_IGNORE,       /* 64-bit DMA mask whatever the device says   */
};

/* Where the 1:1 map of IDENTITY_ADDRESS must be complete. */
enum vt_mx_identity_map {
	MX_IDMAP_DRIVER_OK,
	MX_IDMAP_FEATURES_OK,
};

/* What a driver does with a device that breaks a rule of the used ring. */
enum vt_mx_reaction {
	MX_REACT_UNSAID,       /* the profile does not say                       */
	MX_REACT_BROKEN,       /* the queue is marked broken, said in the kernel
				  log; its outstanding request never completes  */
	MX_REACT_IGNORED,      /* nothing is checked: the I/O completes          */
};

/* Whether the balloon's driver accepts ACCESS_PLATFORM when offered (the
 * balloon hands the device page frame numbers, 5.5.6). */
enum vt_mx_balloon_ap {
	MX_BALLOON_AP_UNSAID,  /* the profile does not say                       */
	MX_BALLOON_AP_ACCEPT,  /* like any other device's driver                 */
	MX_BALLOON_AP_CLEAR,   /* the driver clears it: never accepted           */
};

/* One rule of a profile: its value is in struct vt_profile; this records
 * the source it cites and where it was read. */
struct vt_mx_rule_src {
	char source[48];        /* a registered id: DRV-6.1, PROP-..., POL-... */
	unsigned line;          /* 0: not given (parameter absent)             */
};

enum vt_mx_rule {
	MX_RULE_SECURE_NO_AP,          /* driver.secure-without-access-platform */
	MX_RULE_DEVICE_REFUSE,         /* device.refuse-without-access-platform */
	MX_RULE_DRIVER_WIDTH,          /* driver.address-width                  */
	MX_RULE_IDENTITY_MAP,          /* identity.map-before                   */
	MX_RULE_IDENTITY_WIDTH,        /* identity.width-limited                */
	/* Optional: how the driver takes a device that misbehaves (driver
	 * hardening), judged in real guests with our device's fault switches. */
	MX_RULE_USED_ID_RANGE,         /* driver.used-id-out-of-range           */
	MX_RULE_USED_ID_NOT_HEAD,      /* driver.used-id-not-outstanding        */
	MX_RULE_USED_LEN_LARGE,        /* driver.used-len-too-large             */
	MX_RULE_USED_IDX_JUMP,         /* driver.used-idx-jump                  */
	/* Optional: a device type's driver that does not accept
	 * ACCESS_PLATFORM, judged in real guests. */
	MX_RULE_BALLOON_AP,            /* driver.balloon-access-platform        */
	MX_NRULES
};

struct vt_profile {
	char name[64];
	char title[160];
	char file[256];
	enum vt_mx_proposal proposal;
	unsigned proposal_bit;                  /* valid unless proposal NONE   */
	enum vt_mx_secure_no_ap secure_no_ap;
	enum vt_mx_device_refuse device_refuse;
	enum vt_mx_driver_width driver_width;
	enum vt_mx_identity_map identity_map;   /* identity-address only        */
	bool identity_width_limited;            /* identity-address only        */
	enum vt_mx_reaction reaction[MX_NRULES]; /* the driver.used-* rules      */
	enum vt_mx_balloon_ap balloon_ap;       /* driver.balloon-access-platform */
	struct vt_mx_rule_src src[MX_NRULES];
};

/* Rule keys as written in profile files, indexed by enum vt_mx_rule. */
extern const char *const vt_mx_rule_key[MX_NRULES];

/* Load NAME: a path (contains '/' or ends in .profile) or a name looked
 * up in the profile directory (vt_mx_profile_dir()).  Returns 0, or -1
 * with "FILE:LINE: reason" in err.  Sources are checked against the
 * clause registry (clause.h), which must be loaded. */
int vt_mx_profile_load(const char *name, struct vt_profile *p, char *err, size_t errlen);
/* "key=value" on top of a loaded profile (--set); the source stays the
 * file's.  Returns 0 or -1 with a reason.  Re-checks consistency. */
int vt_mx_profile_set(struct vt_profile *p, const char *kv, char *err, size_t errlen);
/* Directory of shipped profiles: $VCTS_PROFILE_DIR, else
 * harness/matrix/profiles next to the source tree the binary was built
 * from. */
const char *vt_mx_profile_dir(void);
/* Names of the shipped profiles (NULL-terminated, in a fixed order). */
extern const char *const vt_mx_shipped_profiles[];

/* ---- oracle ------------------------------------------------------------- */

enum vt_mx_outcome {
	MX_LIVE,             /* negotiated, I/O runs                          */
	MX_DRIVER_REFUSES,   /* driver sets FAILED, FEATURES_OK never set     */
	MX_DEVICE_REFUSES,   /* device clears FEATURES_OK, driver sets FAILED */
	MX_CELL_SKIP,        /* the cell cannot exist under this profile      */
	MX_NOUTCOMES
};
const char *vt_mx_outcome_name(enum vt_mx_outcome o);  /* "live", "driver-refuses" ... */

/* How the device is handed addresses in a live cell. */
enum vt_mx_addressing {
	MX_ADDR_GPA,         /* guest-physical                                 */
	MX_ADDR_IOVA,        /* IOVAs of the platform IOMMU                    */
	MX_ADDR_IDENTITY,    /* IOVA == GPA under a complete, locked 1:1 map   */
};

/* Invariants a live cell checks (bits). */
#define MX_INV_UNSHARED     0x01   /* INV-unshared-access                     */
#define MX_INV_WIDTH        0x02   /* INV-dma-width                           */
#define MX_INV_IOMMU        0x04   /* INV-iommu-fault, INV-iommu-bypass       */
#define MX_INV_IDENTITY     0x08   /* PROP-ia-complete-map, INV-iommu-changed */
#define MX_INV_NO_TRANSL    0x10   /* PROP-nt-exclusive, PROP-nt-untranslated */
#define MX_INV_BOUNCE       0x20   /* PROP-ba-bounce                          */
#define MX_INV_INTEGRITY    0x40   /* INV-data-integrity                      */

struct vt_mx_expected {
	enum vt_mx_outcome outcome;
	char rule[48];             /* id the outcome follows from (refusals;
				      empty when nothing specific)              */
	char why[160];             /* one line: why this outcome               */
	uint64_t features;         /* live: expected negotiated bits, within
				      MX_FEATURE_MASK                           */
	enum vt_mx_addressing addressing;
	bool bounce_all;           /* every data buffer through the shared pool */
	bool bounce_high;          /* buffers above the width are bounced       */
	unsigned invariants;       /* MX_INV_* checked                          */
	/* The profile lets this cell run although an invariant cannot hold:
	 * the id of that invariant (INV-unshared-access, INV-dma-width), or
	 * NULL.  Such a cell's breach is expected (TODO), its absence fails. */
	const char *hazard;
	unsigned hazards;          /* MX_INV_* of every invariant the profile
				      lets break here (hazard is the first)     */
	char hazard_why[160];
};

/* Device-independent bits the oracle predicts (plus the proposal bit). */
#define MX_FEATURE_MASK_BASE ((1ull << 28) | (1ull << 29) | (1ull << 32) | \
			      (1ull << 33) | (1ull << 34))
uint64_t vt_mx_feature_mask(const struct vt_profile *p);

void vt_mx_oracle(const struct vt_profile *p, const struct vt_mx_cell *c,
		  struct vt_mx_expected *e);

/* ---- running a cell ------------------------------------------------------ */

#define MX_MAX_SUB 8

/* One subtest of a cell: negotiation, an invariant, data integrity. */
struct vt_mx_sub {
	char name[40];             /* "negotiation", "INV-unshared-access" ... */
	enum vt_outcome outcome;   /* pass, fail, xfail (hazard), xpass, skip  */
	char detail[160];          /* skip/todo reason, or what went wrong     */
	/* First finding, for the YAML block of a failure. */
	bool has_finding;
	char rule[48];
	char who[12];
	char expected[64];
	char got[64];
	char message[192];
	bool has_addr;
	uint64_t addr, gpa;
};

/* What a cell run produced: fixed size, so a worker process can send it
 * whole over a pipe. */
struct vt_mx_result {
	uint64_t index;            /* cell number in the selection             */
	struct vt_mx_cell cell;
	struct vt_mx_expected exp;
	enum vt_outcome outcome;   /* the cell's own line                      */
	char detail[160];          /* skip reason, broken reason               */
	/* Observed. */
	enum vt_mx_outcome got;
	uint8_t status;            /* device status after init (refusals)      */
	uint64_t features;         /* negotiated (within the mask)             */
	uint64_t requests;         /* requests completed and verified          */
	uint64_t bounces;          /* buffers the driver bounced               */
	uint64_t private_pages;    /* private pages the device touched          */
	unsigned nsub;
	struct vt_mx_sub sub[MX_MAX_SUB];
};

/* Faults to switch on in a cell run (mutants): enum vt_drv_fault and
 * enum vt_dev_fault values, 0 for none. */
struct vt_mx_faults {
	int drv;
	int dev;
};

/* Run one cell under a profile and judge it.  Never exits: a harness
 * problem is an outcome VT_BROKEN with the reason in r->detail. */
void vt_mx_run_cell(const struct vt_profile *p, const struct vt_mx_cell *c,
		    const struct vt_mx_faults *f, struct vt_mx_result *r);

/* Print a result as one TAP test point with its subtests.  `name` is the
 * test point's name (normally the cell name). */
void vt_mx_print(struct vt_tap *tap, const struct vt_mx_result *r, const char *name);

/* One word for a result, to compare two profiles cell by cell:
 * "live AP+PROP iova", "driver-refuses", "hazard INV-unshared-access",
 * "skip" ...  Expected (from r->exp) and observed (from r->got) forms. */
void vt_mx_verdict_expected(const struct vt_mx_result *r, char *buf, size_t len);
void vt_mx_verdict_observed(const struct vt_mx_result *r, char *buf, size_t len);

/* ---- running many cells --------------------------------------------------- */

/* Called in the parent, in cell order, for each finished cell. */
typedef void (*vt_mx_sink)(void *ctx, const struct vt_mx_result *r);

struct vt_mx_run_opts {
	unsigned jobs;             /* worker processes (0: 1)                  */
	unsigned timeout_ms;       /* per cell (0: 10000)                      */
	bool progress;             /* a progress line on stderr                */
	struct vt_mx_faults faults;
	/* Optional: only cells for which keep(ctx, cell, exp) is true run;
	 * the others are not reported at all (a --filter). */
	bool (*keep)(void *ctx, const struct vt_mx_cell *c, const struct vt_mx_expected *e);
	void *keep_ctx;
	/* Optional, instead of keep: exactly these cell numbers of the
	 * selection, ascending (the cells a filter and a shard kept). */
	const uint64_t *cells;
	uint64_t ncells;
};

/* Run every selected cell under p; results reach sink in cell order.  A
 * worker that crashes or overruns the deadline is replaced; the cell it
 * was running is reported VT_CRASH / VT_TIMEOUT.  Returns the number of
 * cells reported, or -1 if workers could not be started (err). */
long vt_mx_run(const struct vt_profile *p, const struct vt_mx_sel *s,
	       const struct vt_mx_run_opts *o, vt_mx_sink sink, void *ctx,
	       char *err, size_t errlen);

/* ---- selecting cells (select.h) ------------------------------------------ */

/* The keys a cell has: name, clause, role, transport, every axis, expect
 * (live, driver-refuses, device-refuses, skip; and hazard), verdict,
 * profile. */
void vt_mx_keys(const struct vt_sel_key **keys, unsigned *nkeys);

/* A cell under its expectation as an item to select or list. */
#define MX_ITEM_NAME     0x1      /* fill in the name (costs a format)    */
#define MX_ITEM_VERDICT  0x2      /* and the one-line expected verdict    */
#define MX_ITEM_ATTRS    40
struct vt_mx_item {
	struct vt_sel_item item;
	struct vt_sel_attr attr[MX_ITEM_ATTRS];
	char name[MX_NAME_MAX];
	char verdict[128];
};
/* p may be NULL (no profile attribute); what: MX_ITEM_* */
void vt_mx_describe(const struct vt_profile *p, const struct vt_mx_cell *c,
		    const struct vt_mx_expected *e, unsigned what, struct vt_mx_item *out);
/* Does the selection keep the cell?  vt_mx_take also notes which --filter
 * held (vt_sel_take). */
bool vt_mx_match(const struct vt_sel *s, const struct vt_profile *p, const struct vt_mx_cell *c,
		 const struct vt_mx_expected *e);
bool vt_mx_take(struct vt_sel *s, const struct vt_profile *p, const struct vt_mx_cell *c,
		const struct vt_mx_expected *e);

/* `vcts list --matrix PROFILE`: every cell of every axis under the
 * profile that the selection keeps, the shard's share (a unit is a cell),
 * added to l.  The clause registry must be loaded.  0, or -1 with the
 * reason in err. */
int vt_mx_list(const char *profile, struct vt_sel *sel, const struct vt_sel_shard *sh,
	       struct vt_sel_list *l, char *err, size_t errlen);

/* One --filter EXPR on its own (the language of select.h, the keys above). */
struct vt_mx_filter;
struct vt_mx_filter *vt_mx_filter_parse(const char *expr, char *err, size_t errlen);
bool vt_mx_filter_match(const struct vt_mx_filter *f, const struct vt_mx_cell *c,
			const struct vt_mx_expected *e);
void vt_mx_filter_free(struct vt_mx_filter *f);

/* The `vcts matrix` command and its usage text. */
int vt_matrix_main(int argc, char **argv);
extern const char vt_matrix_usage[];

#endif
