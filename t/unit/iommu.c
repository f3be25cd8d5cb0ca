/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the IOMMU model: map/unmap/translate, permission and
 * aperture faults, translations through the device accessor (including
 * ranges that are not GPA-contiguous), the identity mode and its lock.
 */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <string.h>

#include "unit.h"

#include "harness/gmem.h"
#include "harness/iommu.h"
#include "harness/verdict.h"

#define MIB (1ULL << 20)
#define PG  GMEM_PAGE_SIZE

static struct vt_verdict vd;

static const struct vt_violation *only_record(void)
{
	CU_ASSERT_EQUAL_FATAL(vd.n, 1);
	return &vd.v[0];
}

static const struct iommu_fault *last_fault(struct iommu *io)
{
	unsigned n = 0;
	const struct iommu_fault *f = iommu_faults(io, &n);
	CU_ASSERT_FATAL(n > 0);
	return &f[n - 1];
}

static unsigned nfaults(struct iommu *io)
{
	unsigned n = 0;
	iommu_faults(io, &n);
	return n;
}

static struct iommu *make(unsigned aw)
{
	vt_verdict_init(&vd);
	struct iommu *io = iommu_create(aw, &vd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);
	return io;
}

static struct gmem *make_gmem(uint64_t low, bool high, bool secure)
{
	struct gmem_layout l;
	gmem_layout_standard(&l, low, high);
	struct gmem *gm = gmem_create(&l, secure);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gm);
	return gm;
}

/* ------------------------------------------------------------------ */

static void test_create(void)
{
	CU_ASSERT_PTR_NULL(iommu_create(11, NULL));
	CU_ASSERT_PTR_NULL(iommu_create(65, NULL));
	struct iommu *io = iommu_create(48, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);
	CU_ASSERT_EQUAL(iommu_aw_bits(io), 48);
	CU_ASSERT_EQUAL(iommu_mapped_pages(io), 0);
	CU_ASSERT_EQUAL(iommu_generation(io), 0);
	CU_ASSERT_FALSE(iommu_locked(io));
	iommu_destroy(io);
}

static void test_map_translate_unmap(void)
{
	struct iommu *io = make(48);
	uint64_t gpa = 0;
	CU_ASSERT_EQUAL(iommu_map(io, 0x10000, 0x200000, 2 * PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(iommu_mapped_pages(io), 2);
	CU_ASSERT_EQUAL(iommu_generation(io), 1);
	CU_ASSERT_EQUAL(iommu_translate(io, 0x10010, 16, IOMMU_PERM_R, &gpa), 0);
	CU_ASSERT_EQUAL(gpa, 0x200010);
	CU_ASSERT_EQUAL(iommu_translate(io, 0x10ff0, 64, IOMMU_PERM_W, &gpa), 0); /* crosses */
	CU_ASSERT_EQUAL(gpa, 0x200ff0);
	CU_ASSERT_EQUAL(nfaults(io), 0);
	CU_ASSERT_EQUAL(vd.n, 0);

	/* Errors change nothing. */
	CU_ASSERT_EQUAL(iommu_map(io, 0x11000, 0x900000, PG, IOMMU_PERM_R), -1);  /* mapped */
	CU_ASSERT_EQUAL(iommu_map(io, 0xf000, 0x900000, 2 * PG, IOMMU_PERM_R), -1); /* overlaps */
	CU_ASSERT_EQUAL(iommu_map(io, 0x20001, 0x900000, PG, IOMMU_PERM_R), -1);  /* unaligned */
	CU_ASSERT_EQUAL(iommu_map(io, 0x20000, 0x900800, PG, IOMMU_PERM_R), -1);
	CU_ASSERT_EQUAL(iommu_map(io, 0x20000, 0x900000, 100, IOMMU_PERM_R), -1);
	CU_ASSERT_EQUAL(iommu_map(io, 0x20000, 0x900000, PG, 0), -1);             /* no perm */
	CU_ASSERT_EQUAL(iommu_unmap(io, 0x11000, 2 * PG), -1);    /* second page unmapped */
	CU_ASSERT_EQUAL(iommu_mapped_pages(io), 2);
	CU_ASSERT_EQUAL(iommu_generation(io), 1);
	CU_ASSERT_EQUAL(iommu_translate(io, 0x11000, 8, IOMMU_PERM_R, &gpa), 0);
	CU_ASSERT_EQUAL(gpa, 0x201000);
	CU_ASSERT_EQUAL(iommu_map(io, 0xf000, 0x900000, PG, IOMMU_PERM_R), 0); /* the gap below */

	/* Unmap: the translation is gone at once. */
	CU_ASSERT_EQUAL(iommu_unmap(io, 0x10000, 2 * PG), 0);
	CU_ASSERT_EQUAL(iommu_mapped_pages(io), 1);
	CU_ASSERT_EQUAL(iommu_generation(io), 3);
	CU_ASSERT_EQUAL(iommu_translate(io, 0x10010, 16, IOMMU_PERM_R, &gpa), -1);
	const struct iommu_fault *f = last_fault(io);
	CU_ASSERT_EQUAL(f->kind, IOMMU_FAULT_UNMAPPED);
	CU_ASSERT_EQUAL(f->iova, 0x10010);
	CU_ASSERT_EQUAL(f->perm, IOMMU_PERM_R);
	const struct vt_violation *v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-iommu-fault");
	CU_ASSERT_EQUAL(v->who, VT_WHO_DEVICE);
	CU_ASSERT_EQUAL(v->addr, 0x10010);
	CU_ASSERT_EQUAL(v->gpa, 0);

	/* A range whose second page is unmapped faults on that page. */
	CU_ASSERT_EQUAL(iommu_translate(io, 0xfff0, 32, IOMMU_PERM_R, &gpa), -1);
	CU_ASSERT_EQUAL(last_fault(io)->iova, 0x10000);
	iommu_clear_faults(io);
	CU_ASSERT_EQUAL(nfaults(io), 0);
	iommu_destroy(io);
}

static void test_perm(void)
{
	struct iommu *io = make(39);
	uint64_t gpa = 0;
	CU_ASSERT_EQUAL(iommu_map(io, 0x40000, 0x3000, PG, IOMMU_PERM_R), 0);
	CU_ASSERT_EQUAL(iommu_map(io, 0x41000, 0x4000, PG, IOMMU_PERM_W), 0);
	CU_ASSERT_EQUAL(iommu_translate(io, 0x40000, 8, IOMMU_PERM_R, &gpa), 0);
	CU_ASSERT_EQUAL(iommu_translate(io, 0x41000, 8, IOMMU_PERM_W, &gpa), 0);
	CU_ASSERT_EQUAL(vd.n, 0);
	CU_ASSERT_EQUAL(iommu_translate(io, 0x40008, 8, IOMMU_PERM_W, &gpa), -1);
	const struct iommu_fault *f = last_fault(io);
	CU_ASSERT_EQUAL(f->kind, IOMMU_FAULT_PERM);
	CU_ASSERT_EQUAL(f->iova, 0x40008);
	CU_ASSERT_EQUAL(f->perm, IOMMU_PERM_W);
	CU_ASSERT_STRING_EQUAL(only_record()->rule, "INV-iommu-fault");
	CU_ASSERT_EQUAL(iommu_translate(io, 0x41000, 8, IOMMU_PERM_R, &gpa), -1);
	CU_ASSERT_EQUAL(last_fault(io)->kind, IOMMU_FAULT_PERM);
	CU_ASSERT_EQUAL(nfaults(io), 2);
	iommu_destroy(io);
}

static void test_aperture(void)
{
	struct iommu *io = make(39);
	uint64_t top = 1ULL << 39, gpa = 0;
	CU_ASSERT_EQUAL(iommu_map(io, top, 0, PG, IOMMU_PERM_RW), -1);
	CU_ASSERT_EQUAL(iommu_map(io, top - PG, 0, 2 * PG, IOMMU_PERM_RW), -1);
	CU_ASSERT_EQUAL(iommu_mapped_pages(io), 0);
	CU_ASSERT_EQUAL(iommu_map(io, top - PG, 0, PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(iommu_translate(io, top - 8, 8, IOMMU_PERM_R, &gpa), 0);
	CU_ASSERT_EQUAL(gpa, PG - 8);
	CU_ASSERT_EQUAL(nfaults(io), 0);

	CU_ASSERT_EQUAL(iommu_translate(io, top, 8, IOMMU_PERM_R, &gpa), -1);
	const struct iommu_fault *f = last_fault(io);
	CU_ASSERT_EQUAL(f->kind, IOMMU_FAULT_APERTURE);
	CU_ASSERT_EQUAL(f->iova, top);
	CU_ASSERT_STRING_EQUAL(only_record()->rule, "INV-iommu-fault");
	/* Straddling the top: the part beyond is what faults. */
	CU_ASSERT_EQUAL(iommu_translate(io, top - 8, 16, IOMMU_PERM_R, &gpa), -1);
	CU_ASSERT_EQUAL(last_fault(io)->kind, IOMMU_FAULT_APERTURE);
	CU_ASSERT_EQUAL(last_fault(io)->iova, top);
	/* Wrapping past 2^64 with the widest aperture. */
	struct iommu *wide = iommu_create(64, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(wide);
	CU_ASSERT_EQUAL(iommu_map(wide, UINT64_MAX - PG + 1, 0, PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(iommu_translate(wide, UINT64_MAX - 7, 8, IOMMU_PERM_R, &gpa), 0);
	CU_ASSERT_EQUAL(gpa, PG - 8);
	CU_ASSERT_EQUAL(iommu_translate(wide, UINT64_MAX - 7, 16, IOMMU_PERM_R, &gpa), -1);
	CU_ASSERT_EQUAL(last_fault(wide)->kind, IOMMU_FAULT_APERTURE);
	iommu_destroy(wide);
	iommu_destroy(io);
}

static void test_noncontiguous(void)
{
	struct iommu *io = make(48);
	uint64_t gpa = 0;
	CU_ASSERT_EQUAL(iommu_map(io, 0x100000, 0x8000, PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(iommu_map(io, 0x101000, 0x3000, PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(iommu_translate(io, 0x100ff0, 32, IOMMU_PERM_R, &gpa), 1);
	CU_ASSERT_EQUAL(gpa, 0x8ff0);
	CU_ASSERT_EQUAL(iommu_translate(io, 0x101000, 32, IOMMU_PERM_R, &gpa), 0);
	CU_ASSERT_EQUAL(gpa, 0x3000);
	CU_ASSERT_EQUAL(nfaults(io), 0);
	iommu_destroy(io);
}

/* Pages scattered over the whole 64-bit space, and a dense run of pages
 * mapped one by one: all found again. */
static uint64_t scattered_iova(uint64_t i)
{
	return (i * 0x9e3779b97f4a7c15ULL) & ~(PG - 1);
}

static void test_many_mappings(void)
{
	struct iommu *io = make(64);
	const uint64_t sparse = 512, dense = 20000, base = 0x7000000000ULL;
	uint64_t failed = 0, bad = 0, gpa = 0;
	for (uint64_t i = 0; i < sparse; i++)
		failed += iommu_map(io, scattered_iova(i), i * PG, PG, IOMMU_PERM_RW) != 0;
	for (uint64_t i = 0; i < dense; i++)
		failed += iommu_map(io, base + i * PG, (i * 7) * PG, PG, IOMMU_PERM_RW) != 0;
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(iommu_mapped_pages(io), sparse + dense);
	for (uint64_t i = 0; i < sparse; i++)
		if (iommu_translate(io, scattered_iova(i) + 5, 1, IOMMU_PERM_W, &gpa) ||
		    gpa != i * PG + 5)
			bad++;
	for (uint64_t i = 0; i < dense; i++)
		if (iommu_translate(io, base + i * PG + 9, 2, IOMMU_PERM_R, &gpa) ||
		    gpa != i * 7 * PG + 9)
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(nfaults(io), 0);
	iommu_destroy(io);
}

static void test_fault_cap(void)
{
	struct iommu *io = iommu_create(48, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);
	uint64_t gpa;
	for (unsigned i = 0; i < 1500; i++)
		iommu_translate(io, (uint64_t)i * PG, 1, IOMMU_PERM_R, &gpa);
	unsigned n = 0;
	const struct iommu_fault *f = iommu_faults(io, &n);
	CU_ASSERT_EQUAL(n, 1024);
	CU_ASSERT_EQUAL(f[1023].iova, 1023 * PG);
	iommu_destroy(io);
}

/* A translation cached by one thread must not outlive an unmap made by
 * another. */
struct xlate_ctx {
	struct iommu *io;
	pthread_barrier_t *bar;
	int before, after;
};

static void *xlate_thread(void *arg)
{
	struct xlate_ctx *c = arg;
	uint64_t gpa;
	c->before = iommu_translate(c->io, 0x5000, 8, IOMMU_PERM_R, &gpa);
	pthread_barrier_wait(c->bar);     /* main thread unmaps */
	pthread_barrier_wait(c->bar);
	c->after = iommu_translate(c->io, 0x5000, 8, IOMMU_PERM_R, &gpa);
	return NULL;
}

static void test_unmap_seen_by_other_thread(void)
{
	struct iommu *io = make(48);
	CU_ASSERT_EQUAL(iommu_map(io, 0x5000, 0x7000, PG, IOMMU_PERM_RW), 0);
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	struct xlate_ctx c = { io, &bar, 99, 99 };
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, xlate_thread, &c), 0);
	pthread_barrier_wait(&bar);
	CU_ASSERT_EQUAL(iommu_unmap(io, 0x5000, PG), 0);
	iommu_invalidate(io, 0x5000, PG);
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);
	CU_ASSERT_EQUAL(c.before, 0);
	CU_ASSERT_EQUAL(c.after, -1);
	CU_ASSERT_EQUAL(last_fault(io)->kind, IOMMU_FAULT_UNMAPPED);
	iommu_destroy(io);
}

/* ------------------------------------------------------------------ */
/* Through the device accessor                                        */

static void test_accessor_noncontiguous(void)
{
	struct gmem *gm = make_gmem(MIB, false, false);
	struct iommu *io = make(48);
	uint64_t a = gmem_alloc(gm, 0, PG, PG);
	gmem_alloc(gm, 0, PG, PG);                        /* keep a and b apart */
	uint64_t b = gmem_alloc(gm, 0, PG, PG);
	const uint64_t iova = 0x40000000;
	/* IOVA page 0 -> b, page 1 -> a: GPA order is reversed. */
	CU_ASSERT_EQUAL(iommu_map(io, iova, b, PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(iommu_map(io, iova + PG, a, PG, IOMMU_PERM_RW), 0);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, io, 64, &vd);

	uint8_t src[64], back[64];
	for (unsigned i = 0; i < 64; i++)
		src[i] = (uint8_t)(i + 1);
	CU_ASSERT_EQUAL(gmem_dev_write(&d, iova + PG - 32, src, 64), 0);
	CU_ASSERT_EQUAL(memcmp(gmem_drv(gm, b + PG - 32, 32), src, 32), 0);
	CU_ASSERT_EQUAL(memcmp(gmem_drv(gm, a, 32), src + 32, 32), 0);
	CU_ASSERT_EQUAL(gmem_log_page(gm, a), GMEM_LOG_WRITE);
	CU_ASSERT_EQUAL(gmem_log_page(gm, b), GMEM_LOG_WRITE);
	CU_ASSERT_EQUAL(gmem_log_page(gm, a + PG), 0);     /* the page between */
	memset(back, 0, sizeof(back));
	CU_ASSERT_EQUAL(gmem_dev_read(&d, iova + PG - 32, back, 64), 0);
	CU_ASSERT_EQUAL(memcmp(back, src, 64), 0);

	struct gmem_access acc[4];
	CU_ASSERT_EQUAL_FATAL(gmem_log_recent(gm, acc, 4), 4);
	CU_ASSERT_EQUAL(acc[2].addr, iova + PG - 32);
	CU_ASSERT_EQUAL(acc[2].gpa, b + PG - 32);
	CU_ASSERT_EQUAL(acc[3].addr, iova + PG);
	CU_ASSERT_EQUAL(acc[3].gpa, a);
	CU_ASSERT_EQUAL(vd.n, 0);

	/* Unmapped IOVA: a fault, nothing copied. */
	memset(back, 0x5e, sizeof(back));
	CU_ASSERT_EQUAL(gmem_dev_read(&d, iova + 2 * PG - 8, back, 64), -1);
	CU_ASSERT_STRING_EQUAL(only_record()->rule, "INV-iommu-fault");
	CU_ASSERT_EQUAL(only_record()->who, VT_WHO_DEVICE);
	CU_ASSERT_EQUAL(back[0], 0x5e);

	/* A pre-flight check blames the driver for its bad address. */
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(gmem_dev_check(&d, iova + 5 * PG, 8, false, VT_WHO_DRIVER), -1);
	CU_ASSERT_STRING_EQUAL(only_record()->rule, "INV-iommu-fault");
	CU_ASSERT_EQUAL(only_record()->who, VT_WHO_DRIVER);

	/* A mapping to a GPA that is not RAM. */
	vt_verdict_reset(&vd);
	CU_ASSERT_EQUAL(iommu_map(io, iova + 8 * PG, 1ULL << 36, PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, iova + 8 * PG, back, 8), -1);
	CU_ASSERT_STRING_EQUAL(only_record()->rule, "INV-not-ram");
	CU_ASSERT_EQUAL(only_record()->addr, iova + 8 * PG);
	CU_ASSERT_EQUAL(only_record()->gpa, 1ULL << 36);
	iommu_destroy(io);
	gmem_destroy(gm);
}

/* Secure guest behind an IOMMU: the second piece of a split range is
 * private, so nothing is copied, not even the shared first piece. */
static void test_accessor_private_piece(void)
{
	struct gmem *gm = make_gmem(MIB, false, true);
	struct iommu *io = make(39);
	uint64_t a = gmem_alloc(gm, 0, PG, PG);
	gmem_alloc(gm, 0, PG, PG);
	uint64_t b = gmem_alloc(gm, 0, PG, PG);
	CU_ASSERT_EQUAL(gmem_share(gm, a, PG), 0);               /* b stays private */
	CU_ASSERT_EQUAL(iommu_map(io, 0x10000, a, PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(iommu_map(io, 0x11000, b, PG, IOMMU_PERM_RW), 0);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, io, 39, &vd);
	uint8_t src[64];
	memset(src, 0xaa, sizeof(src));
	CU_ASSERT_EQUAL(gmem_dev_write(&d, 0x11000 - 32, src, 64), -1);
	const struct vt_violation *v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-unshared-access");
	CU_ASSERT_EQUAL(v->addr, 0x11000);
	CU_ASSERT_EQUAL(v->gpa, b);
	CU_ASSERT_EQUAL(((uint8_t *)gmem_drv(gm, a + PG - 32, 1))[0], 0);
	CU_ASSERT_EQUAL(gmem_log_count(gm, false), 0);
	iommu_destroy(io);
	gmem_destroy(gm);
}

/* The width applies to the IOVA the device emits, not to the GPA. */
static void test_accessor_width_on_iova(void)
{
	struct gmem *gm = make_gmem(MIB, true, false);
	struct iommu *io = make(48);
	uint64_t hi = gmem_alloc(gm, 3, PG, PG);                 /* GPA near 2^48 */
	CU_ASSERT_EQUAL(iommu_map(io, 0x1000, hi, PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(iommu_map(io, 1ULL << 33, 0, PG, IOMMU_PERM_RW), 0);
	struct gmem_dev d;
	gmem_dev_init(&d, gm, io, 32, &vd);
	uint8_t b[16];
	CU_ASSERT_EQUAL(gmem_dev_read(&d, 0x1000, b, 16), 0);
	CU_ASSERT_EQUAL(vd.n, 0);
	CU_ASSERT_EQUAL(gmem_dev_read(&d, 1ULL << 33, b, 16), -1);
	CU_ASSERT_STRING_EQUAL(only_record()->rule, "INV-dma-width");
	iommu_destroy(io);
	gmem_destroy(gm);
}

/* ------------------------------------------------------------------ */
/* Identity mode                                                      */

static void test_identity(void)
{
	struct gmem *gm = make_gmem(MIB, true, false);
	struct iommu *io = make(48);
	CU_ASSERT_FALSE(iommu_identity_complete(io, gm));
	CU_ASSERT_EQUAL(iommu_identity_map_all(io, gm), 0);
	CU_ASSERT_EQUAL(iommu_mapped_pages(io), 4 * (MIB / PG));
	CU_ASSERT_TRUE(iommu_identity_complete(io, gm));
	/* Again: pages already mapped 1:1 are fine. */
	CU_ASSERT_EQUAL(iommu_identity_map_all(io, gm), 0);
	CU_ASSERT_EQUAL(iommu_mapped_pages(io), 4 * (MIB / PG));

	uint64_t gpa = 0;
	uint64_t near48 = (1ULL << 48) - 100;
	CU_ASSERT_EQUAL(iommu_translate(io, near48, 50, IOMMU_PERM_W, &gpa), 0);
	CU_ASSERT_EQUAL(gpa, near48);

	/* One page missing, or only readable: incomplete. */
	CU_ASSERT_EQUAL(iommu_unmap(io, 1ULL << 32, PG), 0);
	CU_ASSERT_FALSE(iommu_identity_complete(io, gm));
	CU_ASSERT_EQUAL(iommu_map(io, 1ULL << 32, 1ULL << 32, PG, IOMMU_PERM_R), 0);
	CU_ASSERT_FALSE(iommu_identity_complete(io, gm));
	/* ... and map_all cannot repair a page mapped otherwise. */
	CU_ASSERT_EQUAL(iommu_identity_map_all(io, gm), -1);
	CU_ASSERT_EQUAL(iommu_unmap(io, 1ULL << 32, PG), 0);
	CU_ASSERT_EQUAL(iommu_identity_map_all(io, gm), 0);
	CU_ASSERT_TRUE(iommu_identity_complete(io, gm));
	CU_ASSERT_EQUAL(vd.n, 0);
	iommu_destroy(io);

	/* A 39-bit aperture cannot hold the region just below 2^48. */
	io = make(39);
	CU_ASSERT_EQUAL(iommu_identity_map_all(io, gm), -1);
	CU_ASSERT_FALSE(iommu_identity_complete(io, gm));
	CU_ASSERT_EQUAL(iommu_mapped_pages(io), 3 * (MIB / PG));   /* the rest was mapped */
	CU_ASSERT_EQUAL(iommu_translate(io, (1ULL << 39) - 8, 8, IOMMU_PERM_R, &gpa), 0);
	iommu_destroy(io);
	gmem_destroy(gm);
}

static void test_locked(void)
{
	struct gmem *gm = make_gmem(MIB, false, false);
	struct iommu *io = make(48);
	CU_ASSERT_EQUAL(iommu_identity_map_all(io, gm), 0);
	iommu_lock(io);
	CU_ASSERT_TRUE(iommu_locked(io));
	CU_ASSERT_EQUAL(nfaults(io), 0);
	uint64_t gen = iommu_generation(io);

	/* The change happens, and is recorded against the driver. */
	CU_ASSERT_EQUAL(iommu_unmap(io, 0x3000, PG), 0);
	CU_ASSERT_EQUAL(iommu_generation(io), gen + 1);
	const struct iommu_fault *f = last_fault(io);
	CU_ASSERT_EQUAL(f->kind, IOMMU_FAULT_CHANGED_LOCKED);
	CU_ASSERT_EQUAL(f->iova, 0x3000);
	const struct vt_violation *v = only_record();
	CU_ASSERT_STRING_EQUAL(v->rule, "INV-iommu-changed");
	CU_ASSERT_EQUAL(v->who, VT_WHO_DRIVER);
	CU_ASSERT_FALSE(iommu_identity_complete(io, gm));
	uint64_t gpa;
	CU_ASSERT_EQUAL(iommu_translate(io, 0x3000, 4, IOMMU_PERM_R, &gpa), -1);
	CU_ASSERT_EQUAL(last_fault(io)->kind, IOMMU_FAULT_UNMAPPED);

	CU_ASSERT_EQUAL(iommu_map(io, 0x3000, 0x3000, PG, IOMMU_PERM_RW), 0);
	CU_ASSERT_EQUAL(last_fault(io)->kind, IOMMU_FAULT_CHANGED_LOCKED);
	CU_ASSERT_EQUAL(nfaults(io), 3);
	/* A refused change changes nothing, so it is no broken promise. */
	CU_ASSERT_EQUAL(iommu_map(io, 0x3000, 0x3000, PG, IOMMU_PERM_RW), -1);
	CU_ASSERT_EQUAL(nfaults(io), 3);

	/* After reset the driver may change the map again. */
	iommu_unlock(io);
	CU_ASSERT_FALSE(iommu_locked(io));
	CU_ASSERT_EQUAL(iommu_unmap(io, 0x3000, PG), 0);
	CU_ASSERT_EQUAL(nfaults(io), 3);
	iommu_destroy(io);
	gmem_destroy(gm);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "create", test_create },
		{ "map, translate, unmap", test_map_translate_unmap },
		{ "permission faults", test_perm },
		{ "aperture faults", test_aperture },
		{ "non-contiguous ranges", test_noncontiguous },
		{ "many sparse mappings", test_many_mappings },
		{ "fault list cap", test_fault_cap },
		{ "unmap seen by another thread", test_unmap_seen_by_other_thread },
		{ "accessor across non-contiguous pages", test_accessor_noncontiguous },
		{ "accessor with a private piece", test_accessor_private_piece },
		{ "accessor width on the IOVA", test_accessor_width_on_iova },
		{ "identity map complete and incomplete", test_identity },
		{ "changes while locked", test_locked },
	};
	return UNIT_RUN("iommu", tests);
}
