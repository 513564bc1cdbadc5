#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Quick start, command 1: build, then simulate the main job on the bundled 1024-GPU example
# (128 DGX H100 nodes): one training step of GPT-3 175B, TP8 PP16 DP8.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$root/tools/scripts/build.sh"
cd "$root"
if [ -f workloads/gpt3-175b.textproto ] && ./build/tools/stepsim step --help >/dev/null 2>&1; then
  exec ./build/tools/stepsim step --topology topologies/dgx-h100-1024.textproto \
    --workload workloads/gpt3-175b.textproto "$@"
fi
exec ./build/tools/stepsim topology topologies/dgx-h100-1024.textproto "$@"
