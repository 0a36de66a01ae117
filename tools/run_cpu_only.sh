#!/usr/bin/env bash
# tools/run_cpu_only.sh — the build without CUDA, as on a machine without the toolkit: configure the
# cpu-only preset (build-cpu/) with no CUDA directory on PATH, so that no CUDA compiler can be found,
# build the library, the CLI, the tests and the host benchmarks, and run every test. That no source
# of this build reaches a CUDA header is checked by its ctest layers_without_cuda (tools/check_layers.py,
# which takes CUDA's include directories away); that nothing links CUDA, below.
set -euo pipefail
cd "$(dirname "$0")/.."
path_without_cuda=""
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  if [ -n "$d" ] && [ ! -x "$d/nvcc" ]; then path_without_cuda="${path_without_cuda:+$path_without_cuda:}$d"; fi
done
export PATH="$path_without_cuda"
unset CUDACXX CUDAToolkit_ROOT CUDA_PATH CUDA_HOME
if command -v nvcc >/dev/null; then
  echo "run_cpu_only.sh: nvcc is still on PATH ($(command -v nvcc))" >&2
  exit 1
fi
cmake --preset cpu-only "$@"
if ! grep -q '^STRIDECOPY_CUDA:BOOL=OFF$' build-cpu/CMakeCache.txt; then
  echo "run_cpu_only.sh: build-cpu was configured with CUDA" >&2
  exit 1
fi
cmake --build --preset cpu-only -j "$(nproc)"
# No CUDA runtime inside (cudart is linked statically where it is linked: its cuda* symbols would show).
for program in build-cpu/tools/cli/stridecopy build-cpu/tests/stridecopy_tests; do
  if nm "$program" | grep -E ' [TtUu] cuda[A-Z]' | head -3 | grep . || ldd "$program" | grep -i cuda; then
    echo "run_cpu_only.sh: $program links the CUDA runtime" >&2
    exit 1
  fi
done
ctest --preset cpu-only -j "$(nproc)" --timeout 900
