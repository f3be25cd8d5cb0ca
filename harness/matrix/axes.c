/* SPDX-License-Identifier: GPL-2.0-or-later */
/* axes.c - the matrix axes as data: names, values, cell names, selections. */
#include <stdio.h>
#include <string.h>

#include "matrix.h"

const struct vt_mx_axis_def vt_mx_axes[MX_NAXES] = {
	[MX_AP_OFFER]    = { "ap-offer", "the device offers VIRTIO_F_ACCESS_PLATFORM",
			     2, { "no", "yes" } },
	[MX_AP_ACCEPT]   = { "ap-accept", "the driver knows VIRTIO_F_ACCESS_PLATFORM",
			     2, { "no", "yes" } },
	[MX_PROP_OFFER]  = { "prop-offer", "the device offers the profile's proposed bit",
			     2, { "no", "yes" } },
	[MX_PROP_ACCEPT] = { "prop-accept", "the driver knows the profile's proposed bit",
			     2, { "no", "yes" } },
	[MX_SECURE]      = { "secure", "secure (confidential) guest: memory private unless shared",
			     2, { "off", "on" } },
	[MX_TRANSLATION] = { "translation", "platform translation in front of the device",
			     4, { "none", "iommu39", "iommu48", "identity" } },
	[MX_WIDTH]       = { "width", "the device's DMA address width in bits",
			     4, { "32", "39", "48", "64" } },
	[MX_RING]        = { "ring", "virtqueue layout", 2, { "split", "packed" } },
	[MX_EVENT_IDX]   = { "event-idx", "VIRTIO_F_EVENT_IDX offered and accepted",
			     2, { "off", "on" } },
	[MX_INDIRECT]    = { "indirect", "VIRTIO_F_INDIRECT_DESC offered and used",
			     2, { "off", "on" } },
	[MX_DEVICE]      = { "device", "device type", 2, { "blk", "echo" } },
};

unsigned vt_mx_width_bits(const struct vt_mx_cell *c)
{
	static const unsigned bits[] = { 32, 39, 48, 64 };
	return bits[c->v[MX_WIDTH]];
}

unsigned vt_mx_iommu_aw(const struct vt_mx_cell *c)
{
	static const unsigned aw[] = { 0, 39, 48, 64 };
	return aw[c->v[MX_TRANSLATION]];
}

bool vt_mx_access_restricted(const struct vt_mx_cell *c)
{
	return c->v[MX_TRANSLATION] != MX_TR_NONE || c->v[MX_SECURE];
}

char *vt_mx_cell_name(const struct vt_mx_cell *c, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned a = 0; a < MX_NAXES && off < len; a++) {
		int n = snprintf(buf + off, len - off, "%s%s=%s", a ? " " : "",
				 vt_mx_axes[a].name, vt_mx_axes[a].values[c->v[a]]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}

static int find_axis(const char *name, size_t n)
{
	for (unsigned a = 0; a < MX_NAXES; a++)
		if (strlen(vt_mx_axes[a].name) == n && strncmp(vt_mx_axes[a].name, name, n) == 0)
			return (int)a;
	return -1;
}

static int find_value(unsigned axis, const char *v, size_t n)
{
	const struct vt_mx_axis_def *d = &vt_mx_axes[axis];
	for (unsigned i = 0; i < d->nvalues; i++)
		if (strlen(d->values[i]) == n && strncmp(d->values[i], v, n) == 0)
			return (int)i;
	return -1;
}

static void axis_names(char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned a = 0; a < MX_NAXES && off < len; a++) {
		int n = snprintf(buf + off, len - off, "%s%s", a ? ", " : "", vt_mx_axes[a].name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static void value_names(unsigned axis, char *buf, size_t len)
{
	const struct vt_mx_axis_def *d = &vt_mx_axes[axis];
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < d->nvalues && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", d->values[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Look up NAME (n bytes) and report an unknown one. */
static int axis_or_err(const char *name, size_t n, char *err, size_t errlen)
{
	int a = find_axis(name, n);
	if (a < 0) {
		char names[256];
		axis_names(names, sizeof(names));
		snprintf(err, errlen, "unknown axis '%.*s' (axes: %s)", (int)n, name, names);
	}
	return a;
}

static int value_or_err(unsigned a, const char *v, size_t n, char *err, size_t errlen)
{
	int i = find_value(a, v, n);
	if (i < 0) {
		char vals[128];
		value_names(a, vals, sizeof(vals));
		snprintf(err, errlen, "axis %s has no value '%.*s' (values: %s)",
			 vt_mx_axes[a].name, (int)n, v, vals);
	}
	return i;
}

void vt_mx_sel_all(struct vt_mx_sel *s)
{
	for (unsigned a = 0; a < MX_NAXES; a++)
		s->mask[a] = (uint8_t)((1u << vt_mx_axes[a].nvalues) - 1);
}

int vt_mx_sel_axis(struct vt_mx_sel *s, const char *spec, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec) {
		snprintf(err, errlen, "axis '%s' is not NAME=VALUE[,VALUE...]", spec);
		return -1;
	}
	int a = axis_or_err(spec, (size_t)(eq - spec), err, errlen);
	if (a < 0)
		return -1;
	uint8_t mask = 0;
	const char *p = eq + 1;
	for (;;) {
		size_t n = strcspn(p, ",");
		if (n == 0) {
			snprintf(err, errlen, "axis '%s': empty value", spec);
			return -1;
		}
		int v = value_or_err((unsigned)a, p, n, err, errlen);
		if (v < 0)
			return -1;
		mask |= (uint8_t)(1u << v);
		if (!p[n])
			break;
		p += n + 1;
	}
	s->mask[a] = mask;
	return 0;
}

static unsigned popcount8(uint8_t m)
{
	return (unsigned)__builtin_popcount(m);
}

uint64_t vt_mx_sel_count(const struct vt_mx_sel *s)
{
	uint64_t n = 1;
	for (unsigned a = 0; a < MX_NAXES; a++)
		n *= popcount8(s->mask[a]);
	return n;
}

/* The k-th set bit of m (k < popcount). */
static uint8_t nth_value(uint8_t m, unsigned k)
{
	for (uint8_t v = 0; v < 8; v++)
		if (m & (1u << v)) {
			if (k == 0)
				return v;
			k--;
		}
	return 0;
}

void vt_mx_sel_cell(const struct vt_mx_sel *s, uint64_t i, struct vt_mx_cell *out)
{
	for (int a = MX_NAXES - 1; a >= 0; a--) {
		unsigned n = popcount8(s->mask[a]);
		out->v[a] = nth_value(s->mask[a], (unsigned)(i % n));
		i /= n;
	}
}

int vt_mx_cell_parse(const char *s, bool partial, struct vt_mx_cell *out, char *err,
		     size_t errlen)
{
	bool seen[MX_NAXES] = { false };
	memset(out, 0, sizeof(*out));
	const char *p = s;
	for (;;) {
		p += strspn(p, " ,\t");
		if (!*p)
			break;
		size_t n = strcspn(p, " ,\t");
		const char *eq = memchr(p, '=', n);
		if (!eq || eq == p) {
			snprintf(err, errlen, "'%.*s' is not NAME=VALUE", (int)n, p);
			return -1;
		}
		int a = axis_or_err(p, (size_t)(eq - p), err, errlen);
		if (a < 0)
			return -1;
		if (seen[a]) {
			snprintf(err, errlen, "axis %s given twice", vt_mx_axes[a].name);
			return -1;
		}
		int v = value_or_err((unsigned)a, eq + 1, n - (size_t)(eq + 1 - p), err, errlen);
		if (v < 0)
			return -1;
		seen[a] = true;
		out->v[a] = (uint8_t)v;
		p += n;
	}
	if (!partial)
		for (unsigned a = 0; a < MX_NAXES; a++)
			if (!seen[a]) {
				snprintf(err, errlen, "axis %s missing", vt_mx_axes[a].name);
				return -1;
			}
	return 0;
}
