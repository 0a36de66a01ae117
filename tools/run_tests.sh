#!/usr/bin/env bash
# tools/run_tests.sh — the test command (README, CI): install dependencies, configure with warnings as
# errors, build everything, run every test under ctest. GPU tests skip where no device is present.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DSTRIDECOPY_WERROR=ON ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 900
