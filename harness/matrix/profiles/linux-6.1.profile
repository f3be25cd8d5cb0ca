# linux-6.1: what Debian 12's Linux 6.1 guest does behind a QEMU 7.2 device.
#
# virtio_features_ok() refuses, in a guest with restricted memory access,
# a device without ACCESS_PLATFORM (-ENODEV, final status 0x83).  A QEMU
# device that offers ACCESS_PLATFORM refuses FEATURES_OK whenever the
# driver does not accept it (Linux accepts it but in its balloon driver).
# virtio-pci asks for a 64-bit DMA mask: a narrower device width is not
# honoured by the driver (only an IOMMU aperture or the RAM layout limits
# addresses).

name linux-6.1
title Linux 6.1 guest (Debian 12) with QEMU devices
proposal none

# drivers/virtio/virtio.c: "device must provide VIRTIO_F_ACCESS_PLATFORM".
driver.secure-without-access-platform  refuse  POL-linux61-secure-refuses

# QEMU takes DEV-6.2's MAY the strict way: virtio_validate_features()
# fails FEATURES_OK when ACCESS_PLATFORM is offered and not accepted
# (the kernel then says "virtio: device refuses features").
device.refuse-without-access-platform  always  POL-qemu-refuses-without-ap

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

# drivers/virtio/virtio_balloon.c: virtballoon_validate() clears
# ACCESS_PLATFORM (the balloon passes page frame numbers, which no DMA
# mapping translates): the device then refuses FEATURES_OK, and a secure
# guest refuses the device.
driver.balloon-access-platform  clear  POL-linux61-balloon-clears-ap
