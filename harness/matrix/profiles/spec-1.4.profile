# spec-1.4: the virtio 1.4 specification as written, and nothing more.
#
# The spec speaks of ACCESS_PLATFORM only in DRV-6.1 and DEV-6.2: a driver
# SHOULD accept it when offered (the ap-accept axis models a driver that
# knows the bit or not), and a device MAY fail when it is not accepted.  It
# says nothing about secure (confidential) guests or about a device's DMA
# address width.  Where the spec leaves a choice open, this profile takes
# the one that reads the text most literally.

name spec-1.4
title virtio 1.4 as written: no rule for secure guests
proposal none

# Secure guest, device without ACCESS_PLATFORM: no clause forbids it.  Per
# DRV-6.1 a driver then passes physical addresses, so it proceeds; its
# rings and buffers stay in private memory, which the device cannot read
# (the matrix shows that as a hazard of this profile).
driver.secure-without-access-platform  proceed  DRV-6.1

# DEV-6.2 lets a device fail when ACCESS_PLATFORM is not accepted, but only
# MAY.  This profile's device takes the permissive reading and does not
# fail; POL-spec-device-may-fail names exactly that choice (it relates to
# DEV-6.2, which alone would not say which way the device went).
device.refuse-without-access-platform  never    POL-spec-device-may-fail

# The spec has no address-width rule.  DRV-6.1 is the clause on what a
# driver may hand the device (physical addresses, or bus addresses the
# platform translates): addresses the device cannot reach are not usable
# ones, so the driver keeps within the device's width.
driver.address-width                   respect  DRV-6.1
