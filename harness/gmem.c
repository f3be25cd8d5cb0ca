/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gmem.c - guest memory with enforced sharing, and the one accessor a
 * device uses to touch it.
 *
 * Every region is a memfd mapped twice: the driver view (read/write) and
 * the device view, where a private page of a secure guest is PROT_NONE.
 * Per page we keep one metadata byte: the device-read and device-written
 * log bits and whether the page is shared right now.
 *
 * The accessor translates, checks width, RAM and sharing, logs, and only
 * then copies through the device view.  The copy runs with a fault
 * handler armed: if the device view faults anyway (an access that skipped
 * the checks), the fault is caught and recorded as INV-harness-fault with
 * its GPA, never silently allowed and never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gmem.h"
#include "iommu.h"

#define PAGE_MASK       (GMEM_PAGE_SIZE - 1)
#define META_SHARED     0x4          /* page is shared now (device view RW) */
#define META_REPORTED   0x8          /* observed guest: its breach is recorded */
#define META_LOG        (GMEM_LOG_READ | GMEM_LOG_WRITE)
#define RECENT_MAX      64           /* ring of the last accesses */

struct region {
	struct gmem_region_desc d;
	uint64_t end;            /* d.gpa + d.size */
	int fd;
	uint8_t *drv;            /* driver view */
	uint8_t *dev;            /* device view (between two guard pages) */
	uint8_t *dev_resv;       /* start of the device-view reservation */
	uint8_t *meta;           /* one byte per page: META_SHARED | GMEM_LOG_* */
	uint64_t bump;           /* next free GPA of the allocator */
	uint64_t fd_off;         /* offset of the region in its fd */
};

struct gmem {
	bool secure;
	bool observed;          /* private pages stay reachable: a breach is
				    recorded once per page, then carried out */
	unsigned n;
	unsigned cache;          /* index of the region looked up last */
	struct region r[GMEM_MAX_REGIONS];
	uint64_t recent_head;    /* accesses pushed so far */
	struct gmem_access recent[RECENT_MAX];
};

static void backstop_ensure(void);

/* ------------------------------------------------------------------ */
/* Layout                                                             */

void gmem_layout_init(struct gmem_layout *l)
{
	memset(l, 0, sizeof(*l));
}

/* [gpa, gpa+size) is page aligned, non-empty and does not wrap. */
static bool desc_valid(uint64_t gpa, uint64_t size, unsigned flags)
{
	if (size == 0 || (gpa & PAGE_MASK) || (size & PAGE_MASK))
		return false;
	if (size > UINT64_MAX - gpa)
		return false;
	return (flags & ~(unsigned)GMEM_REGION_SHARED) == 0;
}

static bool desc_overlap(const struct gmem_region_desc *a, uint64_t gpa, uint64_t size)
{
	return gpa < a->gpa + a->size && a->gpa < gpa + size;
}

int gmem_layout_add(struct gmem_layout *l, uint64_t gpa, uint64_t size, unsigned flags)
{
	if (l->nregions >= GMEM_MAX_REGIONS || !desc_valid(gpa, size, flags))
		return -1;
	for (unsigned i = 0; i < l->nregions; i++)
		if (desc_overlap(&l->region[i], gpa, size))
			return -1;
	l->region[l->nregions++] = (struct gmem_region_desc){ gpa, size, flags };
	return 0;
}

void gmem_layout_standard(struct gmem_layout *l, uint64_t low, bool high)
{
	gmem_layout_init(l);
	gmem_layout_add(l, 0, low, 0);
	if (!high)
		return;
	gmem_layout_add(l, 1ULL << 32, low, 0);
	gmem_layout_add(l, (1ULL << 39) - low, low, 0);
	gmem_layout_add(l, (1ULL << 48) - low, low, 0);
}

static bool layout_valid(const struct gmem_layout *l)
{
	if (l->nregions == 0 || l->nregions > GMEM_MAX_REGIONS)
		return false;
	for (unsigned i = 0; i < l->nregions; i++) {
		const struct gmem_region_desc *d = &l->region[i];
		if (!desc_valid(d->gpa, d->size, d->flags))
			return false;
		for (unsigned j = 0; j < i; j++)
			if (desc_overlap(&l->region[j], d->gpa, d->size))
				return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Create / destroy                                                   */

static void region_unmap(struct region *r)
{
	if (r->drv)
		munmap(r->drv, r->d.size);
	if (r->dev_resv)
		munmap(r->dev_resv, r->d.size + 2 * GMEM_PAGE_SIZE);
	if (r->fd >= 0)
		close(r->fd);
	free(r->meta);
	r->drv = r->dev = r->dev_resv = r->meta = NULL;
	r->fd = -1;
}

static bool region_always_shared(const struct gmem *gm, const struct region *r)
{
	return !gm->secure || (r->d.flags & GMEM_REGION_SHARED);
}

/* Is the device view of the region readable and writable whatever is
 * shared?  Yes unless private pages are protected. */
static bool region_always_mapped(const struct gmem *gm, const struct region *r)
{
	return gm->observed || region_always_shared(gm, r);
}

/* The device view sits between two PROT_NONE guard pages, so a copy that
 * ran past a region's end faults too instead of reaching other memory. */
static int region_map(struct gmem *gm, struct region *r)
{
	uint64_t npages = r->d.size >> GMEM_PAGE_SHIFT;
	bool shared = region_always_shared(gm, r);
	bool mapped = region_always_mapped(gm, r);

	if (r->fd < 0) {
		r->fd = memfd_create("vcts-gmem", MFD_CLOEXEC);
		if (r->fd < 0)
			return -1;
		if (ftruncate(r->fd, (off_t)r->d.size) < 0)
			return -1;
	}
	void *p = mmap(NULL, r->d.size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, (off_t)r->fd_off);
	if (p == MAP_FAILED)
		return -1;
	r->drv = p;
	p = mmap(NULL, r->d.size + 2 * GMEM_PAGE_SIZE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	r->dev_resv = p;
	p = mmap(r->dev_resv + GMEM_PAGE_SIZE, r->d.size,
		 mapped ? PROT_READ | PROT_WRITE : PROT_NONE, MAP_SHARED | MAP_FIXED, r->fd, (off_t)r->fd_off);
	if (p == MAP_FAILED)
		return -1;
	r->dev = p;
	r->meta = calloc(npages, 1);
	if (!r->meta)
		return -1;
	if (shared)
		memset(r->meta, META_SHARED, npages);
	r->bump = r->d.gpa;
	return 0;
}

static struct gmem *create(const struct gmem_layout *l, bool secure, bool observed,
			   const int *fds, const uint64_t *offsets)
{
	if (!l || !layout_valid(l)) {
		errno = EINVAL;
		return NULL;
	}
	struct gmem *gm = calloc(1, sizeof(*gm));
	if (!gm)
		return NULL;
	backstop_ensure();
	gm->secure = secure;
	gm->observed = observed;
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		gm->r[i].fd = -1;
	for (unsigned i = 0; i < l->nregions; i++) {
		struct region *r = &gm->r[i];
		r->d = l->region[i];
		if (fds) {
			r->fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
			r->fd_off = offsets ? offsets[i] : 0;
			if (r->fd < 0 || (r->fd_off & PAGE_MASK)) {
				int e = r->fd < 0 ? errno : EINVAL;
				gm->n = i + 1;
				gmem_destroy(gm);
				errno = e;
				return NULL;
			}
		}
		r->end = r->d.gpa + r->d.size;
		gm->n = i + 1;
		if (region_map(gm, r) < 0) {
			int e = errno;
			gmem_destroy(gm);
			errno = e;
			return NULL;
		}
	}
	return gm;
}

struct gmem *gmem_create(const struct gmem_layout *l, bool secure)
{
	return create(l, secure, false, NULL, NULL);
}

struct gmem *gmem_create_from_fds(const struct gmem_layout *l, const int *fds,
				  const uint64_t *offsets)
{
	return create(l, false, false, fds, offsets);
}

struct gmem *gmem_create_observed(const struct gmem_layout *l, const int *fds,
				  const uint64_t *offsets)
{
	return create(l, true, true, fds, offsets);
}

void gmem_destroy(struct gmem *gm)
{
	if (!gm)
		return;
	for (unsigned i = 0; i < gm->n; i++)
		region_unmap(&gm->r[i]);
	free(gm);
}

bool gmem_secure(const struct gmem *gm)
{
	return gm->secure;
}

unsigned gmem_nregions(const struct gmem *gm)
{
	return gm->n;
}

const struct gmem_region_desc *gmem_region(const struct gmem *gm, unsigned idx)
{
	return idx < gm->n ? &gm->r[idx].d : NULL;
}

int gmem_region_fd(const struct gmem *gm, unsigned idx)
{
	return idx < gm->n ? gm->r[idx].fd : -1;
}

/* ------------------------------------------------------------------ */
/* Lookup                                                             */

static inline bool region_holds(const struct region *r, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - r->d.gpa;
	return gpa >= r->d.gpa && off < r->d.size && len <= r->d.size - off;
}

/* The region holding [gpa, gpa+len) (len >= 1), or NULL.  The last hit is
 * cached: a device mostly works in one region. */
static inline struct region *find_region(const struct gmem *cgm, uint64_t gpa, uint64_t len)
{
	struct gmem *gm = (struct gmem *)cgm;   /* the cache is not state */
	unsigned c = __atomic_load_n(&gm->cache, __ATOMIC_RELAXED);
	if (region_holds(&gm->r[c], gpa, len))
		return &gm->r[c];
	for (unsigned i = 0; i < gm->n; i++) {
		if (region_holds(&gm->r[i], gpa, len)) {
			__atomic_store_n(&gm->cache, i, __ATOMIC_RELAXED);
			return &gm->r[i];
		}
	}
	return NULL;
}

/* The region containing byte `gpa`, or NULL. */
static struct region *region_at(const struct gmem *gm, uint64_t gpa)
{
	return find_region(gm, gpa, 1);
}

int gmem_find(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	const struct region *r = find_region(gm, gpa, len ? len : 1);
	return r ? (int)(r - gm->r) : -1;
}

void *gmem_drv(struct gmem *gm, uint64_t gpa, uint64_t len)
{
	struct region *r = find_region(gm, gpa, len ? len : 1);
	return r ? r->drv + (gpa - r->d.gpa) : NULL;
}

/* ------------------------------------------------------------------ */
/* Sharing                                                            */

/* Round [gpa, gpa+len) out to whole pages.  False if it wraps. */
static bool page_range(uint64_t gpa, uint64_t len, uint64_t *start, uint64_t *end)
{
	if (len > UINT64_MAX - gpa)
		return false;
	*start = gpa & ~PAGE_MASK;
	uint64_t last = gpa + len - 1;
	*end = (last & ~PAGE_MASK) + GMEM_PAGE_SIZE;   /* 0 if the last page ends at 2^64 */
	return *end != 0;
}

/* Is every page of [start, end) in some region?  Regions may be adjacent,
 * so a range may span several. */
static bool range_is_ram(const struct gmem *gm, uint64_t start, uint64_t end)
{
	while (start < end) {
		const struct region *r = region_at(gm, start);
		if (!r)
			return false;
		start = r->end < end ? r->end : end;
	}
	return true;
}

static int set_shared(struct gmem *gm, uint64_t gpa, uint64_t len, bool share)
{
	uint64_t start, end;
	if (len == 0)
		return 0;
	if (!page_range(gpa, len, &start, &end) || !range_is_ram(gm, start, end))
		return -1;
	while (start < end) {
		struct region *r = region_at(gm, start);
		uint64_t stop = r->end < end ? r->end : end;
		if (!region_always_shared(gm, r)) {
			uint64_t p0 = (start - r->d.gpa) >> GMEM_PAGE_SHIFT;
			uint64_t np = (stop - start) >> GMEM_PAGE_SHIFT;
			uint8_t *view = r->dev + (start - r->d.gpa);
			/* Shared bit set only once the page is reachable, and
			 * cleared before it becomes unreachable. */
			bool prot = !region_always_mapped(gm, r);
			if (share) {
				if (prot && mprotect(view, stop - start, PROT_READ | PROT_WRITE) < 0)
					return -1;
				for (uint64_t i = 0; i < np; i++)
					__atomic_fetch_or(&r->meta[p0 + i], META_SHARED, __ATOMIC_RELEASE);
			} else {
				for (uint64_t i = 0; i < np; i++)
					__atomic_fetch_and(&r->meta[p0 + i], (uint8_t)~META_SHARED,
							   __ATOMIC_RELEASE);
				if (prot && mprotect(view, stop - start, PROT_NONE) < 0)
					return -1;
			}
		}
		start = stop;
	}
	return 0;
}

int gmem_share(struct gmem *gm, uint64_t gpa, uint64_t len)
{
	return set_shared(gm, gpa, len, true);
}

int gmem_unshare(struct gmem *gm, uint64_t gpa, uint64_t len)
{
	return set_shared(gm, gpa, len, false);
}

bool gmem_is_shared(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t start, end;
	if (!page_range(gpa, len ? len : 1, &start, &end) || !range_is_ram(gm, start, end))
		return false;
	for (; start < end; start += GMEM_PAGE_SIZE) {
		const struct region *r = region_at(gm, start);
		uint64_t pg = (start - r->d.gpa) >> GMEM_PAGE_SHIFT;
		if (!(__atomic_load_n(&r->meta[pg], __ATOMIC_ACQUIRE) & META_SHARED))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Allocator                                                          */

uint64_t gmem_alloc(struct gmem *gm, unsigned idx, uint64_t size, uint64_t align)
{
	if (idx >= gm->n || size == 0)
		return GMEM_NOADDR;
	if (align == 0)
		align = 1;
	if (align & (align - 1))
		return GMEM_NOADDR;
	struct region *r = &gm->r[idx];
	if (r->bump > UINT64_MAX - (align - 1))
		return GMEM_NOADDR;
	uint64_t gpa = (r->bump + align - 1) & ~(align - 1);
	if (gpa >= r->end || size > r->end - gpa)
		return GMEM_NOADDR;
	memset(r->drv + (gpa - r->d.gpa), 0, size);
	r->bump = gpa + size;
	return gpa;
}

uint64_t gmem_alloc_mark(struct gmem *gm, unsigned idx)
{
	return idx < gm->n ? gm->r[idx].bump : GMEM_NOADDR;
}

void gmem_alloc_release(struct gmem *gm, unsigned idx, uint64_t mark)
{
	if (idx >= gm->n)
		return;
	struct region *r = &gm->r[idx];
	if (mark < r->d.gpa || mark > r->bump)
		return;
	/* Only pages wholly past the mark go back to private: the page the
	 * mark sits in may still hold earlier allocations. */
	uint64_t first = (mark + PAGE_MASK) & ~PAGE_MASK;
	uint64_t last = (r->bump + PAGE_MASK) & ~PAGE_MASK;
	if (gm->secure && last > first)
		set_shared(gm, first, last - first, false);
	memset(r->drv + (mark - r->d.gpa), 0, r->bump - mark);
	r->bump = mark;
}

/* ------------------------------------------------------------------ */
/* Access log                                                         */

unsigned gmem_log_page(const struct gmem *gm, uint64_t gpa)
{
	const struct region *r = region_at(gm, gpa);
	if (!r)
		return 0;
	uint64_t pg = (gpa - r->d.gpa) >> GMEM_PAGE_SHIFT;
	return __atomic_load_n(&r->meta[pg], __ATOMIC_RELAXED) & META_LOG;
}

uint64_t gmem_log_count(const struct gmem *gm, bool private_only)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < gm->n; i++) {
		const struct region *r = &gm->r[i];
		uint64_t np = r->d.size >> GMEM_PAGE_SHIFT;
		for (uint64_t p = 0; p < np; p++) {
			uint8_t m = __atomic_load_n(&r->meta[p], __ATOMIC_RELAXED);
			if ((m & META_LOG) && !(private_only && (m & META_SHARED)))
				n++;
		}
	}
	return n;
}

void gmem_log_clear(struct gmem *gm)
{
	for (unsigned i = 0; i < gm->n; i++) {
		struct region *r = &gm->r[i];
		uint64_t np = r->d.size >> GMEM_PAGE_SHIFT;
		for (uint64_t p = 0; p < np; p++)
			if (__atomic_load_n(&r->meta[p], __ATOMIC_RELAXED) & META_LOG)
				__atomic_fetch_and(&r->meta[p], (uint8_t)~META_LOG, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&gm->recent_head, 0, __ATOMIC_RELAXED);
}

unsigned gmem_log_recent(const struct gmem *gm, struct gmem_access *out, unsigned max)
{
	uint64_t head = __atomic_load_n(&gm->recent_head, __ATOMIC_ACQUIRE);
	uint64_t n = head < RECENT_MAX ? head : RECENT_MAX;
	if (n > max)
		n = max;
	for (uint64_t i = 0; i < n; i++)
		out[i] = gm->recent[(head - n + i) % RECENT_MAX];
	return (unsigned)n;
}

/* Set the log bits of the pages of [gpa, gpa+len) in r.  The atomic OR is
 * only paid the first time a page is touched. */
static inline void log_pages(struct region *r, uint64_t gpa, uint64_t len, uint8_t bit)
{
	uint64_t p0 = (gpa - r->d.gpa) >> GMEM_PAGE_SHIFT;
	uint64_t p1 = (gpa + len - 1 - r->d.gpa) >> GMEM_PAGE_SHIFT;
	for (uint64_t p = p0; p <= p1; p++)
		if (!(__atomic_load_n(&r->meta[p], __ATOMIC_RELAXED) & bit))
			__atomic_fetch_or(&r->meta[p], bit, __ATOMIC_RELAXED);
}

/* Push onto the ring of recent accesses.  Exact with one device thread per
 * gmem; devices on several threads may overwrite each other's entries (the
 * per-page bits stay exact). */
static inline void log_recent(struct gmem *gm, uint64_t addr, uint64_t gpa, uint64_t len,
			      bool write)
{
	uint64_t h = __atomic_load_n(&gm->recent_head, __ATOMIC_RELAXED);
	struct gmem_access *a = &gm->recent[h % RECENT_MAX];
	a->addr = addr;
	a->gpa = gpa;
	a->len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	a->write = write;
	__atomic_store_n(&gm->recent_head, h + 1, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ */
/* Backstop: a fault in the device view during an armed copy           */

static __thread sigjmp_buf *volatile armed_copy;
static __thread volatile uintptr_t fault_host_addr;
static struct sigaction prev_segv, prev_bus;
static pthread_once_t backstop_once = PTHREAD_ONCE_INIT;

/* Not ours: hand the signal to whoever had it before (a sanitizer), or
 * let the default action end the process as a real crash must. */
static void backstop_pass_on(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *prev = sig == SIGSEGV ? &prev_segv : &prev_bus;
	if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
		prev->sa_sigaction(sig, si, uc);
		return;
	}
	if (!(prev->sa_flags & SA_SIGINFO) && prev->sa_handler != SIG_DFL &&
	    prev->sa_handler != SIG_IGN) {
		prev->sa_handler(sig);
		return;
	}
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	/* A fault re-executes and hits the default action; a signal sent
	 * with kill() does not, so send it again. */
	if (si->si_code <= 0)
		raise(sig);
}

static void backstop_handler(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *jb = armed_copy;
	/* Ours only if a copy is armed and the kernel raised it for a fault. */
	if (jb && si->si_code > 0) {
		armed_copy = NULL;
		fault_host_addr = (uintptr_t)si->si_addr;
		siglongjmp(*jb, 1);
	}
	backstop_pass_on(sig, si, uc);
}

static void backstop_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = backstop_handler;
	/* SA_NODEFER: we leave the handler by siglongjmp without restoring
	 * the signal mask, so the signal must not be blocked in it. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &prev_segv);
	sigaction(SIGBUS, &sa, &prev_bus);
}

static void backstop_ensure(void)
{
	pthread_once(&backstop_once, backstop_install);
}

/* One aligned 2-, 4- or 8-byte field of the device view is read or written
 * with a single load or store: the driver updates ring fields (avail idx,
 * used_event, flags) while the device reads them, and a byte-wise copy can
 * pair an old low byte with a new high one (glibc's memcpy of 2 bytes loads
 * the first byte, then the word).  Anything else is a plain memcpy. */
#define VIEW_WORD(T, view, buf, write)                                          \
	do {                                                                    \
		T w_;                                                           \
		if (write) {                                                    \
			memcpy(&w_, (buf), sizeof(T));                          \
			__atomic_store_n((T *)(view), w_, __ATOMIC_RELAXED);    \
		} else {                                                        \
			w_ = __atomic_load_n((const T *)(view), __ATOMIC_RELAXED); \
			memcpy((buf), &w_, sizeof(T));                          \
		}                                                               \
	} while (0)

static inline void view_copy(uint8_t *view, void *buf, size_t n, bool write)
{
	uintptr_t a = (uintptr_t)view;

	if (n == 2 && !(a & 1))
		VIEW_WORD(uint16_t, view, buf, write);
	else if (n == 4 && !(a & 3))
		VIEW_WORD(uint32_t, view, buf, write);
	else if (n == 8 && !(a & 7))
		VIEW_WORD(uint64_t, view, buf, write);
	else if (write)
		memcpy(view, buf, n);
	else
		memcpy(buf, view, n);
}

/* view_copy with the backstop armed.  Returns 0, or -1 with *fault set to
 * the host address that faulted. */
static int guarded_copy(uint8_t *view, void *buf, size_t n, bool write, uintptr_t *fault)
{
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		*fault = fault_host_addr;
		return -1;
	}
	armed_copy = &jb;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	view_copy(view, buf, n, write);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	armed_copy = NULL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The accessor                                                       */

/* One translated piece of an access: device addresses [addr, addr+len)
 * land at guest-physical [gpa, gpa+len). */
struct run {
	uint64_t addr;
	uint64_t gpa;
	uint64_t len;
};

void gmem_dev_init(struct gmem_dev *d, struct gmem *gm, struct iommu *iommu,
		   unsigned addr_width, struct vt_verdict *vd)
{
	memset(d, 0, sizeof(*d));
	d->gm = gm;
	d->iommu = iommu;
	d->addr_width = addr_width;
	d->vd = vd;
	d->checks = true;
	d->blame = VT_WHO_DEVICE;
	backstop_ensure();
}

static const char *dir_name(bool write)
{
	return write ? "write" : "read";
}

/* Reporting is off the hot path: out of line and marked cold. */
#define COLD __attribute__((cold, noinline))

static COLD int width_violation(struct gmem_dev *d, const struct run *r, bool write,
				enum vt_who who)
{
	if (!d->vd)
		return -1;
	return vt_violation_mem(d->vd, "INV-dma-width", who, r->addr, r->gpa,
				"device %s of %llu bytes at 0x%llx is beyond its %u-bit DMA width",
				dir_name(write), (unsigned long long)r->len,
				(unsigned long long)r->addr, d->addr_width);
}

/* An untranslated access that is not RAM but lands on an address the
 * platform IOMMU maps: the device took a bus address (an IOVA) for a
 * guest-physical one, skipping the translation ACCESS_PLATFORM asks for. */
static COLD int bypass_violation(struct gmem_dev *d, const struct run *r, bool write,
				 enum vt_who who)
{
	uint64_t gpa;
	unsigned perm;
	if (d->iommu || !d->platform_iommu ||
	    iommu_lookup(d->platform_iommu, r->addr, &gpa, &perm) != 0)
		return 0;
	if (d->vd)
		vt_violation_mem(d->vd, "INV-iommu-bypass", who, r->addr, gpa,
				 "device %s of %llu bytes at 0x%llx used as guest-physical, but it is "
				 "an IOVA the platform IOMMU maps to gpa 0x%llx",
				 dir_name(write), (unsigned long long)r->len,
				 (unsigned long long)r->addr, (unsigned long long)gpa);
	return -1;
}

static COLD int not_ram_violation(struct gmem_dev *d, const struct run *r, bool write,
				  enum vt_who who)
{
	if (bypass_violation(d, r, write, who))
		return -1;
	if (!d->vd)
		return -1;
	return vt_violation_mem(d->vd, "INV-not-ram", who, r->addr, r->gpa,
				"device %s of %llu bytes at gpa 0x%llx is not guest RAM",
				dir_name(write), (unsigned long long)r->len,
				(unsigned long long)r->gpa);
}

static COLD int unshared_violation(struct gmem_dev *d, const struct region *g,
				   const struct run *r, uint64_t page, bool write, enum vt_who who)
{
	uint64_t pg = g->d.gpa + (page << GMEM_PAGE_SHIFT);
	uint64_t gpa = pg > r->gpa ? pg : r->gpa;
	if (!d->vd)
		return -1;
	return vt_violation_mem(d->vd, "INV-unshared-access", who, r->addr + (gpa - r->gpa), gpa,
				"device %s of %llu bytes touches private page 0x%llx",
				dir_name(write), (unsigned long long)r->len,
				(unsigned long long)(pg >> GMEM_PAGE_SHIFT));
}

/* Device address [addr, addr+len) must lie below 2^addr_width (and not
 * wrap past 2^64). */
static inline bool width_ok(const struct gmem_dev *d, const struct run *r)
{
	uint64_t last = r->addr + r->len - 1;
	if (last < r->addr)
		return false;
	return d->addr_width >= 64 || (last >> d->addr_width) == 0;
}

/* Index of the first private page of the run, or -1 if all are shared.
 * A small range looks at one or two metadata bytes. */
static inline int64_t first_private(const struct region *g, const struct run *r)
{
	uint64_t p0 = (r->gpa - g->d.gpa) >> GMEM_PAGE_SHIFT;
	uint64_t p1 = (r->gpa + r->len - 1 - g->d.gpa) >> GMEM_PAGE_SHIFT;
	for (uint64_t p = p0; p <= p1; p++)
		if (!(__atomic_load_n(&g->meta[p], __ATOMIC_ACQUIRE) & META_SHARED))
			return (int64_t)p;
	return -1;
}

/* An observed guest: mark every private page of the run reported and say
 * whether one of them was not reported before (the breach to record). */
static COLD bool newly_private(struct region *g, const struct run *r)
{
	uint64_t p0 = (r->gpa - g->d.gpa) >> GMEM_PAGE_SHIFT;
	uint64_t p1 = (r->gpa + r->len - 1 - g->d.gpa) >> GMEM_PAGE_SHIFT;
	bool fresh = false;
	for (uint64_t p = p0; p <= p1; p++) {
		uint8_t m = __atomic_load_n(&g->meta[p], __ATOMIC_ACQUIRE);
		if (!(m & (META_SHARED | META_REPORTED))) {
			__atomic_fetch_or(&g->meta[p], META_REPORTED, __ATOMIC_RELAXED);
			fresh = true;
		}
	}
	return fresh;
}

/* Width, RAM and sharing checks of one run.  Returns its region, or NULL
 * after recording a violation.  Without checks only RAM is enforced: it
 * keeps the copy inside the device view. */
static inline struct region *check_run(struct gmem_dev *d, const struct run *r, bool write,
				       enum vt_who who)
{
	if (d->checks && !width_ok(d, r)) {
		width_violation(d, r, write, who);
		return NULL;
	}
	struct region *g = NULL;
	if (r->len - 1 <= UINT64_MAX - r->gpa)
		g = find_region(d->gm, r->gpa, r->len);
	if (!g) {
		not_ram_violation(d, r, write, who);
		return NULL;
	}
	/* Every page of a non-secure guest is shared: nothing to look at. */
	if (d->checks && d->gm->secure) {
		int64_t p = first_private(g, r);
		if (p >= 0 && d->gm->observed) {
			/* recorded once per page, then carried out */
			if (newly_private(g, r))
				unshared_violation(d, g, r, (uint64_t)p, write, who);
		} else if (p >= 0) {
			unshared_violation(d, g, r, (uint64_t)p, write, who);
			return NULL;
		}
	}
	return g;
}

static COLD void report_harness_fault(struct gmem_dev *d, const struct region *g,
				      const struct run *r, bool write, uintptr_t host)
{
	uintptr_t base = (uintptr_t)g->dev;
	bool in_view = host >= base && host - base < g->d.size;
	uint64_t gpa = in_view ? g->d.gpa + (host - base) : r->gpa;
	uint64_t addr = r->addr + (gpa >= r->gpa ? gpa - r->gpa : 0);
	if (!d->vd) {
		fprintf(stderr, "vcts: INV-harness-fault: device view faulted at gpa 0x%llx\n",
			(unsigned long long)gpa);
		return;
	}
	vt_violation_mem(d->vd, "INV-harness-fault", VT_WHO_HARNESS, addr, gpa,
			 "device view faulted during a %s of %llu bytes (page 0x%llx%s)",
			 dir_name(write), (unsigned long long)r->len,
			 (unsigned long long)(gpa >> GMEM_PAGE_SHIFT),
			 in_view ? "" : ", fault outside the device view");
}

/* Log, then copy one checked run through the device view. */
static inline int copy_run(struct gmem_dev *d, struct region *g, const struct run *r,
			   void *buf, bool write)
{
	if (d->checks) {
		log_pages(g, r->gpa, r->len, write ? GMEM_LOG_WRITE : GMEM_LOG_READ);
		log_recent(d->gm, r->addr, r->gpa, r->len, write);
	}
	uint8_t *view = g->dev + (r->gpa - g->d.gpa);
	uintptr_t fault = 0;
	int rc = guarded_copy(view, buf, r->len, write, &fault);
	if (rc)
		report_harness_fault(d, g, r, write, fault);
	return rc;
}

static inline unsigned perm_of(bool write)
{
	return write ? IOMMU_PERM_W : IOMMU_PERM_R;
}

/* A range the IOMMU maps to several GPA pieces: walk it page by page,
 * merging GPA-contiguous pages into runs.  With buf NULL it only checks;
 * otherwise it checks again (the mapping may have moved) and copies. */
static int walk_pages(struct gmem_dev *d, uint64_t addr, uint64_t len, void *buf, bool write,
		      enum vt_who who)
{
	struct run cur = { 0, 0, 0 };
	uint64_t done = 0;
	while (done <= len) {
		struct run pg = { addr + done, 0, 0 };
		if (done < len) {
			uint64_t room = GMEM_PAGE_SIZE - (pg.addr & PAGE_MASK);
			pg.len = len - done < room ? len - done : room;
			if (iommu_translate_who(d->iommu, pg.addr, pg.len, perm_of(write), &pg.gpa,
						who) < 0)
				return -1;
			if (cur.len && cur.gpa + cur.len == pg.gpa) {
				cur.len += pg.len;
				done += pg.len;
				continue;
			}
		}
		if (cur.len) {
			struct region *g = check_run(d, &cur, write, who);
			if (!g)
				return -1;
			if (buf && copy_run(d, g, &cur, (uint8_t *)buf + (cur.addr - addr), write))
				return -1;
		}
		if (done == len)
			break;
		cur = pg;
		done += pg.len;
	}
	return 0;
}

static inline int dev_access(struct gmem_dev *d, uint64_t addr, void *buf, uint64_t len,
			     bool write, enum vt_who who, bool copy)
{
	if (len == 0)
		return 0;
	struct run r = { addr, addr, len };
	if (d->iommu) {
		int t = iommu_translate_who(d->iommu, addr, len, perm_of(write), &r.gpa, who);
		if (t < 0)
			return -1;
		if (t > 0) {
			if (walk_pages(d, addr, len, NULL, write, who))
				return -1;
			return copy ? walk_pages(d, addr, len, buf, write, who) : 0;
		}
	}
	struct region *g = check_run(d, &r, write, who);
	if (!g)
		return -1;
	return copy ? copy_run(d, g, &r, buf, write) : 0;
}

int gmem_dev_check(struct gmem_dev *d, uint64_t addr, uint64_t len, bool write, enum vt_who who)
{
	return dev_access(d, addr, NULL, len, write, who, false);
}

int gmem_dev_read(struct gmem_dev *d, uint64_t addr, void *dst, uint64_t len)
{
	return dev_access(d, addr, dst, len, false, d->blame, true);
}

int gmem_dev_write(struct gmem_dev *d, uint64_t addr, const void *src, uint64_t len)
{
	return dev_access(d, addr, (void *)src, len, true, d->blame, true);
}

/* Ring fields are little-endian (virtio 1.x). */
int gmem_dev_read16(struct gmem_dev *d, uint64_t addr, uint16_t *v)
{
	uint8_t b[2];
	if (gmem_dev_read(d, addr, b, 2))
		return -1;
	*v = (uint16_t)(b[0] | b[1] << 8);
	return 0;
}

int gmem_dev_read16_acq(struct gmem_dev *d, uint64_t addr, uint16_t *v)
{
	int rc = gmem_dev_read16(d, addr, v);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return rc;
}

int gmem_dev_write16(struct gmem_dev *d, uint64_t addr, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	return gmem_dev_write(d, addr, b, 2);
}

int gmem_dev_write16_rel(struct gmem_dev *d, uint64_t addr, uint16_t v)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return gmem_dev_write16(d, addr, v);
}

int gmem_dev_write32(struct gmem_dev *d, uint64_t addr, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	return gmem_dev_write(d, addr, b, 4);
}
