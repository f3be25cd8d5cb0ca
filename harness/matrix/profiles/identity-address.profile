# identity-address: the proposed ACCESS_PLATFORM_IDENTITY_ADDRESS.  It is
# negotiated only together with ACCESS_PLATFORM; by setting it the driver
# promises that the platform maps every device address 1:1, that the whole
# map exists before DRIVER_OK and that it does not change until reset.
# The proposal was never merged, so its bit is a parameter: 25, a bit v1.4
# leaves free in the range for queue and feature negotiation extensions.

name identity-address
title ACCESS_PLATFORM_IDENTITY_ADDRESS (proposal) on bit 25
proposal identity-address
proposal-bit 25

# The threads behind the proposal wanted secure guests kept safe: a secure
# guest refuses a device without ACCESS_PLATFORM, as under strict-cc.
driver.secure-without-access-platform  refuse     POL-cc-secure-refuses

# The proposal adds nothing on the device's side: DEV-6.2's MAY, not taken.
device.refuse-without-access-platform  never      POL-spec-device-may-fail

# Keep within the device's DMA width (DRV-6.1).
driver.address-width                   respect    DRV-6.1

# The proposal's wording: the complete 1:1 map exists before DRIVER_OK
# (features-ok would model its "ideally before FEATURES_OK").
identity.map-before                    driver-ok  PROP-ia-complete-map

# Open question of the proposal, answered here the conservative way: an
# identity address is still a device address, so the device's width limit
# applies to it.
identity.width-limited                 yes        PROP-ia-width
