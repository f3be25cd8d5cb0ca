#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Both vhost-user roles against each other in one process: the reference
# driver through the vhost-user front-end, a unix socket, and the
# vhost-user backend serving the checking device (every vhost-user-loop/*
# instance: rings, ACCESS_PLATFORM with the backend's IOTLB, a secure
# guest's shared region, mutants of either side).  vcts speaks TAP itself.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exec "${VCTS_BUILD:-$top/build}/vcts" run --filter 'vhost-user-loop/*'
