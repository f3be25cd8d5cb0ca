/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent.c - the in-guest agent: find the virtio devices, judge each one,
 * report TAP on the guest's second serial port.
 *
 * The report (the contract with harness/qemu/guest.c):
 *
 *   TAP version 14
 *   1..N
 *   # Subtest: pci-0000:00:03.0           one test point per device, named
 *       # device: 2                       by PCI address or virtio-mmio base
 *       # features: 0x0000000130000e54    negotiated, bit 0 = bit 0
 *       # status: 0x0000000f              device status
 *       # driver: virtio_blk              or none
 *       ok 1 - pci-layout                 PCI functions: DEV-4.1.* findings
 *       ok 2 - io                         real I/O through the driver
 *       # io: ok                          ok | fail <reason> | none
 *       # kernel: virtio_blk virtio3: ... the first kernel message naming the
 *                                         device at warning level or worse
 *       1..2
 *   ok 1 - pci-0000:00:03.0
 *   ...
 *   # vcts-agent: done
 *
 * A device whose driver refused it (FAILED set, no driver bound) is not a
 * failure here: whether refusing was right is for the host to judge from
 * the facts.  Failures are broken layout rules and I/O that went wrong.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent.h"
#include "harness/tap.h"

static const char usage[] =
	"usage: vcts-agent [--out PATH] [--sysfs DIR] [--dev DIR] [--proc DIR]\n"
	"                  [--io-timeout SECONDS] [--no-io]\n"
	"\n"
	"Report every virtio device of this machine as TAP: the facts sysfs\n"
	"shows (device ID, negotiated features, status, driver), what the kernel\n"
	"said about it, the layout rules of 4.1 (Virtio Over PCI Bus) for PCI\n"
	"functions, and real I/O through the bound driver (block: writes and\n"
	"read-back of the first sectors - the disk is overwritten; entropy: a\n"
	"read of /dev/hwrng; console: a line per port; network: link up, then\n"
	"raw frames both ways - ARP and an ICMP echo with 10.0.2.2, the host of\n"
	"QEMU's user network).\n"
	"\n"
	"  --out PATH          TAP destination (default /dev/ttyS1, '-' stdout)\n"
	"  --sysfs DIR         sysfs root (default /sys)\n"
	"  --dev DIR           device nodes (default /dev)\n"
	"  --proc DIR          procfs root (default /proc)\n"
	"  --io-timeout SEC    give up on a device's I/O after SEC (default 10)\n"
	"  --no-io             report facts and layout only\n";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Version 14 as the contract says, or 13 for a harness too old for 14
 * (prove before Test::Harness 3.48) when run under one. */
static unsigned tap_version(void)
{
	const char *active = getenv("HARNESS_ACTIVE"), *v = getenv("HARNESS_VERSION");
	if (!active || !*active)
		return 14;
	return v && strtod(v, NULL) >= 3.48 ? 14 : 13;
}

static int parse_args(int argc, char **argv, struct agent_opts *o)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "sysfs", required_argument, NULL, 's' },
		{ "dev", required_argument, NULL, 'd' },
		{ "proc", required_argument, NULL, 'p' },
		{ "io-timeout", required_argument, NULL, 't' },
		{ "no-io", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*o = (struct agent_opts){ .out = "/dev/ttyS1", .sysfs = "/sys", .dev = "/dev",
				  .proc = "/proc", .io_timeout_s = 10, .io = true };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 's': o->sysfs = optarg; break;
		case 'd': o->dev = optarg; break;
		case 'p': o->proc = optarg; break;
		case 'n': o->io = false; break;
		case 't':
			o->io_timeout_s = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !o->io_timeout_s || o->io_timeout_s > 3600) {
				fprintf(stderr, "vcts-agent: --io-timeout: 1..3600 seconds\n");
				return -1;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vcts-agent: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* The facts of the device, as the host reads them. */
static void report_facts(struct vt_tap *sub, const struct agent_dev *d)
{
	if (d->virtio_id >= 0)
		vt_tap_diag(sub, "device: %d", d->virtio_id);
	else
		vt_tap_diag(sub, "device: unknown");
	if (d->features_known)
		vt_tap_diag(sub, "features: 0x%016llx", (unsigned long long)d->features);
	else
		vt_tap_diag(sub, "features: unknown");
	if (d->status_known)
		vt_tap_diag(sub, "status: 0x%08x", d->status);
	else
		vt_tap_diag(sub, "status: unknown");
	vt_tap_diag(sub, "driver: %s", d->driver);
	if (d->vdev[0])
		vt_tap_diag(sub, "virtio-device: %s", d->vdev);
	else
		vt_tap_diag(sub, "virtio-device: none (the transport did not take the function)");
	if (d->transport == AGENT_PCI)
		vt_tap_diag(sub, "pci-driver: %s", d->pci_driver);
	if (d->features_beyond_64)
		vt_tap_diag(sub, "features-beyond-64: set (%u bits shown by the kernel)",
			    d->feature_bits);
}

static void report_io(struct vt_tap *sub, const struct agent_io *io)
{
	struct vt_tap_finding fd = { .message = io->reason };
	switch (io->result) {
	case AGENT_IO_OK:
		vt_tap_result(sub, VT_PASS, "io", NULL);
		vt_tap_diag(sub, "io: ok");
		break;
	case AGENT_IO_NONE:
		vt_tap_result(sub, VT_SKIP, "io", io->reason);
		vt_tap_diag(sub, "io: none");
		break;
	case AGENT_IO_FAIL:
		vt_tap_result(sub, VT_FAIL, "io", NULL);
		vt_tap_yaml(sub, &fd, NULL, 0);
		vt_tap_diag(sub, "io: fail %s", io->reason[0] ? io->reason : "(no reason)");
		break;
	}
	if (io->detail[0])
		vt_tap_diag(sub, "io-detail: %s", io->detail);
}

/* One device: its test point with subtests.  Returns the I/O outcome
 * word for the console summary. */
static const char *report_device(const struct agent_opts *o, const struct agent_dev *d,
				 struct vt_tap *tap)
{
	struct vt_tap sub;
	struct agent_io io;

	vt_tap_subtest_begin(tap, &sub, d->name);
	report_facts(&sub, d);
	if (d->transport == AGENT_PCI)
		agent_pci_layout(o, d, &sub);
	/* A trace of the DMA mappings the driver makes for this I/O (a
	 * kretprobe on dma_map_page_attrs through tracefs) belongs around
	 * this call: armed before, read and disarmed after. */
	agent_io(o, d, &io);
	report_io(&sub, &io);
	/* why a driver refused the device, or what went wrong in its I/O */
	char said[160];
	if (agent_kmsg(o, d->vdev, said, sizeof(said)) == 0)
		vt_tap_diag(&sub, "kernel: %s", said);
	vt_tap_subtest_end(tap, &sub, d->name);
	return io.result == AGENT_IO_OK ? "ok" : io.result == AGENT_IO_FAIL ? "fail" : "none";
}

static void report_uptime(const struct agent_opts *o, struct vt_tap *tap, double t0)
{
	char path[512], text[64];
	double up;
	if (agent_read_text(agent_path(path, sizeof(path), "%s/uptime", o->proc), text,
			    sizeof(text)) == 0 && sscanf(text, "%lf", &up) == 1)
		vt_tap_diag(tap, "uptime: %.2f s (agent %.2f s)", up, now_s() - t0);
}

int main(int argc, char **argv)
{
	static struct agent_dev devs[AGENT_MAX_DEVS];
	static char summary[4096];
	struct agent_opts o;
	struct vt_tap tap;
	double t0 = now_s();
	int rc = 0;

	if (parse_args(argc, argv, &o))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	FILE *out = agent_out_open(o.out);
	if (!out) {
		fprintf(stderr, "vcts-agent: %s: %s; the report goes to stdout instead\n", o.out,
			strerror(errno));
		out = agent_out_open("-");
		rc = 2;
		if (!out)
			return 2;
	}
	struct stat st;
	if (fstat(fileno(out), &st) == 0 && S_ISCHR(st.st_mode))
		o.out_rdev = st.st_rdev;
	unsigned n = agent_enumerate(&o, devs, AGENT_MAX_DEVS);
	vt_tap_start(&tap, out, tap_version());
	if (n)
		vt_tap_plan(&tap, n);
	else
		vt_tap_skip_all(&tap, "no virtio devices");
	size_t used = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *io = report_device(&o, &devs[i], &tap);
		int k = snprintf(summary + used, sizeof(summary) - used, "; %s %s io %s",
				 devs[i].name, devs[i].driver, io);
		if (k > 0 && (size_t)k < sizeof(summary) - used)
			used += (size_t)k;
	}
	report_uptime(&o, &tap, t0);
	vt_tap_diag(&tap, "vcts-agent: done");
	unsigned failed = tap.failed;
	if (agent_out_close(out)) {
		fprintf(stderr, "vcts-agent: %s: the report was not written out completely\n",
			o.out);
		rc = 2;
	}
	printf("vcts-agent: %u device%s, %u failed, %.2f s%s\n", n, n == 1 ? "" : "s", failed,
	       now_s() - t0, summary);
	fflush(stdout);
	return rc ? rc : failed ? 1 : 0;
}
