#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the project with AddressSanitizer + UndefinedBehaviorSanitizer (STEPSIM_SANITIZE,
# -O1 -g, warnings as errors) and runs tests under it. Any sanitizer report fails the test that
# triggered it (halt_on_error, no UBSan recovery).
#
#   tools/scripts/run_sanitized_tests.sh [ctest args]   # everything, in build-asan/
#   tools/scripts/run_sanitized_tests.sh --ci           # CI's subset, in build-asan-ci/
#
# The whole run builds everything but the benchmarks and runs every test. Two tests run code
# not built with the sanitizers and get their settings from tests/CMakeLists.txt: sweep_mpi:*
# (Open MPI's own leaks, tests/sanitizer/lsan_openmpi.supp) and python:stepsim_module (the
# runtime preloaded into python3, leak checking off). --ci (what .ci/run runs) builds only the
# libraries, the CLI and the unit-test binaries of the loaders (spec, trace, chakra, the fuzz
# corpus replay in robustness), the collectives and the step, and runs those binaries' tests.
# Extra arguments go to ctest (e.g. -R spec). STEPSIM_ASAN_BUILD_DIR changes the build folder.
# Times on 2 cores: docs/robustness.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
subset=0
if [ "${1:-}" = "--ci" ]; then
  subset=1
  shift
fi
if [ $subset -eq 1 ]; then
  build="${STEPSIM_ASAN_BUILD_DIR:-$root/build-asan-ci}"
else
  build="${STEPSIM_ASAN_BUILD_DIR:-$root/build-asan}"
fi
jobs="$(nproc 2>/dev/null || echo 2)"
"$root/tools/scripts/install_deps.sh"
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DSTEPSIM_SANITIZE=ON -DSTEPSIM_WERROR=ON -DSTEPSIM_BUILD_BENCHMARKS=OFF "${launcher[@]}" >/dev/null
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
if [ $subset -eq 0 ]; then
  cmake --build "$build" -j "$jobs"
  ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
  exit 0
fi
modules=(spec trace chakra robustness collective step)
targets=(stepsim)
for m in "${modules[@]}"; do
  targets+=("stepsim_${m}_tests")
done
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
pattern="^stepsim_($(
  IFS='|'
  echo "${modules[*]}"
))_tests:"
ctest --test-dir "$build" --output-on-failure -j "$jobs" -R "$pattern" "$@"
