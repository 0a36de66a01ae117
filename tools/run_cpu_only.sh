#!/usr/bin/env bash
# tools/run_cpu_only.sh — the build without CUDA, as on a machine without the toolkit: configure the
# cpu-only preset (build-cpu/) with no CUDA directory on PATH, so that no CUDA compiler can be found,
# build the library, the CLI, the tests and the host benchmarks, and run every test; then pip install
# the Python package the same way (into a scratch folder) and run the Python tests against it. That
# no source of this build reaches a CUDA header is checked by its ctest layers_without_cuda
# (tools/check_layers.py, which takes CUDA's include directories away); that nothing links the CUDA
# runtime, below.
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
# A toolkit installed beside the build tools (/usr/bin/nvcc from a distribution package, a conda
# environment) takes them off PATH with it: say so rather than fail later.
for tool in cmake python3 nm; do
  if ! command -v "$tool" >/dev/null; then
    echo "run_cpu_only.sh: $tool is not on PATH once the directories holding nvcc are left out" >&2
    exit 1
  fi
done
cmake --preset cpu-only "$@"
if ! grep -q '^STRIDECOPY_CUDA:BOOL=OFF$' build-cpu/CMakeCache.txt; then
  echo "run_cpu_only.sh: build-cpu was configured with CUDA" >&2
  exit 1
fi
cmake --build --preset cpu-only -j "$(nproc)"
# No CUDA runtime inside (cudart is linked statically where it is linked: its cuda* symbols would show).
for program in build-cpu/tools/cli/stridecopy build-cpu/tests/stridecopy_tests; do
  if [ ! -x "$program" ]; then
    echo "run_cpu_only.sh: $program was not built" >&2
    exit 1
  fi
  symbols=$(nm "$program" | grep -E ' [TtUu] cuda[A-Z]' || true)
  if [ -n "$symbols" ] || ldd "$program" | grep -qi cuda; then
    echo "run_cpu_only.sh: $program links the CUDA runtime: $(printf '%s\n' "$symbols" | head -3 | tr '\n' ' ')" >&2
    exit 1
  fi
done
ctest --preset cpu-only -j "$(nproc)" --timeout 900

# pip install . as a user without the toolkit does it (no build isolation: nanobind and
# scikit-build-core are installed; the build stays incremental in build-python/).
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
source tools/python_tests.sh
pip_args=("${pip_local_args[@]}" --no-deps --target "$site")
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" python3 -m pip install -q "${pip_args[@]}" \
  --config-settings=build-dir=build-python/cpu-only .
PYTHONPATH="$site" python3 -c 'import stridecopy as sc, sys; sys.exit(0 if not sc.cuda_built() else "run_cpu_only.sh: the package was built with CUDA")'
run_python_tests "$site"
