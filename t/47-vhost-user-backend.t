#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Drivers under test behind a vhost-user socket, judged by the checking
# device served through the vhost-user backend: every vhost-user-backend/*
# instance (DPDK virtio-user through dpdk-testpmd; hostile front-ends).
# Known deviations as xfail (suites/xfail/dpdk-virtio-user.tsv).  The DPDK
# instances skip themselves when dpdk-testpmd is missing.  vcts speaks TAP
# itself.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exec "${VCTS_BUILD:-$top/build}/vcts" run --filter 'vhost-user-backend/*'
