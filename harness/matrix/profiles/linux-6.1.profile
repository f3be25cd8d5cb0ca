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
