#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzes one spec parser with libFuzzer for N seconds:
#
#   tools/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#   TARGET: topology | workload | failures | units | overrides | scenario | sweep | trace |
#           chakra | kernel_profile  (tests/fuzz/<TARGET>_fuzz.cc)
#
# Builds the targets with clang 14 (-fsanitize=fuzzer,address,undefined) in build-fuzz/
# (STEPSIM_FUZZ_BUILD_DIR to change it), seeds from tests/fuzz/corpus/TARGET/ (read only; new
# inputs go to BUILD/fuzz-work/TARGET/) and stops after SECONDS. A crash, leak, timeout or
# out-of-memory input is written to BUILD/fuzz-artifacts/TARGET/ and the script exits non-zero;
# copy it into tests/fuzz/corpus/TARGET/ (name it regression-<what>) so that the normal suite
# replays it (tests/unit/robustness), then fix the bug. STEPSIM_FUZZ_JOBS=N runs N
# fuzzing processes in parallel. Needs clang-14 and libclang-rt-14-dev
# (tools/scripts/install_deps.sh --fuzz). See docs/robustness.md.
set -euo pipefail

usage() {
  sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[ $# -ge 2 ] || usage
target=$1
seconds=$2
shift 2
case $target in
  topology | workload | failures | units | overrides | scenario | sweep | trace | chakra | \
    kernel_profile) ;;
  *) echo "fuzz.sh: unknown target \"$target\"" >&2; usage ;;
esac
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number" >&2; usage; }

root=$(cd "$(dirname "$0")/.." && pwd)
build=${STEPSIM_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${STEPSIM_FUZZ_JOBS:-1}
compiler=${STEPSIM_FUZZ_CXX:-clang++-14}
"$root/tools/scripts/install_deps.sh" --fuzz
command -v "$compiler" >/dev/null || {
  echo "fuzz.sh: $compiler not found (tools/scripts/install_deps.sh --fuzz)" >&2
  exit 1
}

if [ ! -f "$build/CMakeCache.txt" ]; then
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTEPSIM_FUZZ=ON -DSTEPSIM_BUILD_TESTS=OFF -DSTEPSIM_BUILD_BENCHMARKS=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target "${target}_fuzz"

# A dictionary of the specs' field and enum names and the unit suffixes, so that mutations
# produce well-formed fields more often than random bytes would.
dict=$build/fuzz-work/stepsim.dict
mkdir -p "$build/fuzz-work/$target" "$build/fuzz-artifacts/$target"
{
  cat "$root"/topologies/*.proto "$root"/workloads/*.proto |
    grep -oE '^\s*(optional |repeated )?[A-Za-z0-9_.]+ [a-z_0-9]+ = [0-9]+|^\s*[A-Z_0-9]+ = [0-9]+' |
    awk '{ for (i = 1; i <= NF; ++i) if ($(i + 1) == "=") print $i }'
  printf '%s\n' ps ns us ms s min h d B kB MB GB TB PB KiB MiB GiB TiB PiB Bps kBps MBps GBps \
    TBps PBps bps kbps Mbps Gbps Tbps Pbps FLOP TFLOP PFLOP FLOPS TFLOPS PFLOPS 'FLOP/s' \
    '{' '}' ':' '[' ']' '.' '=' '[*]' '[0]' e+308 e-324 nan inf
  # Scenario selectors and --straggler syntax; sweep expressions and command flags.
  printf '%s\n' '->' '<->' inter-node intra-node all 'node[0].gpu[0]' 'node[0].nic[0]' \
    'node[0].nvswitch[0]' '0-7' compute= comm= factor= down '&&' '||' '==' '!=' '<=' '>=' \
    '!' '%' gpus '"' --seed --seeds --steps --mtbf --intervals --straggler --set \
    limits.max_points
  # Trace-event JSON (tools/fuzz.sh trace).
  printf '%s\n' traceEvents ph pid tid ts dur args step seq_id mb_id model_chunk thread_name \
    process_name 'PP rank 0, TP rank 0, ' 'gpu 0 (stage 0) ' compute pp-comm dp-comm pp dp \
    forward-send forward-recv backward-send backward-recv grads-reduce-scatter \
    params-all-gather optimizer-clip-main-grad embedding-grads-all-reduce 'pp send mb0 vs0' \
    'F mb0 L0' 'B mb0 L0' bubble null true false
  # Chakra node attributes and the comm_groups.json shape (tools/fuzz.sh chakra).
  printf '%s\n' is_cpu_op num_ops tensor_size comm_type comm_size comm_src comm_dst comm_tag \
    comm_priority pg_name stepsim_duration_ps 0.0.4 '{"1":[0,1]}'
} | sort -u | sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/"&"/' >"$dict"

echo "fuzz.sh: fuzzing $target for ${seconds}s ($jobs job(s)); artifacts in $build/fuzz-artifacts/$target/" >&2
parallel=()
if [ "$jobs" -gt 1 ]; then
  parallel=(-jobs="$jobs" -workers="$jobs")
fi
cd "$build/fuzz-work/$target"
exec "$build/tests/fuzz/${target}_fuzz" "$build/fuzz-work/$target" "$root/tests/fuzz/corpus/$target" \
  -dict="$dict" -max_total_time="$seconds" -max_len=16384 -timeout=20 -rss_limit_mb=2048 \
  -artifact_prefix="$build/fuzz-artifacts/$target/" -print_final_stats=1 "${parallel[@]}" "$@"
