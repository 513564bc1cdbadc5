#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages stepsim builds with, when any is missing. Idempotent: does
# nothing (no network) when everything is already there. Needs root or sudo for apt-get.
# Optional groups: --fuzz adds clang 14 and its libFuzzer/sanitizer runtimes (tools/fuzz.sh);
# --plots adds matplotlib for the plotting examples (tools/examples/*.py).
set -euo pipefail

packages=(
  cmake g++ make
  libboost-graph-dev libboost-program-options-dev
  libprotobuf-dev protobuf-compiler
  catch2 libbenchmark-dev
  pybind11-dev python3-dev
  openmpi-bin libopenmpi-dev
  zlib1g-dev
)
for group in "$@"; do
  case $group in
    --fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
    --plots) packages+=(python3-matplotlib) ;;
    *) echo "install_deps.sh: unknown option $group (optional groups: --fuzz, --plots)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "stepsim: installing missing Debian packages: ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "stepsim: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
