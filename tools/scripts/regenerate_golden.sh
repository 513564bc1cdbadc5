#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Rewrites tests/golden/NAME.json for every case in tests/golden/cases.txt (or only the cases
# named as arguments) from the built CLI (build/tools/stepsim; STEPSIM_CLI overrides). Explain
# every golden diff in the commit message: which fields moved and why.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cli="${STEPSIM_CLI:-$root/build/tools/stepsim}"
[ -x "$cli" ] || { echo "regenerate_golden: no CLI at $cli (build first)" >&2; exit 1; }
cd "$root"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
trim() { sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'; }
count=0
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  name="$(printf '%s' "${line%%|*}" | trim)"
  rest="${line#*|}"
  command="$(printf '%s' "${rest%|*}" | trim)"
  output="$(printf '%s' "${rest##*|}" | trim)"
  if [ "$#" -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
    continue
  fi
  out="$scratch/$name"
  mkdir -p "$out"
  command="${command//\{out\}/$out}"
  command="${command//\{stepsim\}/$cli}"
  if [ "$output" = stdout ]; then
    eval "\"\$cli\" $command" > "$out/stdout" 2>/dev/null
    produced="$out/stdout"
  else
    eval "\"\$cli\" $command" > /dev/null 2>&1
    produced="$out/$output"
  fi
  # The scratch folder's path, where an output names it, reads "{out}".
  sed "s|$out|{out}|g" "$produced" > "tests/golden/$name.json"
  count=$((count + 1))
done < tests/golden/cases.txt
echo "regenerate_golden: $count cases written to tests/golden/ (git diff tests/golden shows what moved)"
