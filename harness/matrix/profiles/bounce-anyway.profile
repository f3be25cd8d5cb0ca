# bounce-anyway: the powerpc secure-guest proposal.  When the guest is
# secure, the device did not offer ACCESS_PLATFORM, and device addresses
# equal physical addresses, the driver bounces every buffer through shared
# memory and keeps its rings there, instead of refusing the device.

name bounce-anyway
title bounce anyway: secure guests bounce through shared memory without ACCESS_PLATFORM
proposal none

# The proposal itself: bounce all data, rings in shared memory.
driver.secure-without-access-platform  bounce   PROP-ba-bounce

# The proposal keeps devices as they are: DEV-6.2's MAY, not taken.
device.refuse-without-access-platform  never    POL-spec-device-may-fail

# Bounce slots and IOVAs stay within the device's DMA width (DRV-6.1).
driver.address-width                   respect  DRV-6.1
