#!/usr/bin/env bash
# tools/install_deps.sh — installs what building and testing stridecopy needs on a fresh Debian
# machine that already has the CUDA toolkit, g++, CMake, GoogleTest and Google Benchmark:
# CLI11 and OpenMP (Debian packages) and NumPy (pip). Skips whatever is already there.
set -euo pipefail
need_apt=()
[ -f /usr/include/CLI/CLI.hpp ] || need_apt+=(libcli11-dev)
[ -f /usr/lib/x86_64-linux-gnu/libgomp.so.1 ] || need_apt+=(libgomp1)
dpkg -s libgtest-dev >/dev/null 2>&1 || need_apt+=(libgtest-dev)
dpkg -s libbenchmark-dev >/dev/null 2>&1 || need_apt+=(libbenchmark-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install -q numpy
