#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the whole project with AddressSanitizer + UndefinedBehaviorSanitizer (STEPSIM_SANITIZE,
# -O1 -g, warnings as errors) in build-asan/ and runs every test under it. Any sanitizer report
# fails the test that triggered it (halt_on_error, no UBSan recovery). Two tests run code not
# built with the sanitizers and get their settings from tests/CMakeLists.txt: sweep_mpi:*
# (Open MPI's own leaks, tests/sanitizer/lsan_openmpi.supp) and python:stepsim_module (the
# runtime preloaded into python3, leak checking off). Extra arguments go to ctest (e.g.
# -R spec). STEPSIM_ASAN_BUILD_DIR changes the build folder. Time on 2 cores (about 20 min to
# build, 70 s to test): docs/robustness.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${STEPSIM_ASAN_BUILD_DIR:-$root/build-asan}"
jobs="$(nproc 2>/dev/null || echo 2)"
"$root/tools/scripts/install_deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DSTEPSIM_SANITIZE=ON -DSTEPSIM_WERROR=ON -DSTEPSIM_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "$jobs"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
