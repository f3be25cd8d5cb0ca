// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vcts_secure - make this guest negotiate virtio like a secure guest.
 *
 * A guest whose memory the host cannot read (AMD SEV and the like) must not
 * drive a virtio device that bypasses the platform's DMA translation.  Since
 * Linux 6.0 the virtio core asks a per-device callback,
 * virtio_check_mem_acc_cb, before it sets FEATURES_OK; when the answer is
 * "restricted", a device that does not offer VIRTIO_F_VERSION_1 or
 * VIRTIO_F_ACCESS_PLATFORM is refused (status ends ACKNOWLEDGE | DRIVER |
 * FAILED, no driver bound).  Only real SEV hardware installs that answer on
 * x86; this module installs it on load, so an ordinary guest under QEMU
 * takes the same path and prints the same messages.  Together with
 * swiotlb=force, every streaming DMA mapping is then bounced, as in a
 * secure guest.
 *
 * Load it before virtio_pci (and virtio_mmio): the callback is consulted
 * when a driver probes a device.  Unloading puts back the callback that was
 * installed before, if nobody replaced ours in the meantime.
 */
#include <linux/module.h>
#include <linux/virtio.h>
#include <linux/virtio_anchor.h>

#ifndef CONFIG_VIRTIO_ANCHOR
#error "needs a kernel with CONFIG_VIRTIO_ANCHOR (virtio_check_mem_acc_cb)"
#endif

/* The callback in place before ours, put back on unload. */
static bool (*vcts_prev_cb)(struct virtio_device *dev);

static int __init vcts_secure_init(void)
{
	vcts_prev_cb = virtio_check_mem_acc_cb;
	/*
	 * The kernel's own "always restricted" answer, the one SEV installs:
	 * no code of this module is ever called through the pointer, so a
	 * probe racing with unload cannot jump into freed module text.
	 */
	virtio_set_mem_acc_cb(virtio_require_restricted_mem_acc);
	pr_info("vcts_secure: virtio devices now need VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM (restricted memory access)\n");
	return 0;
}

static void __exit vcts_secure_exit(void)
{
	if (virtio_check_mem_acc_cb == virtio_require_restricted_mem_acc) {
		virtio_set_mem_acc_cb(vcts_prev_cb);
		pr_info("vcts_secure: previous virtio memory-access callback restored\n");
	} else {
		pr_warn("vcts_secure: virtio memory-access callback replaced by someone else, left as is\n");
	}
}

module_init(vcts_secure_init);
module_exit(vcts_secure_exit);

MODULE_DESCRIPTION("Treat every virtio device as in a secure guest (restricted memory access)");
MODULE_LICENSE("GPL");
