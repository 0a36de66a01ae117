#!/usr/bin/env bash
# tools/run_demo.sh — the main job (README): build, then `stridecopy demo`, the BGR example:
# a [4, 3, 966, 1296] float32 batch, [:, ::-1, :, :], into a pinned NumPy-layout buffer and a .npy,
# verified and timed. Without a GPU it runs the host path and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)" --target stridecopy_cli
"$BUILD_DIR/tools/cli/stridecopy" demo "$@"
