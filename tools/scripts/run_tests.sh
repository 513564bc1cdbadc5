#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Quick start, command 2: build, then run every test (unit, analytic, bad-spec, determinism).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$root/tools/scripts/build.sh"
jobs="$(nproc 2>/dev/null || echo 2)"
ctest --test-dir "$root/build" --output-on-failure -j "$jobs" "$@"
