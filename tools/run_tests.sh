#!/usr/bin/env bash
# tools/run_tests.sh — the test command (README, CI): install dependencies, configure with warnings as
# errors (the default preset, in build/), build everything, run every test under ctest; then install
# the Python package (pip) and run its tests (pytest); then the build without CUDA and its tests
# (tools/run_cpu_only.sh). GPU tests skip where no device is present, and then run against the CUDA
# runtime simulator (tools/run_simulator.sh: three seeds, the Python tests, ThreadSanitizer).
#
#   tools/run_tests.sh [-DNAME=VALUE ...]    the arguments are added to the configure of build/
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake --preset default "$@"
cmake --build --preset default -j "$(nproc)"
ctest --preset default -j "$(nproc)" --timeout 900

# The Python package: the wheel build compiles the library and the module only (pyproject.toml).
# nanobind and scikit-build-core are already here, so the build needs no network and stays
# incremental in build-python/. Without a GPU the kernels are compiled once, as PTX: nothing runs them.
source tools/python_tests.sh
pip_args=("${pip_local_args[@]}")
if ! nvidia-smi -L >/dev/null 2>&1; then
  pip_args+=(--config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES=90-virtual)
fi
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" python3 -m pip install -q "${pip_args[@]}" ${PIP_ARGS:-} .
# From outside the source tree, so that `import stridecopy` is the installed package. With the
# toolkit here, the package must have found it (a build without CUDA is tools/run_cpu_only.sh's).
if command -v nvcc >/dev/null; then
  (cd tests/python && python3 -c 'import stridecopy as sc, sys; sys.exit(0 if sc.cuda_built() else "run_tests.sh: nvcc is on PATH but the package was built without CUDA")')
fi
run_python_tests

# The build without CUDA (build-cpu/: no CUDA compiler on PATH), its CLI and every C++ test.
tools/run_cpu_only.sh

# The GPU tests against the simulator too, also where a GPU ran them above: it checks every
# ordering whatever the timing, which a card does not.
tools/run_simulator.sh
