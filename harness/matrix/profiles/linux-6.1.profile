# linux-6.1: what Debian 12's Linux 6.1 guest does behind a QEMU 7.2 device.
#
# virtio_features_ok() refuses, in a guest with restricted memory access,
# a device without ACCESS_PLATFORM (-ENODEV, final status 0x83).  QEMU's
# devices never refuse FEATURES_OK for a missing ACCESS_PLATFORM.
# virtio-pci asks for a 64-bit DMA mask: a narrower device width is not
# honoured by the driver (only an IOMMU aperture or the RAM layout limits
# addresses).

name linux-6.1
title Linux 6.1 guest (Debian 12) with QEMU devices
proposal none

# drivers/virtio/virtio.c: "device must provide VIRTIO_F_ACCESS_PLATFORM".
driver.secure-without-access-platform  refuse  POL-linux61-secure-refuses

# QEMU takes DEV-6.2's MAY the permissive way: it never fails.
device.refuse-without-access-platform  never   POL-spec-device-may-fail

# drivers/virtio/virtio_pci_common.c: 64-bit DMA mask whatever the device.
driver.address-width                   ignore  POL-linux61-dma-mask

# What the driver does with a device that breaks a rule of the used ring
# (drivers/virtio/virtio_ring.c, judged in real guests by our device's
# fault switches).  A used id beyond the queue or not outstanding is
# BAD_RING: the queue is marked broken, the kernel says so, and the
# request in flight never completes; nothing resets the device.  The used
# length is not checked against the buffer.  A used index that jumps
# makes the driver read a used element never written: its id is not
# outstanding, so the same BAD_RING.
driver.used-id-out-of-range     queue-broken  POL-linux61-bad-ring
driver.used-id-not-outstanding  queue-broken  POL-linux61-bad-ring
driver.used-len-too-large       ignored       POL-linux61-used-len-unchecked
driver.used-idx-jump            queue-broken  POL-linux61-bad-ring
