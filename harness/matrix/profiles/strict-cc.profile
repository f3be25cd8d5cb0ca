# strict-cc: strict confidential computing.  Both sides refuse to run a
# secure guest's device without ACCESS_PLATFORM: the guest because the
# device would see private memory, the device because it cannot reach
# memory it was not granted.  This is the rule the 2018-2021 threads asked
# the spec to state; virtio 1.4 does not.

name strict-cc
title strict confidential computing: both sides refuse without ACCESS_PLATFORM
proposal none

# A secure guest MUST NOT drive a device that does not offer
# ACCESS_PLATFORM: the driver sets FAILED before FEATURES_OK.
driver.secure-without-access-platform  refuse      POL-cc-secure-refuses

# A device whose access is restricted (behind a translating IOMMU, or
# serving a secure guest) MUST refuse FEATURES_OK when the driver did not
# accept ACCESS_PLATFORM; an unrestricted device has no reason to.
device.refuse-without-access-platform  restricted  POL-cc-device-refuses

# Keep every address within the device's DMA width (DRV-6.1: only
# addresses the device can use are handed to it).
driver.address-width                   respect     DRV-6.1
