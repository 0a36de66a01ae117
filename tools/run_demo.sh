#!/usr/bin/env bash
# tools/run_demo.sh [DEMO ARGS] — the main job (README): build (the release preset, in build-release/),
# then `stridecopy demo`, the BGR example: a [4, 3, 966, 1296] float32 batch, [:, ::-1, :, :], into a
# pinned NumPy-layout buffer and a .npy, verified and timed. Without a GPU it runs the host path and
# says so.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)" --target stridecopy_cli
build-release/tools/cli/stridecopy demo "$@"
