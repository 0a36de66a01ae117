#!/usr/bin/env bash
# tools/run_simulator.sh — every GPU test against the CUDA runtime simulator (tests/sim), on a machine
# without a GPU. The library, the GPU tests and the Python module are built with
# -DSTRIDECOPY_SIMULATOR=ON (the simulator preset, in build-sim/) and run with two simulated devices:
# ctest once per seed of random delays, then the Python tests against that build of the package; then
# the GPU tests once more under ThreadSanitizer (the simulator-tsan preset, in build-sim-tsan/). A
# failing run names its seed and how to replay it.
#
#   tools/run_simulator.sh [--seeds 1,2,3] [--no-tsan] [-DNAME=VALUE ...]   (-D: added to both configures)
#
# Under ThreadSanitizer (5-15 times slower) the tests of 72 MiB through every strategy are left out:
# they add no thread that the other tests lack.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seeds=1,2,3
tsan=1
cmake_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --no-tsan) tsan=0; shift ;;
    -D*) cmake_args+=("$1"); shift ;;
    *) echo "usage: tools/run_simulator.sh [--seeds 1,2,3] [--no-tsan] [-DNAME=VALUE ...]" >&2; exit 2 ;;
  esac
done
jobs=${JOBS:-$(nproc)}
export STRIDECOPY_SIM_DEVICES=2
export STRIDECOPY_SIM_DELAY_US=${STRIDECOPY_SIM_DELAY_US:-200}

cmake --preset simulator "${cmake_args[@]}"
cmake --build --preset simulator -j "$jobs"

replay() {
  echo "run_simulator.sh: failed with STRIDECOPY_SIM_SEED=$1; replay a test with" >&2
  echo "  STRIDECOPY_SIM_SEED=$1 STRIDECOPY_SIM_DEVICES=2 ctest --test-dir $2 -R '<test>' --output-on-failure" >&2
  echo "  (STRIDECOPY_SIM_HALT=1 stops at the first report with a stack trace)" >&2
}

total=$(ctest --test-dir build-sim -N | awk '/Total Tests:/ {print $3}')
for seed in ${seeds//,/ }; do
  echo "run_simulator.sh: $total tests (GPU tests and the simulator's own), seed $seed"
  STRIDECOPY_SIM_SEED=$seed ctest --test-dir build-sim --output-on-failure -j "$jobs" --timeout 900 ||
    { replay "$seed" build-sim; exit 1; }
done

echo "run_simulator.sh: the Python tests against the package built on the simulator"
(cd tests/python && PYTHONPATH="$root/build-sim/python" STRIDECOPY_SIM_LIBRARY="$root/build-sim/tests/sim/libstridecopy_sim.so" \
  python3 -m pytest -q -p no:cacheprovider --rootdir=. .) || { replay 1 build-sim; exit 1; }

[ "$tsan" = 1 ] || exit 0
# Tests are listed when ctest runs (PRE_TEST, in the preset): a test program is not run at build time under the
# sanitizer. allocator_may_return_null: the out-of-memory tests see a failed allocation, as without it.
cmake --preset simulator-tsan "${cmake_args[@]}"
cmake --build --preset simulator-tsan -j "$jobs"
seed=${seeds%%,*}
echo "run_simulator.sh: the GPU tests under ThreadSanitizer, seed $seed"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 allocator_may_return_null=1${TSAN_OPTIONS:+ $TSAN_OPTIONS}" \
  STRIDECOPY_SIM_SEED=$seed ctest --test-dir build-sim-tsan --output-on-failure -j "$jobs" --timeout 1200 \
  -E 'TwoHundredFiftySixMebibytes' || { replay "$seed" build-sim-tsan; exit 1; }
