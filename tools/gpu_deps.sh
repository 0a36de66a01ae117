#!/usr/bin/env bash
# tools/gpu_deps.sh — the GPU machines lent through the device tool reach no package registry and
# have no GoogleTest, Google Benchmark or CLI11. On this (CPU) machine, `tools/gpu_deps.sh fetch`
# downloads their Debian packages into .deps/ (git-ignored, ~1 MB); carry .deps with the run
# (device tool: carry [".deps"]) and tools/gpu_check.sh unpacks them into a private prefix there.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  fetch)
    mkdir -p .deps
    (cd .deps && apt-get download googletest libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian libcli11-dev)
    ls -la .deps ;;
  unpack)
    prefix=${2:?usage: gpu_deps.sh unpack PREFIX}
    mkdir -p "$prefix"
    for deb in .deps/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
    echo "$prefix/usr" ;;
  *) echo "usage: tools/gpu_deps.sh fetch | unpack PREFIX"; exit 2 ;;
esac
