/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of guest memory: layout, allocator, sharing, the device
 * accessor's checks (width, RAM, sharing), the access log and the page
 * protection backstop.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#include "harness/gmem.h"
#include "harness/verdict.h"

#define MIB (1ULL << 20)
#define PG  GMEM_PAGE_SIZE

static struct vt_verdict vd;

/* The one record the accessor must have left. */
static const struct vt_violation *only_record(void)
{
	CU_ASSERT_EQUAL_FATAL(vd.n, 1);
	return &vd.v[0];
}

static struct gmem *make(uint64_t low, bool high, bool secure)
{
	struct gmem_layout l;
	gmem_layout_standard(&l, low, high);
	struct gmem *gm = gmem_create(&l, secure);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gm);
	vt_verdict_init(&vd);
	return gm;
}

/* ------------------------------------------------------------------ */

static void test_layout_errors(void)
{
	struct gmem_layout l;
	gmem_layout_init(&l);
	CU_ASSERT_EQUAL(gmem_layout_add(&l, 0, 4 * PG, 0), 0);
	CU_ASSERT_EQUAL(gmem_layout_add(&l, 2 * PG, 4 * PG, 0), -1);      /* overlap */
	CU_ASSERT_EQUAL(gmem_layout_add(&l, 0, PG, 0), -1);               /* same start */
	CU_ASSERT_EQUAL(gmem_layout_add(&l, 16 * PG + 1, PG, 0), -1);     /* gpa unaligned */
	CU_ASSERT_EQUAL(gmem_layout_add(&l, 16 * PG, PG + 8, 0), -1);     /* size unaligned */
	CU_ASSERT_EQUAL(gmem_layout_add(&l, 16 * PG, 0, 0), -1);          /* empty */
	CU_ASSERT_EQUAL(gmem_layout_add(&l, UINT64_MAX - PG + 1, 2 * PG, 0), -1); /* wraps */
	CU_ASSERT_EQUAL(gmem_layout_add(&l, 4 * PG, PG, 0), 0);           /* adjacent is fine */
	CU_ASSERT_EQUAL(l.nregions, 2);
	for (unsigned i = 2; i < GMEM_MAX_REGIONS; i++)
		CU_ASSERT_EQUAL(gmem_layout_add(&l, (uint64_t)(i + 1) << 32, PG, 0), 0);
	CU_ASSERT_EQUAL(gmem_layout_add(&l, 1ULL << 45, PG, 0), -1);      /* full */

	/* A layout built by hand is checked again by gmem_create. */
	struct gmem_layout bad = { 2, { { 0, 4 * PG, 0 }, { PG, PG, 0 } } };
	errno = 0;
	CU_ASSERT_PTR_NULL(gmem_create(&bad, false));
	CU_ASSERT_EQUAL(errno, EINVAL);
}

static void test_layout_standard(void)
{
	struct gmem_layout l;
	gmem_layout_standard(&l, 2 * MIB, false);
	CU_ASSERT_EQUAL(l.nregions, 1);
	gmem_layout_standard(&l, 2 * MIB, true);
	CU_ASSERT_EQUAL_FATAL(l.nregions, 4);
	CU_ASSERT_EQUAL(l.region[0].gpa, 0);
	CU_ASSERT_EQUAL(l.region[1].gpa, 1ULL << 32);
	CU_ASSERT_EQUAL(l.region[2].gpa, (1ULL << 39) - 2 * MIB);
	CU_ASSERT_EQUAL(l.region[3].gpa, (1ULL << 48) - 2 * MIB);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(l.region[i].size, 2 * MIB);
}

static void test_sparse_regions(void)
{
	struct gmem *gm = make(MIB, true, false);
	CU_ASSERT_EQUAL(gmem_nregions(gm), 4);
	uint64_t top48 = (1ULL << 48) - 64, top39 = (1ULL << 39) - 64;
	CU_ASSERT_EQUAL(gmem_find(gm, top48, 64), 3);
	CU_ASSERT_EQUAL(gmem_find(gm, top39, 64), 2);
	CU_ASSERT_EQUAL(gmem_find(gm, 1ULL << 32, 64), 1);
	CU_ASSERT_EQUAL(gmem_find(gm, top48, 65), -1);           /* runs off the end */
	CU_ASSERT_EQUAL(gmem_find(gm, MIB, 1), -1);              /* gap after low RAM */
	CU_ASSERT_PTR_NULL(gmem_drv(gm, 1ULL << 48, 1));
	CU_ASSERT_TRUE(gmem_region_fd(gm, 3) >= 0);
	CU_ASSERT_EQUAL(gmem_region_fd(gm, 4), -1);

	/* The driver writes near 2^48 and 2^39; the device reads it back. */
	uint8_t *p48 = gmem_drv(gm, top48, 64), *p39 = gmem_drv(gm, top39, 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p48);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p39);
	memset(p48, 0x48, 64);
	memset(p39, 0x39, 64);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 64, &vd);
	uint8_t buf[64], want[64];
	CU_ASSERT_EQUAL(gmem_dev_read(&d, top48, buf, 64), 0);
	memset(want, 0x48, 64);
	CU_ASSERT_EQUAL(memcmp(buf, want, 64), 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, top39, buf, 64), 0);
	memset(want, 0x39, 64);
	CU_ASSERT_EQUAL(memcmp(buf, want, 64), 0);

	/* And the same memfd backs both views. */
	memset(want, 0x5a, 64);
	CU_ASSERT_EQUAL(gmem_dev_write(&d, top48, want, 64), 0);
	CU_ASSERT_EQUAL(memcmp(p48, want, 64), 0);
	CU_ASSERT_EQUAL(vd.n, 0);
	gmem_destroy(gm);
}

static void test_alloc(void)
{
	struct gmem *gm = make(MIB, true, false);
	uint64_t a = gmem_alloc(gm, 0, 10, 1);
	uint64_t b = gmem_alloc(gm, 0, 100, 64);
	uint64_t c = gmem_alloc(gm, 0, 5000, PG);
	CU_ASSERT_NOT_EQUAL(a, GMEM_NOADDR);
	CU_ASSERT_EQUAL(b % 64, 0);
	CU_ASSERT_TRUE(b >= a + 10);
	CU_ASSERT_EQUAL(c % PG, 0);
	CU_ASSERT_TRUE(c >= b + 100);
	CU_ASSERT_EQUAL(gmem_alloc(gm, 0, 64, 48), GMEM_NOADDR);   /* not a power of two */
	CU_ASSERT_EQUAL(gmem_alloc(gm, 0, 2 * MIB, 1), GMEM_NOADDR); /* too big */
	CU_ASSERT_EQUAL(gmem_alloc(gm, 9, 64, 1), GMEM_NOADDR);      /* no such region */

	/* From the region near 2^48: the GPA is in that region. */
	uint64_t h = gmem_alloc(gm, 3, 4096, 4096);
	CU_ASSERT_EQUAL(gmem_find(gm, h, 4096), 3);

	/* Release hands the same memory out again, zeroed. */
	uint64_t mark = gmem_alloc_mark(gm, 0);
	uint64_t x = gmem_alloc(gm, 0, 256, 8);
	CU_ASSERT_TRUE(x >= mark);
	memset(gmem_drv(gm, x, 256), 0xee, 256);
	gmem_alloc_release(gm, 0, mark);
	CU_ASSERT_EQUAL(gmem_alloc_mark(gm, 0), mark);
	uint64_t y = gmem_alloc(gm, 0, 256, 8);
	CU_ASSERT_EQUAL(y, x);
	uint8_t zero[256] = { 0 };
	CU_ASSERT_EQUAL(memcmp(gmem_drv(gm, y, 256), zero, 256), 0);

	/* Memory the driver dirtied ahead of the allocator comes out zeroed. */
	uint64_t next = gmem_alloc_mark(gm, 0);
	memset(gmem_drv(gm, next, 128), 0xcc, 128);
	uint64_t z = gmem_alloc(gm, 0, 128, 1);
	CU_ASSERT_EQUAL(z, next);
	CU_ASSERT_EQUAL(memcmp(gmem_drv(gm, z, 128), zero, 128), 0);

	/* The whole region can be used, and no more. */
	uint64_t rest = (MIB - (gmem_alloc_mark(gm, 0) & (MIB - 1)));
	CU_ASSERT_NOT_EQUAL(gmem_alloc(gm, 0, rest, 1), GMEM_NOADDR);
	CU_ASSERT_EQUAL(gmem_alloc(gm, 0, 1, 1), GMEM_NOADDR);
	gmem_destroy(gm);
}

static void test_secure_share(void)
{
	struct gmem *gm = make(MIB, false, true);
	CU_ASSERT_TRUE(gmem_secure(gm));
	uint64_t buf = gmem_alloc(gm, 0, 2 * PG, PG);
	CU_ASSERT_FALSE(gmem_is_shared(gm, buf, 1));
	CU_ASSERT_EQUAL(gmem_share(gm, buf + 10, 20), 0);         /* rounds out to the page */
	CU_ASSERT_TRUE(gmem_is_shared(gm, buf, PG));
	CU_ASSERT_FALSE(gmem_is_shared(gm, buf, PG + 1));         /* second page private */
	CU_ASSERT_EQUAL(gmem_share(gm, buf + PG, PG), 0);
	CU_ASSERT_TRUE(gmem_is_shared(gm, buf, 2 * PG));
	CU_ASSERT_EQUAL(gmem_unshare(gm, buf, PG), 0);
	CU_ASSERT_FALSE(gmem_is_shared(gm, buf, 1));
	CU_ASSERT_TRUE(gmem_is_shared(gm, buf + PG, 1));
	CU_ASSERT_EQUAL(gmem_share(gm, MIB, PG), -1);             /* not RAM */
	CU_ASSERT_EQUAL(gmem_share(gm, MIB - PG, 2 * PG), -1);    /* partly not RAM */
	CU_ASSERT_EQUAL(gmem_unshare(gm, 1ULL << 40, 1), -1);
	CU_ASSERT_FALSE(gmem_is_shared(gm, MIB, 1));
	gmem_destroy(gm);

	/* Non-secure: everything is shared, share/unshare change nothing. */
	gm = make(MIB, false, false);
	CU_ASSERT_FALSE(gmem_secure(gm));
	CU_ASSERT_TRUE(gmem_is_shared(gm, 0, MIB));
	CU_ASSERT_EQUAL(gmem_unshare(gm, 0, PG), 0);
	CU_ASSERT_TRUE(gmem_is_shared(gm, 0, PG));
	CU_ASSERT_EQUAL(gmem_share(gm, MIB, PG), -1);
	gmem_destroy(gm);
}

static void test_shared_region_flag(void)
{
	struct gmem_layout l;
	gmem_layout_init(&l);
	CU_ASSERT_EQUAL_FATAL(gmem_layout_add(&l, 0, MIB, 0), 0);
	CU_ASSERT_EQUAL_FATAL(gmem_layout_add(&l, 1ULL << 32, MIB, GMEM_REGION_SHARED), 0);
	struct gmem *gm = gmem_create(&l, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gm);
	CU_ASSERT_FALSE(gmem_is_shared(gm, 0, 1));
	CU_ASSERT_TRUE(gmem_is_shared(gm, 1ULL << 32, MIB));
	CU_ASSERT_EQUAL(gmem_unshare(gm, 1ULL << 32, PG), 0);     /* always shared */
	CU_ASSERT_TRUE(gmem_is_shared(gm, 1ULL << 32, PG));
	vt_verdict_init(&vd);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 64, &vd);
	uint32_t v = 0x11223344, got = 0;
	CU_ASSERT_EQUAL(gmem_dev_write(&d, (1ULL << 32) + 8, &v, 4), 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, (1ULL << 32) + 8, &got, 4), 0);
	CU_ASSERT_EQUAL(got, v);
	CU_ASSERT_EQUAL(vd.n, 0);
	gmem_destroy(gm);
}

static void test_release_unshares(void)
{
	struct gmem *gm = make(MIB, false, true);
	gmem_alloc(gm, 0, 100, 1);                  /* the mark's page keeps this */
	uint64_t mark = gmem_alloc_mark(gm, 0);
	uint64_t a = gmem_alloc(gm, 0, 3 * PG, PG);
	CU_ASSERT_EQUAL(gmem_share(gm, 0, a + 3 * PG), 0);
	memset(gmem_drv(gm, a, 3 * PG), 0x77, 3 * PG);
	gmem_alloc_release(gm, 0, mark);
	CU_ASSERT_TRUE(gmem_is_shared(gm, 0, PG));           /* holds memory before mark */
	CU_ASSERT_FALSE(gmem_is_shared(gm, a, 1));
	CU_ASSERT_FALSE(gmem_is_shared(gm, a + 2 * PG, 1));
	uint8_t zero[PG] = { 0 };
	CU_ASSERT_EQUAL(memcmp(gmem_drv(gm, a + 2 * PG, PG), zero, PG), 0);
	gmem_destroy(gm);
}

/* ------------------------------------------------------------------ */
/* The accessor                                                       */

static void test_unshared_access(void)
{
	struct gmem *gm = make(MIB, false, true);
	uint64_t buf = gmem_alloc(gm, 0, 2 * PG, PG);
	memset(gmem_drv(gm, buf, 2 * PG), 0xab, 2 * PG);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 64, &vd);
	CU_ASSERT_TRUE(d.checks);
	CU_ASSERT_EQUAL(d.blame, VT_WHO_DEVICE);

	uint8_t dst[64];
	memset(dst, 0x11, sizeof(dst));
	CU_ASSERT_EQUAL(gmem_dev_read(&d, buf + 8, dst, 64), -1);
	const struct vt_violation *v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-unshared-access");
	CU_ASSERT_EQUAL(v->who, VT_WHO_DEVICE);
	CU_ASSERT_TRUE(v->has_addr);
	CU_ASSERT_EQUAL(v->gpa, buf + 8);
	CU_ASSERT_EQUAL(v->page, buf >> 12);
	CU_ASSERT_EQUAL(dst[0], 0x11);                        /* nothing copied */
	CU_ASSERT_EQUAL(dst[63], 0x11);
	CU_ASSERT_EQUAL(gmem_log_count(gm, false), 0);        /* nor logged */

	/* After the driver shares the page the same read works. */
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(gmem_share(gm, buf, PG), 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, buf + 8, dst, 64), 0);
	CU_ASSERT_EQUAL(dst[0], 0xab);
	CU_ASSERT_EQUAL(dst[63], 0xab);
	CU_ASSERT_EQUAL(vd.n, 0);

	/* A range that runs into the private second page: blamed on that page,
	 * and nothing of the shared first part is written either. */
	uint8_t src[64];
	memset(src, 0xcd, sizeof(src));
	CU_ASSERT_EQUAL(gmem_dev_write(&d, buf + PG - 32, src, 64), -1);
	v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-unshared-access");
	CU_ASSERT_EQUAL(v->gpa, buf + PG);
	CU_ASSERT_EQUAL(v->addr, buf + PG);
	CU_ASSERT_EQUAL(((uint8_t *)gmem_drv(gm, buf + PG - 32, 1))[0], 0xab);
	gmem_destroy(gm);
}

static void test_dev_check(void)
{
	struct gmem *gm = make(MIB, false, true);
	uint64_t buf = gmem_alloc(gm, 0, PG, PG);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 64, &vd);
	CU_ASSERT_EQUAL(gmem_dev_check(&d, buf, 64, false, VT_WHO_DRIVER), -1);
	const struct vt_violation *v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-unshared-access");
	CU_ASSERT_EQUAL(v->who, VT_WHO_DRIVER);
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(gmem_dev_check(&d, MIB + PG, 64, true, VT_WHO_DRIVER), -1);
	v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-not-ram");
	CU_ASSERT_EQUAL(v->who, VT_WHO_DRIVER);
	vt_verdict_reset(&vd);
	gmem_share(gm, buf, PG);
	CU_ASSERT_EQUAL(gmem_dev_check(&d, buf, 64, true, VT_WHO_DRIVER), 0);
	CU_ASSERT_EQUAL(vd.n, 0);
	CU_ASSERT_EQUAL(gmem_log_page(gm, buf), 0);           /* a check logs nothing */
	gmem_destroy(gm);
}

static void test_width(void)
{
	struct gmem *gm = make(MIB, true, false);
	uint64_t hi = gmem_alloc(gm, 1, 64, 64);              /* at 4 GiB */
	uint64_t lo = gmem_alloc(gm, 0, 64, 64);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 32, &vd);
	uint8_t b[64] = { 0 };
	CU_ASSERT_EQUAL(gmem_dev_read(&d, lo, b, 64), 0);
	CU_ASSERT_EQUAL(vd.n, 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, hi, b, 64), -1);
	const struct vt_violation *v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-dma-width");
	CU_ASSERT_EQUAL(v->addr, hi);
	CU_ASSERT_EQUAL(gmem_log_page(gm, hi), 0);

	/* The last byte decides: [2^32 - 32, 2^32 + 32) is too wide for 32
	 * bits (and the width check comes before the RAM check). */
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, (1ULL << 32) - 32, b, 64), -1);
	v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-dma-width");

	/* 33 bits reach the 4 GiB region; 39 bits do not reach 2^39 - 64. */
	vt_verdict_reset(&vd);
	d.addr_width = 33;
	CU_ASSERT_EQUAL(gmem_dev_read(&d, hi, b, 64), 0);
	d.addr_width = 39;
	CU_ASSERT_EQUAL(gmem_dev_read(&d, (1ULL << 39) - 64, b, 64), 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, (1ULL << 48) - 64, b, 64), -1);
	d.addr_width = 64;
	CU_ASSERT_EQUAL(gmem_dev_read(&d, (1ULL << 48) - 64, b, 64), 0);

	/* With checks off the width is not enforced. */
	vt_verdict_reset(&vd);
	d.addr_width = 32;
	d.checks = false;
	CU_ASSERT_EQUAL(gmem_dev_read(&d, hi, b, 64), 0);
	CU_ASSERT_EQUAL(vd.n, 0);
	gmem_destroy(gm);
}

static void test_not_ram(void)
{
	struct gmem *gm = make(MIB, true, false);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 64, &vd);
	uint8_t b[64];
	memset(b, 0x42, sizeof(b));
	CU_ASSERT_EQUAL(gmem_dev_read(&d, 0x80000000ULL, b, 64), -1);
	const struct vt_violation *v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-not-ram");
	CU_ASSERT_EQUAL(v->gpa, 0x80000000ULL);
	CU_ASSERT_EQUAL(b[0], 0x42);

	/* Straddling the end of low RAM. */
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(gmem_dev_write(&d, MIB - 32, b, 64), -1);
	CU_ASSERT_STRING_EQUAL(only_record()->rule, "INV-not-ram");

	/* A range that wraps past 2^64. */
	vt_verdict_reset(&vd);
	d.checks = false;
	CU_ASSERT_EQUAL(gmem_dev_read(&d, UINT64_MAX - 8, b, 64), -1);
	CU_ASSERT_STRING_EQUAL(only_record()->rule, "INV-not-ram");

	/* Enforced with checks off too: it protects the harness. */
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, 1ULL << 40, b, 64), -1);
	CU_ASSERT_STRING_EQUAL(only_record()->rule, "INV-not-ram");

	/* A zero-length access is no access. */
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, 1ULL << 40, b, 0), 0);
	CU_ASSERT_EQUAL(vd.n, 0);
	gmem_destroy(gm);
}

static void test_fixed_size_helpers(void)
{
	struct gmem *gm = make(MIB, false, false);
	uint64_t a = gmem_alloc(gm, 0, 16, 16);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 64, &vd);
	uint8_t *p = gmem_drv(gm, a, 16);
	CU_ASSERT_EQUAL(gmem_dev_write16(&d, a, 0x1234), 0);
	CU_ASSERT_EQUAL(p[0], 0x34);
	CU_ASSERT_EQUAL(p[1], 0x12);
	CU_ASSERT_EQUAL(gmem_dev_write16_rel(&d, a + 2, 0xbeef), 0);
	CU_ASSERT_EQUAL(p[2], 0xef);
	CU_ASSERT_EQUAL(p[3], 0xbe);
	CU_ASSERT_EQUAL(gmem_dev_write32(&d, a + 4, 0xa1b2c3d4), 0);
	CU_ASSERT_EQUAL(p[4], 0xd4);
	CU_ASSERT_EQUAL(p[7], 0xa1);
	p[8] = 0x78;
	p[9] = 0x56;
	uint16_t v = 0;
	CU_ASSERT_EQUAL(gmem_dev_read16(&d, a + 8, &v), 0);
	CU_ASSERT_EQUAL(v, 0x5678);
	v = 0;
	CU_ASSERT_EQUAL(gmem_dev_read16_acq(&d, a + 2, &v), 0);
	CU_ASSERT_EQUAL(v, 0xbeef);
	CU_ASSERT_EQUAL(gmem_dev_read16(&d, MIB, &v), -1);
	CU_ASSERT_EQUAL(gmem_dev_write32(&d, MIB - 2, 1), -1);
	gmem_destroy(gm);
}

/* ------------------------------------------------------------------ */
/* The access log                                                     */

static void test_log(void)
{
	struct gmem *gm = make(MIB, false, true);
	uint64_t a = gmem_alloc(gm, 0, 4 * PG, PG);
	CU_ASSERT_EQUAL(gmem_share(gm, a, 4 * PG), 0);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 64, &vd);
	uint8_t b[64] = { 0 };
	CU_ASSERT_EQUAL(gmem_dev_read(&d, a + 100, b, 64), 0);
	CU_ASSERT_EQUAL(gmem_dev_write(&d, a + 2 * PG - 8, b, 16), 0);   /* pages 1 and 2 */
	CU_ASSERT_EQUAL(gmem_log_page(gm, a), GMEM_LOG_READ);
	CU_ASSERT_EQUAL(gmem_log_page(gm, a + PG), GMEM_LOG_WRITE);
	CU_ASSERT_EQUAL(gmem_log_page(gm, a + 2 * PG), GMEM_LOG_WRITE);
	CU_ASSERT_EQUAL(gmem_log_page(gm, a + 3 * PG), 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, a + PG, b, 4), 0);
	CU_ASSERT_EQUAL(gmem_log_page(gm, a + PG), GMEM_LOG_READ | GMEM_LOG_WRITE);
	CU_ASSERT_EQUAL(gmem_log_count(gm, false), 3);
	CU_ASSERT_EQUAL(gmem_log_count(gm, true), 0);          /* a clean run */

	struct gmem_access acc[8];
	unsigned n = gmem_log_recent(gm, acc, 8);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(acc[0].addr, a + 100);
	CU_ASSERT_EQUAL(acc[0].len, 64);
	CU_ASSERT_EQUAL(acc[0].write, 0);
	CU_ASSERT_EQUAL(acc[1].gpa, a + 2 * PG - 8);
	CU_ASSERT_EQUAL(acc[1].write, 1);
	CU_ASSERT_EQUAL(acc[2].len, 4);
	CU_ASSERT_EQUAL(gmem_log_recent(gm, acc, 1), 1);       /* newest only */
	CU_ASSERT_EQUAL(acc[0].len, 4);

	/* The driver takes a touched page back: the log still shows the
	 * device touched a page that is private now. */
	CU_ASSERT_EQUAL(gmem_unshare(gm, a + PG, PG), 0);
	CU_ASSERT_EQUAL(gmem_log_count(gm, true), 1);

	/* The ring keeps the last 64. */
	for (unsigned i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(gmem_dev_read(&d, a + i, b, 1), 0);
	struct gmem_access many[100];
	CU_ASSERT_EQUAL(gmem_log_recent(gm, many, 100), 64);
	CU_ASSERT_EQUAL(many[63].addr, a + 99);
	CU_ASSERT_EQUAL(many[0].addr, a + 36);

	gmem_log_clear(gm);
	CU_ASSERT_EQUAL(gmem_log_count(gm, false), 0);
	CU_ASSERT_EQUAL(gmem_log_recent(gm, acc, 8), 0);

	/* Checks off: nothing is logged. */
	d.checks = false;
	CU_ASSERT_EQUAL(gmem_dev_read(&d, a, b, 8), 0);
	CU_ASSERT_EQUAL(gmem_log_count(gm, false), 0);
	CU_ASSERT_EQUAL(vd.n, 0);
	gmem_destroy(gm);
}

/* ------------------------------------------------------------------ */
/* The backstop                                                       */

static void test_backstop(void)
{
	struct gmem *gm = make(MIB, false, true);
	uint64_t a = gmem_alloc(gm, 0, 2 * PG, PG);
	memset(gmem_drv(gm, a, 2 * PG), 0x99, 2 * PG);
	CU_ASSERT_EQUAL(gmem_share(gm, a, PG), 0);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 64, &vd);
	d.checks = false;          /* skip the sharing check: only the backstop is left */

	uint8_t b[64];
	memset(b, 0x01, sizeof(b));
	CU_ASSERT_EQUAL(gmem_dev_read(&d, a + PG + 16, b, 64), -1);
	const struct vt_violation *v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-harness-fault");
	CU_ASSERT_EQUAL(v->who, VT_WHO_HARNESS);
	CU_ASSERT_EQUAL(v->page, (a + PG) >> 12);
	CU_ASSERT_EQUAL(v->gpa, a + PG + 16);
	CU_ASSERT_EQUAL(b[0], 0x01);

	/* The fault is caught again (the signal was not left blocked), on a
	 * write that starts in the shared page: the faulting GPA is the first
	 * byte of the private one. */
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(gmem_dev_write(&d, a + PG - 8, b, 64), -1);
	v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-harness-fault");
	CU_ASSERT_EQUAL(v->page, (a + PG) >> 12);
	CU_ASSERT_EQUAL(v->addr, a + PG);

	/* Access to the shared page still works afterwards. */
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, a, b, 64), 0);
	CU_ASSERT_EQUAL(b[0], 0x99);
	CU_ASSERT_EQUAL(vd.n, 0);

	/* Unsharing closes the device view again. */
	CU_ASSERT_EQUAL(gmem_unshare(gm, a, PG), 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, a + 4, b, 8), -1);
	v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-harness-fault");
	CU_ASSERT_EQUAL(v->page, a >> 12);
	gmem_destroy(gm);
}

/* A fault outside an armed copy is a real crash and must stay one. */
static void test_backstop_real_crash(void)
{
	struct gmem *gm = make(MIB, false, true);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, NULL, 64, &vd);        /* installs the handler */
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		volatile uint8_t *bad = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (bad != MAP_FAILED)
			(void)*bad;     /* a fault no copy armed for */
		_exit(0);
	}
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	/* Killed by SIGSEGV, or (under a sanitizer) reported and exited. */
	CU_ASSERT_TRUE((WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) ||
		       (WIFEXITED(st) && WEXITSTATUS(st) != 0));
	gmem_destroy(gm);
}

/* ------------------------------------------------------------------ */

static unsigned count_fds(void)
{
	unsigned n = 0;
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return 0;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

static unsigned count_maps(void)
{
	unsigned n = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	for (int c; (c = fgetc(f)) != EOF;)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_destroy_leaves_nothing(void)
{
	struct gmem *gm = make(MIB, true, true);     /* warm up allocator state */
	gmem_destroy(gm);
	unsigned fds = count_fds(), maps = count_maps();
	CU_ASSERT_TRUE(fds > 0);
	gm = make(MIB, true, true);
	CU_ASSERT_EQUAL(count_fds(), fds + 4);
	gmem_share(gm, 0, 3 * PG);                   /* splits the device view mapping */
	CU_ASSERT_TRUE(count_maps() > maps);
	gmem_destroy(gm);
	CU_ASSERT_EQUAL(count_fds(), fds);
	CU_ASSERT_EQUAL(count_maps(), maps);
}

/* Memory someone else owns: the region is their memfd at an offset; the
 * driver view and the accessor both see their bytes, writes reach them. */
static void test_from_fds(void)
{
	int fd = memfd_create("owner", MFD_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, 3 * GMEM_PAGE_SIZE) == 0);
	uint8_t *own = mmap(NULL, 3 * GMEM_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CU_ASSERT_FATAL(own != MAP_FAILED);
	memset(own, 0x11, GMEM_PAGE_SIZE);
	memcpy(own + GMEM_PAGE_SIZE, "owner-bytes", 11);

	struct gmem_layout l;
	gmem_layout_init(&l);
	CU_ASSERT_FATAL(gmem_layout_add(&l, 0x7f0000000000ULL, 2 * GMEM_PAGE_SIZE, 0) == 0);
	const int fds[] = { fd };
	const uint64_t offs[] = { GMEM_PAGE_SIZE };
	struct gmem *gm = gmem_create_from_fds(&l, fds, offs);
	CU_ASSERT_FATAL(gm != NULL);
	CU_ASSERT_FALSE(gmem_secure(gm));
	CU_ASSERT_EQUAL(memcmp(gmem_drv(gm, 0x7f0000000000ULL, 11), "owner-bytes", 11), 0);

	struct vt_verdict own_vd;
	struct gmem_dev d;
	char buf[11];
	vt_verdict_init(&own_vd);
	gmem_dev_init(&d, gm, NULL, 64, &own_vd);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, 0x7f0000000000ULL, buf, 11), 0);
	CU_ASSERT_EQUAL(memcmp(buf, "owner-bytes", 11), 0);
	CU_ASSERT_EQUAL(gmem_dev_write(&d, 0x7f0000000000ULL + 100, "x", 1), 0);
	CU_ASSERT_EQUAL(own[GMEM_PAGE_SIZE + 100], 'x');
	/* outside the region: not RAM, nothing copied */
	CU_ASSERT_EQUAL(gmem_dev_read(&d, 0x7f0000000000ULL + 2 * GMEM_PAGE_SIZE, buf, 1), -1);
	CU_ASSERT_TRUE(vt_verdict_has(&own_vd, "INV-not-ram"));
	gmem_destroy(gm);

	/* the owner's fd stays open: gmem kept a duplicate of its own */
	CU_ASSERT_EQUAL(fcntl(fd, F_GETFD) >= 0, 1);
	/* an offset that is not page aligned is refused */
	const uint64_t bad[] = { 100 };
	CU_ASSERT_PTR_NULL(gmem_create_from_fds(&l, fds, bad));
	munmap(own, 3 * GMEM_PAGE_SIZE);
	close(fd);
}

/* A secure guest's memory handed over by its VMM: private pages stay
 * reachable; a breach is recorded once per page (blamed as asked) and
 * carried out; shared pages are silent; the log counts private pages. */
static void test_observed(void)
{
	int fd = memfd_create("guest", MFD_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, 4 * PG) == 0);
	struct gmem_layout l;
	gmem_layout_init(&l);
	CU_ASSERT_FATAL(gmem_layout_add(&l, 0, 4 * PG, 0) == 0);
	const int fds[] = { fd };
	struct gmem *gm = gmem_create_observed(&l, fds, NULL);
	CU_ASSERT_FATAL(gm != NULL);
	CU_ASSERT_TRUE(gmem_secure(gm));
	memcpy(gmem_drv(gm, PG, 6), "secret", 6);
	CU_ASSERT_EQUAL(gmem_share(gm, 0, PG), 0);            /* page 0: the pool */

	struct vt_verdict own_vd;
	struct gmem_dev d;
	char buf[6];
	vt_verdict_init(&own_vd);
	gmem_dev_init(&d, gm, NULL, 64, &own_vd);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, 16, buf, 6), 0);     /* shared: silent */
	CU_ASSERT_EQUAL(own_vd.n, 0);
	/* a private page the driver handed over: recorded on the driver,
	 * and the device still gets the bytes */
	CU_ASSERT_EQUAL(gmem_dev_check(&d, PG, 6, false, VT_WHO_DRIVER), 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, PG, buf, 6), 0);
	CU_ASSERT_EQUAL(memcmp(buf, "secret", 6), 0);
	CU_ASSERT_EQUAL_FATAL(own_vd.n, 1);                    /* once per page */
	CU_ASSERT_STRING_EQUAL(own_vd.v[0].rule, "INV-unshared-access");
	CU_ASSERT_EQUAL(own_vd.v[0].who, VT_WHO_DRIVER);
	CU_ASSERT_EQUAL(own_vd.v[0].page, 1);
	/* a write over pages 2 and 3: one more record, both written */
	CU_ASSERT_EQUAL(gmem_dev_write(&d, 3 * PG - 2, "abcd", 4), 0);
	CU_ASSERT_EQUAL(own_vd.n, 2);
	CU_ASSERT_EQUAL(own_vd.v[1].who, VT_WHO_DEVICE);
	CU_ASSERT_EQUAL(memcmp(gmem_drv(gm, 3 * PG - 2, 4), "abcd", 4), 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, 3 * PG, buf, 2), 0);  /* page 3: already said */
	CU_ASSERT_EQUAL(own_vd.n, 2);
	CU_ASSERT_EQUAL(gmem_log_count(gm, true), 3);         /* pages 1, 2, 3 */
	CU_ASSERT_EQUAL(gmem_log_count(gm, false), 4);
	gmem_destroy(gm);
	close(fd);
}

/* A driver bumps a 16-bit ring index while the device reads it through the
 * accessor: every value read must be one the driver wrote, never an old
 * low byte under a new high byte (a torn read). */
struct torn_ctx {
	uint16_t *idx;          /* driver view */
	uint64_t written;       /* count of values stored (idx is its low 16 bits) */
	volatile int stop;
};

static void *torn_writer(void *arg)
{
	struct torn_ctx *t = arg;
	uint64_t v = 0;
	while (!t->stop) {
		v++;
		/* announce first: a value read is never ahead of written */
		__atomic_store_n(&t->written, v, __ATOMIC_RELEASE);
		__atomic_store_n(t->idx, (uint16_t)v, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_no_torn_ring_index(void)
{
	struct gmem_layout l;
	gmem_layout_standard(&l, 1 << 20, false);
	struct gmem *gm = gmem_create(&l, false);
	CU_ASSERT_FATAL(gm != NULL);
	struct vt_verdict own_vd;
	struct gmem_dev d;
	vt_verdict_init(&own_vd);
	gmem_dev_init(&d, gm, NULL, 64, &own_vd);

	const uint64_t gpa = 0x1002;          /* 2-byte aligned, like avail idx */
	struct torn_ctx t = { .idx = gmem_drv(gm, gpa, 2) };
	pthread_t w;
	CU_ASSERT_FATAL(pthread_create(&w, NULL, torn_writer, &t) == 0);

	unsigned long reads = 0, ahead = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 100000; i++) {
			uint16_t v;
			uint64_t before = __atomic_load_n(&t.written, __ATOMIC_ACQUIRE);
			if (gmem_dev_read16(&d, gpa, &v))
				break;
			uint64_t after = __atomic_load_n(&t.written, __ATOMIC_ACQUIRE);
			if (after - before >= 0x8000)
				continue;       /* too much happened to judge */
			/* a value stored before..after, or the one just before */
			if ((uint16_t)(v - (uint16_t)(before - 1)) > after - before + 1)
				ahead++;
			reads++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 400);
	t.stop = 1;
	pthread_join(w, NULL);
	if (ahead)
		fprintf(stderr, "%lu of %lu reads were torn\n", ahead, reads);
	CU_ASSERT_EQUAL(ahead, 0);
	CU_ASSERT_TRUE(reads > 100000);
	gmem_destroy(gm);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "layout errors", test_layout_errors },
		{ "standard layout", test_layout_standard },
		{ "sparse regions at 2^39 and 2^48", test_sparse_regions },
		{ "allocator alignment and release", test_alloc },
		{ "secure share and unshare", test_secure_share },
		{ "always-shared region", test_shared_region_flag },
		{ "release unshares", test_release_unshares },
		{ "accessor refuses private pages", test_unshared_access },
		{ "pre-flight check", test_dev_check },
		{ "DMA address width", test_width },
		{ "not guest RAM", test_not_ram },
		{ "little-endian helpers", test_fixed_size_helpers },
		{ "access log", test_log },
		{ "backstop catches unchecked access", test_backstop },
		{ "backstop leaves real crashes alone", test_backstop_real_crash },
		{ "destroy leaves nothing behind", test_destroy_leaves_nothing },
		{ "memory from another owner's fds", test_from_fds },
		{ "observed secure memory: breaches recorded, then served", test_observed },
		{ "no torn read of a ring index", test_no_torn_ring_index },
	};
	return UNIT_RUN("gmem", tests);
}
