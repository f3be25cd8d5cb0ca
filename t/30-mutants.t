#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every mutant is caught with exactly its rule, and the same cell without
# the fault passes: mutant/NAME[caught] and mutant/NAME[clean].
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exec "${VCTS_BUILD:-$top/build}/vcts" run --filter 'mutant/*'
