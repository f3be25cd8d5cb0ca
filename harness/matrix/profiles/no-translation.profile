# no-translation: the proposed ACCESS_PLATFORM_NO_TRANSLATION.  It means
# ACCESS_PLATFORM except that addresses are never translated: the device
# uses physical addresses, access may still be limited.  A driver sets it
# when offered and never together with ACCESS_PLATFORM.  The proposal was
# never merged, so its bit is a parameter: 26, a bit v1.4 leaves free in
# the range for queue and feature negotiation extensions.

name no-translation
title ACCESS_PLATFORM_NO_TRANSLATION (proposal) on bit 26
proposal no-translation
proposal-bit 26

# Secure guests are kept safe as under strict-cc: a secure guest refuses
# a device without ACCESS_PLATFORM.
driver.secure-without-access-platform  refuse   POL-cc-secure-refuses

# The proposal adds nothing on the device's side: DEV-6.2's MAY, not taken.
device.refuse-without-access-platform  never    POL-spec-device-may-fail

# Untranslated physical addresses still have to fit the device's DMA
# width (DRV-6.1).
driver.address-width                   respect  DRV-6.1
