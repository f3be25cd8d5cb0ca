/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enumerate.c - the virtio devices of the guest, as the virtio core shows
 * them in sysfs, and the virtio PCI functions that have no virtio device.
 *
 * /sys/bus/virtio/devices/virtioN links to the device under its transport
 * parent (a PCI function, a virtio-mmio platform device).  Its attributes:
 * device (the virtio device ID), features (the negotiated set, one '0' or
 * '1' per bit, bit 0 first; still filled in after a driver refused the
 * device), status (the device status, 0x%08x) and a driver link when a
 * driver is bound.  A PCI function whose transport probe failed has no
 * virtio device at all; it is still reported, with the device status read
 * from its common configuration structure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"

#define PCI_VENDOR_VIRTIO   0x1af4
#define PCI_DEVICE_FIRST    0x1000      /* virtio PCI device IDs: 0x1000..0x107f */
#define PCI_DEVICE_LAST     0x107f
#define PCI_DEVICE_MODERN   0x1040      /* 0x1040 + virtio device ID             */

static bool is_dir(const char *path)
{
	struct stat st;
	return path[0] && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "virtio12" -> 12; -1 for any other name. */
static long virtio_index(const char *name)
{
	if (strncmp(name, "virtio", 6) || !name[6])
		return -1;
	char *end;
	long v = strtol(name + 6, &end, 10);
	return *end || v < 0 ? -1 : v;
}

/* The features file: bit 0 first, '1' set.  Bits past 63 do not fit the
 * report; they are flagged instead. */
static void read_features(const char *path, struct agent_dev *d)
{
	char text[256];
	if (agent_read_text(path, text, sizeof(text)))
		return;
	d->features = 0;
	d->feature_bits = 0;
	for (const char *p = text; *p == '0' || *p == '1'; p++, d->feature_bits++) {
		if (*p == '0')
			continue;
		if (d->feature_bits < 64)
			d->features |= 1ull << d->feature_bits;
		else
			d->features_beyond_64 = true;
	}
	d->features_known = d->feature_bits > 0;
}

static void link_or_none(const char *path, char *buf, size_t len)
{
	if (agent_link_name(path, buf, len))
		snprintf(buf, len, "none");
}

/* The base address of a platform device from /proc/iomem, where the
 * virtio-mmio driver requests its register window under the device's
 * name ("feb00000-feb001ff : LNRO0005:00").  0 when not found. */
static unsigned long long iomem_base(const struct agent_opts *o, const char *devname)
{
	char path[512], line[256];
	unsigned long long base = 0;
	FILE *f = fopen(agent_path(path, sizeof(path), "%s/iomem", o->proc), "r");
	if (!f)
		return 0;
	while (!base && fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		int name_at = 0;
		if (sscanf(line, " %llx-%llx : %n", &start, &end, &name_at) != 2 || !name_at)
			continue;
		char *name = line + name_at;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, devname) == 0)
			base = start;
	}
	fclose(f);
	return base;
}

static void name_device(const struct agent_opts *o, struct agent_dev *d)
{
	unsigned long long base;
	char *end;
	switch (d->transport) {
	case AGENT_PCI:
		snprintf(d->name, sizeof(d->name), "pci-%.58s", d->parent);
		return;
	case AGENT_MMIO:
		base = iomem_base(o, d->parent);
		if (!base) {       /* device-tree names carry it: "a000000.virtio_mmio" */
			base = strtoull(d->parent, &end, 16);
			if (*end != '.')
				base = 0;
		}
		if (base)
			snprintf(d->name, sizeof(d->name), "mmio-0x%llx", base);
		else
			snprintf(d->name, sizeof(d->name), "mmio-%.50s", d->parent);
		return;
	case AGENT_OTHER:
		snprintf(d->name, sizeof(d->name), "virtio-%.50s", d->parent);
		return;
	}
}

/* One virtio device of the bus; 0, or -1 when it is not one. */
static int take_virtio(const struct agent_opts *o, const char *entry, struct agent_dev *d)
{
	char dir[512], path[600], pcidir[512];
	uint64_t id;
	long idx = virtio_index(entry);

	if (idx < 0 || strlen(entry) >= sizeof(d->vdev))
		return -1;
	memset(d, 0, sizeof(*d));
	strcpy(d->vdev, entry);
	d->vindex = (unsigned)idx;
	d->virtio_id = -1;
	agent_path(dir, sizeof(dir), "%s/bus/virtio/devices/%s", o->sysfs, entry);
	if (agent_link_parent(dir, d->parent, sizeof(d->parent)))
		snprintf(d->parent, sizeof(d->parent), "%s", d->vdev);
	agent_path(pcidir, sizeof(pcidir), "%s/bus/pci/devices/%s", o->sysfs, d->parent);
	if (is_dir(pcidir))
		d->transport = AGENT_PCI;
	else if (is_dir(agent_path(path, sizeof(path), "%s/bus/platform/devices/%s", o->sysfs,
				   d->parent)))
		d->transport = AGENT_MMIO;
	else
		d->transport = AGENT_OTHER;
	if (agent_read_num(agent_path(path, sizeof(path), "%s/device", dir), &id) == 0 &&
	    id <= 0xffff)
		d->virtio_id = (int)id;
	read_features(agent_path(path, sizeof(path), "%s/features", dir), d);
	uint64_t status;
	if (agent_read_num(agent_path(path, sizeof(path), "%s/status", dir), &status) == 0) {
		d->status_known = true;
		d->status = (uint32_t)status;
	}
	link_or_none(agent_path(path, sizeof(path), "%s/driver", dir), d->driver,
		     sizeof(d->driver));
	if (d->transport == AGENT_PCI)
		link_or_none(agent_path(path, sizeof(path), "%s/driver", pcidir), d->pci_driver,
			     sizeof(d->pci_driver));
	else
		snprintf(d->pci_driver, sizeof(d->pci_driver), "none");
	name_device(o, d);
	return 0;
}

/* A virtio PCI function without a virtio device; 0, or -1 when the
 * function is no virtio function. */
static int take_pci(const struct agent_opts *o, const char *addr, struct agent_dev *d)
{
	char dir[512], path[600];
	uint64_t vendor, device, subsys;

	agent_path(dir, sizeof(dir), "%s/bus/pci/devices/%s", o->sysfs, addr);
	if (agent_read_num(agent_path(path, sizeof(path), "%s/vendor", dir), &vendor) ||
	    agent_read_num(agent_path(path, sizeof(path), "%s/device", dir), &device) ||
	    vendor != PCI_VENDOR_VIRTIO || device < PCI_DEVICE_FIRST || device > PCI_DEVICE_LAST ||
	    strlen(addr) >= sizeof(d->parent))
		return -1;
	memset(d, 0, sizeof(*d));
	d->transport = AGENT_PCI;
	strcpy(d->parent, addr);
	/* 4.1.2: modern IDs are 0x1040 + the virtio device ID; a transitional
	 * device carries the virtio device ID in its subsystem device ID. */
	if (device >= PCI_DEVICE_MODERN)
		d->virtio_id = (int)(device - PCI_DEVICE_MODERN);
	else if (agent_read_num(agent_path(path, sizeof(path), "%s/subsystem_device", dir),
				&subsys) == 0 && subsys <= 0xffff)
		d->virtio_id = (int)subsys;
	else
		d->virtio_id = -1;
	d->features_known = true;       /* no virtio device: nothing negotiated */
	d->status_known = agent_pci_peek_status(o, addr, &d->status) == 0;
	snprintf(d->driver, sizeof(d->driver), "none");
	link_or_none(agent_path(path, sizeof(path), "%s/driver", dir), d->pci_driver,
		     sizeof(d->pci_driver));
	name_device(o, d);
	return 0;
}

static int by_vindex(const void *a, const void *b)
{
	const struct agent_dev *x = a, *y = b;
	return (x->vindex > y->vindex) - (x->vindex < y->vindex);
}

static int by_name(const void *a, const void *b)
{
	const struct agent_dev *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* Bound devices of one type, counted in virtio index order: the order
 * their drivers probed them, which is how some drivers number them
 * (virtio_rng.0, virtio_rng.1, ...). */
static void number_by_type(struct agent_dev *devs, unsigned n)
{
	qsort(devs, n, sizeof(*devs), by_vindex);
	for (unsigned i = 0; i < n; i++) {
		devs[i].type_ordinal = 0;
		if (!strcmp(devs[i].driver, "none"))
			continue;
		for (unsigned j = 0; j < i; j++)
			if (devs[j].virtio_id == devs[i].virtio_id && strcmp(devs[j].driver, "none"))
				devs[i].type_ordinal++;
	}
}

static bool has_parent(const struct agent_dev *devs, unsigned n, const char *pci)
{
	for (unsigned i = 0; i < n; i++)
		if (devs[i].transport == AGENT_PCI && !strcmp(devs[i].parent, pci))
			return true;
	return false;
}

unsigned agent_enumerate(const struct agent_opts *o, struct agent_dev *devs, unsigned max)
{
	char dir[512];
	struct dirent **list;
	unsigned n = 0;
	int m;

	m = scandir(agent_path(dir, sizeof(dir), "%s/bus/virtio/devices", o->sysfs), &list, NULL,
		    alphasort);
	for (int i = 0; i < m; i++) {
		if (n < max && take_virtio(o, list[i]->d_name, &devs[n]) == 0)
			n++;
		free(list[i]);
	}
	if (m >= 0)
		free(list);
	number_by_type(devs, n);

	unsigned nvirtio = n;
	m = scandir(agent_path(dir, sizeof(dir), "%s/bus/pci/devices", o->sysfs), &list, NULL,
		    alphasort);
	for (int i = 0; i < m; i++) {
		if (n < max && !has_parent(devs, nvirtio, list[i]->d_name) &&
		    take_pci(o, list[i]->d_name, &devs[n]) == 0)
			n++;
		free(list[i]);
	}
	if (m >= 0)
		free(list);
	qsort(devs, n, sizeof(*devs), by_name);
	return n;
}
