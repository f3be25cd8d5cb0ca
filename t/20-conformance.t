#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The in-process conformance suites: the reference driver against the
# checking device, every cell (QEMU's devices: t/40-qtest.t; vhost-user
# backends: t/45-vhost-user.t).  vcts speaks
# TAP itself.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exec "${VCTS_BUILD:-$top/build}/vcts" run --exclude 'mutant/*' --exclude 'qemu/*' --exclude 'vhost-user/*' --exclude 'vhost-user-backend/*' --exclude 'vhost-user-loop/*'
