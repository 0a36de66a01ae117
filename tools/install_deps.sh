#!/usr/bin/env bash
# tools/install_deps.sh — installs what building and testing stridecopy needs on a fresh Debian
# machine that already has the CUDA toolkit, g++, CMake, GoogleTest and Google Benchmark:
# CLI11 and clang-format (Debian packages); NumPy, and for the Python package nanobind, scikit-build-core,
# pytest and ml_dtypes (pip). Skips whatever is already there.
set -euo pipefail
need_apt=()
[ -f /usr/include/CLI/CLI.hpp ] || need_apt+=(libcli11-dev)
dpkg -s libgtest-dev >/dev/null 2>&1 || need_apt+=(libgtest-dev)
dpkg -s libbenchmark-dev >/dev/null 2>&1 || need_apt+=(libbenchmark-dev)
command -v clang-format >/dev/null || need_apt+=(clang-format)  # tools/check_format.sh
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# The tests run on this interpreter; where Debian marks it externally managed (PEP 668), pip is told
# that installing into it is intended.
pip_install() {
  local extra=()
  if python3 -c 'import sys, sysconfig, os; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
    extra+=(--break-system-packages)
  fi
  python3 -m pip install -q "${extra[@]}" "$@"
}
need_pip=()
python3 -c 'import numpy' 2>/dev/null || need_pip+=(numpy)
python3 -c 'import nanobind; assert int(nanobind.__version__.split(".")[0]) >= 3' 2>/dev/null || need_pip+=("nanobind>=3.1")
python3 -c 'import scikit_build_core as s; assert tuple(map(int, s.__version__.split(".")[:2])) >= (0, 11)' 2>/dev/null ||
  need_pip+=("scikit-build-core>=0.11")
python3 -c 'import pytest' 2>/dev/null || need_pip+=(pytest)
if [ ${#need_pip[@]} -gt 0 ]; then
  pip_install "${need_pip[@]}"
fi
# bfloat16 tests skip without it, so a machine without network access is not stopped by its absence.
python3 -c 'import ml_dtypes' 2>/dev/null || pip_install ml_dtypes ||
  echo "install_deps.sh: ml_dtypes could not be installed; the bfloat16 tests will skip" >&2
