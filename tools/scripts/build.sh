#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs missing packages, then configures and builds stepsim in build/ (Release, warnings
# as errors). Extra arguments go to the CMake configure step.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$root/tools/scripts/install_deps.sh"
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DSTEPSIM_WERROR=ON "$@" >/dev/null
cmake --build "$root/build" -j "$jobs"
