/* SPDX-License-Identifier: GPL-2.0-or-later */
/* verdict.c - the sink every check reports a broken rule to. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "verdict.h"

void vt_verdict_init(struct vt_verdict *vd)
{
	memset(vd, 0, sizeof(*vd));
	pthread_mutex_init(&vd->lock, NULL);
}

void vt_verdict_reset(struct vt_verdict *vd)
{
	pthread_mutex_lock(&vd->lock);
	vd->n = vd->dropped = vd->n_must = 0;
	vd->stop = 0;
	pthread_mutex_unlock(&vd->lock);
}

static void copy_val(char *dst, const char *src)
{
	if (!src) {
		dst[0] = '\0';
		return;
	}
	snprintf(dst, VT_VIOL_VAL, "%s", src);
}

static int record(struct vt_verdict *vd, const char *rule, enum vt_who who, enum vt_severity sev,
		  const char *expected, const char *got, bool has_addr, uint64_t addr,
		  uint64_t gpa, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&vd->lock);
	if (sev == VT_SEV_MUST) {
		vd->n_must++;
		__atomic_store_n(&vd->stop, 1, __ATOMIC_RELEASE);
	}
	if (vd->n >= VT_MAX_VIOL) {
		vd->dropped++;
		pthread_mutex_unlock(&vd->lock);
		return -1;
	}
	struct vt_violation *v = &vd->v[vd->n++];
	memset(v, 0, sizeof(*v));
	v->rule = rule;
	v->who = who;
	v->sev = sev;
	vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
	copy_val(v->expected, expected);
	copy_val(v->got, got);
	v->has_addr = has_addr;
	v->addr = addr;
	v->gpa = gpa;
	v->page = gpa >> 12;
	pthread_mutex_unlock(&vd->lock);
	return -1;
}

int vt_violation(struct vt_verdict *vd, const char *rule, enum vt_who who,
		 const char *expected, const char *got, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(vd, rule, who, VT_SEV_MUST, expected, got, false, 0, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int vt_violation_mem(struct vt_verdict *vd, const char *rule, enum vt_who who,
		     uint64_t addr, uint64_t gpa, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(vd, rule, who, VT_SEV_MUST, NULL, NULL, true, addr, gpa, fmt, ap);
	va_end(ap);
	return -1;
}

int vt_advice(struct vt_verdict *vd, const char *rule, enum vt_who who, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(vd, rule, who, VT_SEV_SHOULD, NULL, NULL, false, 0, 0, fmt, ap);
	va_end(ap);
	return 0;
}

bool vt_verdict_has(struct vt_verdict *vd, const char *rule)
{
	bool found = false;
	pthread_mutex_lock(&vd->lock);
	for (unsigned i = 0; i < vd->n; i++)
		if (vd->v[i].sev == VT_SEV_MUST && strcmp(vd->v[i].rule, rule) == 0)
			found = true;
	pthread_mutex_unlock(&vd->lock);
	return found;
}

const char *vt_who_name(enum vt_who w)
{
	switch (w) {
	case VT_WHO_DRIVER: return "driver";
	case VT_WHO_DEVICE: return "device";
	default:            return "harness";
	}
}

void vt_verdict_dump(struct vt_verdict *vd, FILE *f)
{
	pthread_mutex_lock(&vd->lock);
	for (unsigned i = 0; i < vd->n; i++) {
		const struct vt_violation *v = &vd->v[i];
		fprintf(f, "# %s %s [%s]: %s", v->sev == VT_SEV_MUST ? "violation" : "advice",
			v->rule, vt_who_name(v->who), v->msg);
		if (v->expected[0] || v->got[0])
			fprintf(f, " (expected %s, got %s)", v->expected, v->got);
		if (v->has_addr)
			fprintf(f, " addr=0x%llx gpa=0x%llx page=0x%llx", (unsigned long long)v->addr,
				(unsigned long long)v->gpa, (unsigned long long)v->page);
		fputc('\n', f);
	}
	if (vd->dropped)
		fprintf(f, "# ... %u more records dropped\n", vd->dropped);
	pthread_mutex_unlock(&vd->lock);
}
