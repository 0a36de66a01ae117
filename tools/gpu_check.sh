#!/usr/bin/env bash
# tools/gpu_check.sh — the GPU check, for a machine with an NVIDIA GPU, in named steps, each under its
# own time limit:
#
#   build       configure and build for this card (GoogleTest, Google Benchmark and CLI11 from
#               .deps/ when it holds their .debs: tools/gpu_deps.sh)
#   tests       every ctest test, the GPU tests included
#   memcheck    compute-sanitizer memcheck over the GPU tests (DeviceToDevice.*, DeviceToHost.*,
#               HostToDevice.*)
#   racecheck   compute-sanitizer racecheck over tests that run the shared-memory (transpose) kernels
#   benchmarks  device_bench (device to device), d2h_bench (device to host) and h2d_bench (host to
#               device), same-run limits
#   oracle      tests/cli_numpy_oracle.py with --backend cuda: the CLI's GPU path against NumPy
#   python      the Python tests (tests/python: PyTorch and CuPy on the card, producers that write
#               late, consumers on other streams) against the module the build step made
#   peers       bench/peers.py: PyTorch, CuPy and NumPy beside stridecopy on this card
#   summary     the step table, the targets and the ratio tables (bench/report_device.py)
#
#   tools/gpu_check.sh [--quick | --full] [--steps build,tests,...] [--out DIR] [--deadline SECONDS]
#   tools/gpu_check.sh --help | --fingerprint
#
# Each step prints its budget when it starts and its elapsed time when it ends, and runs under
# `timeout`; a step that fails or runs out of time does not stop the later ones, except the build (no
# build: only the summary runs). --deadline (none unless given) bounds the whole run: a step then gets
# its budget or what is left before the deadline, less the summary's, whichever is smaller.
# Results go to --out DIR (default bench/results/<card>-<date>/), as each step ends: one log per
# step, gpu_check.log (the running log: every step's header, the tail of its log and its result),
# the benchmarks' JSON and summary.txt.
#
# --quick (the default) measures what the performance targets need: device to host and device to
# device for the NCHW view family (the 7 views of bench/nchw_views.hpp) in float32 and uint8 at 64 MiB
# and 1 GiB, and the 4 KiB device-to-host latency cases; host to device at 64 MiB (float32 and uint8,
# and from pageable memory against the two-step way in float32); 3 repetitions; iteration counts bounded by
# --iterations=10 (bench/cuda_bench_util.cuh: each repetition moves about 640 MiB, at least 3 and at
# most 200 iterations: 200 at 4 KiB, 10 at 64 MiB, 3 at 1 GiB). --full runs everything the benchmark
# programs register (5 repetitions, the same bound; host to device: 3 repetitions and 1 GiB in float32
# only), every sanitizer group, 600 oracle cases and the fixed ones, and the peers at every size and
# dtype: about 17 minutes in all, in one run or split with --steps into shorter ones (estimates
# below):
#   tools/gpu_check.sh --full --steps build,tests,memcheck,racecheck,oracle,python,summary
#   tools/gpu_check.sh --full --steps build,benchmarks,summary
#   tools/gpu_check.sh --full --steps build,peers,summary
#
# ---- Estimate of --quick on an H100 (16 cores), in seconds
#
#   build       130  configure ~10 (CMake 4, CUDA detection); compile: 30 translation units on 16
#                    cores, so the longest two set the time: tests/kernel_replay_test.cu 94 s and
#                    host/cuda/gather_launch.cu 77 s (measured on 2 cores, sm_90 + PTX: 410 s of compile
#                    in all, 26 s on 16 cores; the whole build took 176 s on 2 cores); ~95 for the
#                    longest chain; links and test discovery ~10
#   tests        60  ctest -j 8: the longest tests set it: kernels_static_check (nvcc, 41 s on 2 cores),
#                    the host oracle (2000 CLI runs, 8 at a time; each still initialises the CUDA driver,
#                    ~0.2 s: ~50 s), the 256 MiB device-to-host test (24 copies, each checked on the host,
#                    ~1 s: ~25 s); the other 120 tests run beside them
#   memcheck     35  three groups at once (DeviceToDevice.*, DeviceToHost.*, HostToDevice.*; the
#                    >2^31-element and 256 MiB cases and the no-GPU tests left out): host-side reference
#                    copies and checks dominate (~25 s per group, one core each), sanitizer start ~5 s
#   racecheck    20  DeviceToDevice.EdgeCases, then DeviceToDevice.TwoHostThreadsOnTwoStreams (40 random
#                    views up to a few MB, about a third of them transposes through shared memory)
#   benchmarks   60  a flush of 2 x L2 (H100: 100 MB memset, ~35 us) and ~30 us of event overhead per
#                    iteration; 3 repetitions, each with one untimed warm-up call:
#                    d2h_bench, 105 cases:
#                      4 KiB  {limit, auto} x {f32, u8} x 7 views  = 28 x 3 x 201 x ~0.1 ms    =  2
#                      64 MiB {limit, auto, two_pass_pageable} x 2 x 7 = 42:
#                             14 x 3 x 11 x (2.8 + 2.8 + 8.5 ms; pinned ~25 GB/s, pageable ~8)   =  7
#                      1 GiB  f32 {limit, auto, two_pass_pageable} x 7, u8 {limit, auto} x 7 = 35:
#                             7 x 3 x 4 x (43 + 45 + 134 ms) + 7 x 3 x 4 x (43 + 45 ms)        = 26
#                      inputs: 1 GiB ones ~3 s each (random fill, upload, pinned and pageable
#                      buffers) x 2, the rest ~1; CUDA start ~1                                   =  8
#                    device_bench, 61 cases: {gather, memcpy} x {f32, u8} x 7 x {64 MiB, 1 GiB}, the
#                      BGR view into NHWC, 4 batch cases (each well under a second):
#                      28 x 3 x 11 x ~0.11 ms + 28 x 3 x 4 x ~0.8 ms; inputs 2 x ~1.5 s; start ~1  =  5
#                    h2d_bench, 42 cases at 64 MiB: f32 {limit, auto, pageable_auto, two_step_pageable}
#                    x 7, u8 {limit, auto} x 7:
#                      7 x 3 x 11 x (2.8 + 3 + 6 + 18 ms; two-step: host copy ~10, pageable ~8)    =  7
#                      7 x 3 x 11 x (2.8 + 3 ms)                                                  =  1.5
#                      inputs (random fill, pinned and pageable copies) ~1; CUDA start ~1        =  2
#   oracle       15  150 random cases, --backend cuda, 8 at a time: each run creates a CUDA context
#                    (~0.5 s): 150 x 0.5 / 8 ~ 10, plus Python and NumPy ~5
#   python       60  the Python tests on one core: the random-view oracles (a few thousand NumPy
#                    comparisons) ~30, the GPU tests (PyTorch, CuPy; imports and CUDA start ~10) ~20
#                    (the module's build adds ~15 to the build step: one translation unit)
#   peers        55  4 KiB, 64 MiB, 1 GiB x {f32, u8} x 7 views = 42 cases, --repeat 3 (4 calls each),
#                    stridecopy's figures from the benchmark step's d2h_bench.json (no rerun):
#                      1 GiB: 14 x 4 x (torch .cpu() 0.3 + torch to pinned 0.05 + cupy to pinned 0.05
#                             + cp.asnumpy 0.3 s)                                                = 39
#                      64 MiB: the same / 16, plus NumPy on the host (~0.03 s a call)           =  4
#                      4 KiB ~1; imports and CUDA start ~8; inputs of 1 GiB ~3                    = 12
#                    (NumPy's host copy is timed at 4 KiB and 64 MiB only in --quick)
#   summary       2
#   total       437  (7.3 min)
#
# ---- Estimate of --full, the same way: build 130, tests 60, python 60, memcheck 60 (a third group at the same
# time: the >2^31-element and 256 MiB cases, ~35 s of host-side generation and checks), racecheck
# 170 (adds DeviceToHost.EveryStrategyViewClassSizeAndDestination ~30 and the view family at full size
# in every element size, the least known: ~120), oracle 55 (787 runs), benchmarks 220 (d2h_bench's
# 599 cases: the 1 GiB ones 87 s, 64 MiB 15, 1 MiB and 4 KiB 18 at 3 repetitions, x 5/3, + inputs 9;
# device_bench's 189 ~12; h2d_bench's 627 cases, 3 repetitions: 4 KiB 21 x 9 x 3 x 201 x 0.1 ms = 11,
# 1 MiB the same x 0.3 ms = 34, 64 MiB 21 x 9 x 3 x 11 x ~8 ms = 50, 1 GiB f32 7 x 6 x 3 x 4 x ~100 ms
# = 50, inputs ~17: ~160), peers 175 (84 cases x 6 calls; 1 GiB: 21 x 6 x 1.15 s), summary 2: 1095 s;
# the three runs above take ~460, ~500 and ~290 s (a build folder that is up to date builds nothing).
set -uo pipefail

self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.." || exit 1

STEPS=(build tests memcheck racecheck benchmarks oracle python peers summary)
declare -A BUDGET_QUICK=([build]=270 [tests]=150 [memcheck]=90 [racecheck]=60 [benchmarks]=100 [oracle]=45
                         [python]=120 [peers]=100 [summary]=15)
declare -A BUDGET_FULL=([build]=270 [tests]=240 [memcheck]=300 [racecheck]=300 [benchmarks]=480 [oracle]=120
                        [python]=180 [peers]=360 [summary]=15)
declare -A ESTIMATE_QUICK=([build]=130 [tests]=60 [memcheck]=35 [racecheck]=20 [benchmarks]=60 [oracle]=15
                           [python]=60 [peers]=55 [summary]=2)

# ---- GoogleTest filters of the sanitizer steps. Test names may change: these lines are the one place
# to update (`<build>/tests/stridecopy_tests --gtest_list_tests` prints the current names).
BIG_TESTS='*MoreThanTwoToThe31*:*TwoHundredFiftySixMebibytes*'  # the >2^31-element and 256 MiB cases
NO_GPU_TESTS='*WithoutADevice*'  # they skip where a GPU is present
MEMCHECK_QUICK=("device_to_device=DeviceToDevice.*:-$BIG_TESTS:$NO_GPU_TESTS"
                "device_to_host=DeviceToHost.*:-$BIG_TESTS:$NO_GPU_TESTS"
                "host_to_device=HostToDevice.*:-$BIG_TESTS:$NO_GPU_TESTS")
MEMCHECK_FULL=("${MEMCHECK_QUICK[@]}" "big=$BIG_TESTS")
RACECHECK_QUICK=("edge_cases=DeviceToDevice.EdgeCases" "two_streams=DeviceToDevice.TwoHostThreadsOnTwoStreams")
RACECHECK_FULL=("${RACECHECK_QUICK[@]}" "d2h_every_strategy=DeviceToHost.EveryStrategyViewClassSizeAndDestination"
                "element_sizes=DeviceToDevice.*InEveryElementSize")

# ---- benchmark selection (Google Benchmark regexes over names like d2h/auto/f32/64MiB/row_reverse)
D2D_FILTER_QUICK='^(d2d/(gather|memcpy)/(f32|u8)/(64|1024)MiB/|d2d/into_nhwc/|batch/)'
D2H_FILTER_QUICK='^d2h/(limit|auto|two_pass_pageable)/(f32|u8)/(64|1024)MiB/|^d2h/(limit|auto)/(f32|u8)/4KiB/'
H2D_FILTER_QUICK='^h2d/(limit|auto|pageable_auto|two_step_pageable)/f32/64MiB/|^h2d/(limit|auto)/u8/64MiB/'
H2D_FILTER_FULL='^h2d/[a-z_]+/[a-z0-9]+/(4KiB|1MiB|64MiB)/|^h2d/(limit|auto|staged_cpu|staged_device|pageable_auto|two_step_pageable)/f32/1024MiB/'

usage() {
  sed -n '2,/^# ---- Estimate/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//'
  echo "Steps and budgets in seconds (each step's timeout; --quick's estimate in brackets):"
  printf '  %-11s %6s %6s %10s\n' step quick full estimate
  local s
  for s in "${STEPS[@]}"; do
    printf '  %-11s %6s %6s %10s\n' "$s" "${BUDGET_QUICK[$s]}" "${BUDGET_FULL[$s]}" "[${ESTIMATE_QUICK[$s]}]"
  done
  echo "The estimate's arithmetic is in the header of tools/gpu_check.sh."
  echo "Environment: GPU_CHECK_BUILD_DIR (build-gpu), GPU_CHECK_CUDA_ARCH (native), GPU_CHECK_DEPS_DIR"
  echo "(/tmp/stridecopy-deps), GPU_CHECK_BUDGET_SCALE (100: every budget in percent, for a machine slower"
  echo "than the one estimated), STRIDECOPY_COMMIT (the commit id to record where git is not available)."
}

# A digest of the sources (not of results or builds): the same here and on a copy without .git.
fingerprint() {
  find CMakeLists.txt cmake host include kernels tests tools bench -type f \
    ! -path 'bench/results/*' ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 2>/dev/null |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}

now() { date +%s; }

# ================================================================================================
# The steps, each run as `gpu_check.sh --run-step NAME` under timeout, with the variables exported by
# the main part below. Output goes to $DIR/NAME.log.

step_build() {
  local extra=() gen=() args
  if ls .deps/*.deb >/dev/null 2>&1; then
    args=$(tools/gpu_deps.sh cmake-args "$DEPS_DIR") || { echo "unpacking .deps failed"; return 1; }
    mapfile -t extra <<<"$args"
    echo "packages from .deps (unpacked under $DEPS_DIR): ${extra[*]}"
  else
    echo "no .deps/*.deb: GoogleTest, Google Benchmark and CLI11 must be installed"
  fi
  if [ ! -f "$BUILD/CMakeCache.txt" ] && command -v ninja >/dev/null; then gen=(-G Ninja); fi
  cmake --version | sed -n 1p
  # The Python module too where nanobind is installed, for the python step.
  if python3 -c 'import nanobind' 2>/dev/null; then extra+=(-DSTRIDECOPY_PYTHON=ON); fi
  cmake -S . -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCH" \
    -DSTRIDECOPY_WERROR=ON "${extra[@]}" || return 1
  grep -E '^(GTest|benchmark|CLI11)_DIR:' "$BUILD/CMakeCache.txt"
  cmake --build "$BUILD" -j "$(nproc)" || return 1
  echo "built with $(cmake --version | sed -n 1p), $(grep -E '^CMAKE_GENERATOR:' "$BUILD/CMakeCache.txt"), for CUDA $CUDA_ARCH"
  grep -E '^(GTest|benchmark|CLI11)_DIR:' "$BUILD/CMakeCache.txt"
  local f missing=0
  for f in tests/stridecopy_tests tools/cli/stridecopy bench/device_bench bench/d2h_bench bench/h2d_bench; do
    [ -x "$BUILD/$f" ] || { echo "missing after the build: $BUILD/$f"; missing=1; }
  done
  return "$missing"
}

step_tests() {
  local rc skipped
  ctest --test-dir "$BUILD" --output-on-failure -j 8 --timeout "$((STEP_LIMIT > 40 ? STEP_LIMIT - 20 : 20))"
  rc=$?
  # Where a GPU is present, only the WithoutADevice tests (and, as root, UnwritableDirectory) may skip.
  skipped=$(grep -E '^[[:space:]]+[0-9]+ - .*\(Skipped\)' "$DIR/tests.log" | grep -Ev 'WithoutADevice|UnwritableDirectory')
  if [ -n "$skipped" ]; then
    echo "GPU tests skipped, so the GPU was not usable to them:"
    echo "$skipped"
    rc=1
  fi
  return "$rc"
}

# One sanitizer run over a gtest filter; prints its verdict line. $1 tool, $2 label, $3 filter.
sanitize() {
  local tool=$1 label=$2 filter=$3 log rc ran skipped
  log="$DIR/$tool-$label.log"
  compute-sanitizer --tool "$tool" --error-exitcode 9 --print-limit 100 \
    "$BUILD/tests/stridecopy_tests" --gtest_filter="$filter" >"$log" 2>&1
  rc=$?
  ran=$(grep -m1 -Eo '^\[==========\] Running [0-9]+ tests?' "$log" | grep -Eo '[0-9]+')
  skipped=$(grep -Eo '^\[  SKIPPED \] [0-9]+ tests?,' "$log" | tail -1 | grep -Eo '[0-9]+')
  echo "$tool $label ($filter): exit $rc, ${ran:-0} tests selected, ${skipped:-0} skipped; $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$log" | tail -1)"
  grep -m5 -E '^\[  (FAILED|PASSED|SKIPPED) ' "$log"
  if [ "${ran:-0}" -eq 0 ]; then
    echo "  the filter matched no test: update it in tools/gpu_check.sh"
    tail -5 "$log"
    return 1
  fi
  if [ "${skipped:-0}" -gt 0 ]; then
    echo "  tests skipped under compute-sanitizer: the GPU was not usable to them"
    return 1
  fi
  [ "$rc" -eq 0 ] || { tail -20 "$log"; return 1; }
}

step_memcheck() {
  local groups=("${MEMCHECK_QUICK[@]}") g pids=() rc=0 p
  [ "$MODE" = full ] && groups=("${MEMCHECK_FULL[@]}")
  # The groups run at the same time: their time is mostly host-side checking, on separate cores.
  # Each prints its verdict when it ends.
  for g in "${groups[@]}"; do
    (
      out=$(sanitize memcheck "${g%%=*}" "${g#*=}" 2>&1)
      r=$?
      echo "$out"
      exit $r
    ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return "$rc"
}

step_racecheck() {
  local groups=("${RACECHECK_QUICK[@]}") g rc=0
  [ "$MODE" = full ] && groups=("${RACECHECK_FULL[@]}")
  for g in "${groups[@]}"; do  # one at a time, cheapest first: a timeout keeps the earlier verdicts
    sanitize racecheck "${g%%=*}" "${g#*=}" || rc=1
  done
  return "$rc"
}

step_benchmarks() {
  local b filter n rc=0 t0 reps
  for b in device_bench h2d_bench d2h_bench; do  # the short ones first
    filter='.'
    reps=$REPS
    if [ "$MODE" = full ] && [ "$b" = h2d_bench ]; then
      filter=$H2D_FILTER_FULL
      reps=3
    fi
    if [ "$MODE" = quick ]; then
      case $b in
        device_bench) filter=$D2D_FILTER_QUICK ;;
        h2d_bench) filter=$H2D_FILTER_QUICK ;;
        *) filter=$D2H_FILTER_QUICK ;;
      esac
    fi
    n=$("$BUILD/bench/$b" --iterations="$ITERATIONS" --benchmark_list_tests --benchmark_filter="$filter" | grep -c .)
    echo "$b: $n cases (filter $filter), $reps repetitions, --iterations=$ITERATIONS"
    t0=$(now)
    "$BUILD/bench/$b" --iterations="$ITERATIONS" --benchmark_filter="$filter" --benchmark_repetitions="$reps" \
      --benchmark_report_aggregates_only=true --benchmark_out="$DIR/$b.json" --benchmark_out_format=json \
      >"$DIR/$b.log" 2>&1 || { rc=1; echo "$b failed:"; tail -5 "$DIR/$b.log"; }
    [ -s "$DIR/$b.json" ] || { rc=1; echo "$b wrote no $b.json:"; tail -3 "$DIR/$b.log"; }
    echo "$b: $(($(now) - t0)) s"
  done
  return "$rc"
}

step_oracle() {
  local args=(--cases 150 --no-fixed)
  [ "$MODE" = full ] && args=(--cases 600)
  python3 tests/cli_numpy_oracle.py --cli "$BUILD/tools/cli/stridecopy" --backend cuda "${args[@]}" --jobs 8 \
    --workdir /tmp/stridecopy-oracle-cuda
}

step_python() {
  if ! ls "$BUILD"/python/stridecopy/_stridecopy*.so >/dev/null 2>&1; then
    echo "no Python module in $BUILD (nanobind was not importable when the build step configured)"
    return 1
  fi
  local root
  root=$(pwd)
  # From the tests' folder, so that `import stridecopy` is the module of this build.
  (cd tests/python && PYTHONPATH="$root/$BUILD/python" python3 -m pytest -q -p no:cacheprovider --rootdir=. . -rs)
}

step_peers() {
  if ! python3 -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("torch") or u.find_spec("cupy")))'; then
    echo "neither torch nor cupy imports: nothing to compare"
    return 0
  fi
  local args=(--sizes '4KiB,64MiB,1GiB' --dtypes 'f32,u8' --repeat 3 --numpy-sizes '4KiB,64MiB' --ours-methods 'limit|auto')
  [ "$MODE" = full ] && args=(--sizes '4KiB,1MiB,64MiB,1GiB' --dtypes 'f32,f16,u8' --repeat 5)
  if [ -s "$DIR/d2h_bench.json" ]; then
    args+=(--ours-json "$DIR/d2h_bench.json")
  else
    echo "no d2h_bench.json from the benchmark step: peers.py runs its own filtered d2h_bench"
  fi
  python3 bench/peers.py --build "$BUILD" "${args[@]}" --iterations "$ITERATIONS" --out "$DIR/peers.json"
}

step_summary() {
  # The ratio tables first and the step table last: the end of the output is what is read first.
  echo "gpu_check $MODE: $CARD, $STAMP, commit $COMMIT, sources $FINGERPRINT"
  local json=() f
  for f in device_bench d2h_bench h2d_bench; do [ -s "$DIR/$f.json" ] && json+=("$DIR/$f.json"); done
  [ -s "$DIR/peers.json" ] && json+=(--peers "$DIR/peers.json")
  if [ ${#json[@]} -gt 0 ]; then
    python3 bench/report_device.py --targets "${json[@]}"
  else
    echo "no benchmark results"
  fi
  echo
  printf '%-11s %-26s %8s %7s\n' step result elapsed budget
  awk -F'\t' '{printf "%-11s %-26s %7ss %6ss\n", $1, $2, $3, $4}' "$DIR/steps.tsv"
}

if [ "${1:-}" = --run-step ]; then
  case "${2:-}" in
    build) step_build ;;
    tests) step_tests ;;
    memcheck) step_memcheck ;;
    racecheck) step_racecheck ;;
    benchmarks) step_benchmarks ;;
    oracle) step_oracle ;;
    python) step_python ;;
    peers) step_peers ;;
    summary) step_summary ;;
    *) echo "gpu_check: no step '${2:-}'" >&2; exit 2 ;;
  esac
  exit $?
fi

# ================================================================================================
# The main part: options, the results folder, then the steps one after another.

MODE=quick
DEADLINE=0
OUT_DIR=""
SELECTED=("${STEPS[@]}")
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --steps)
      [ $# -ge 2 ] || { echo "gpu_check: --steps needs a list" >&2; exit 2; }
      IFS=, read -r -a SELECTED <<<"$2"
      shift ;;
    --steps=*) IFS=, read -r -a SELECTED <<<"${1#--steps=}" ;;
    --deadline)
      [ $# -ge 2 ] || { echo "gpu_check: --deadline needs seconds" >&2; exit 2; }
      DEADLINE=$2
      shift ;;
    --deadline=*) DEADLINE=${1#--deadline=} ;;
    --out)
      [ $# -ge 2 ] || { echo "gpu_check: --out needs a folder" >&2; exit 2; }
      OUT_DIR=$2
      shift ;;
    --out=*) OUT_DIR=${1#--out=} ;;
    --fingerprint) fingerprint; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$DEADLINE" =~ ^[0-9]+$ ]] || { echo "gpu_check: --deadline takes whole seconds" >&2; exit 2; }
BUDGET_SCALE=${GPU_CHECK_BUDGET_SCALE:-100}
[[ "$BUDGET_SCALE" =~ ^[1-9][0-9]*$ ]] || { echo "gpu_check: GPU_CHECK_BUDGET_SCALE is a percentage" >&2; exit 2; }
for s in "${SELECTED[@]}"; do
  [[ " ${STEPS[*]} " == *" $s "* ]] || { echo "gpu_check: unknown step '$s' (steps: ${STEPS[*]})" >&2; exit 2; }
done

gpu_needed=0
for s in "${SELECTED[@]}"; do [ "$s" = build ] || [ "$s" = summary ] || gpu_needed=1; done
CARD=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | sed -n 1p | tr -c 'A-Za-z0-9.\n-' '_')
if [ -z "$CARD" ]; then
  [ $gpu_needed -eq 0 ] || { echo "gpu_check: no NVIDIA GPU found (nvidia-smi); only --steps build,summary can run"; exit 1; }
  CARD=no-gpu
fi
STAMP=$(date -u +%Y-%m-%d)
DIR=${OUT_DIR:-bench/results/$CARD-$STAMP}
BUILD=${GPU_CHECK_BUILD_DIR:-build-gpu}
CUDA_ARCH=${GPU_CHECK_CUDA_ARCH:-native}
DEPS_DIR=${GPU_CHECK_DEPS_DIR:-/tmp/stridecopy-deps}
COMMIT=${STRIDECOPY_COMMIT:-}
[ -n "$COMMIT" ] || COMMIT=$(git rev-parse --short HEAD 2>/dev/null) || COMMIT=""
[ -n "$COMMIT" ] || COMMIT="unknown (no git here: set STRIDECOPY_COMMIT)"
FINGERPRINT=$(fingerprint)
REPS=3
ITERATIONS=10
[ "$MODE" = full ] && REPS=5
mkdir -p "$DIR" || exit 1
DIR=$(cd "$DIR" && pwd)
export MODE CARD STAMP DIR BUILD CUDA_ARCH DEPS_DIR COMMIT FINGERPRINT REPS ITERATIONS PYTHONUNBUFFERED=1
LOG=$DIR/gpu_check.log
: >"$DIR/steps.tsv"

say() { echo "$*" | tee -a "$LOG"; }

{
  echo "gpu_check $MODE: $CARD, $STAMP, commit $COMMIT, sources $FINGERPRINT"
  echo "steps: ${SELECTED[*]}; deadline ${DEADLINE} s (0: none); budgets at ${BUDGET_SCALE}%; results in $DIR"
  nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current \
    --format=csv 2>/dev/null
  nvcc --version 2>/dev/null | tail -2
  echo "$(nproc) cores; $(cmake --version 2>/dev/null | sed -n 1p)"
} | tee -a "$LOG"

start=$(now)
status=0
built=1
for s in "${STEPS[@]}"; do
  [[ " ${SELECTED[*]} " == *" $s "* ]] || continue
  if [ "$MODE" = full ]; then budget=${BUDGET_FULL[$s]}; else budget=${BUDGET_QUICK[$s]}; fi
  budget=$((budget * BUDGET_SCALE / 100))
  limit=$budget
  if [ "$DEADLINE" -gt 0 ]; then
    left=$((DEADLINE - ($(now) - start)))
    reserve=0
    [ "$s" = summary ] || reserve=${BUDGET_QUICK[summary]}
    [ $((left - reserve)) -lt "$limit" ] && limit=$((left - reserve))
  fi
  if [ $built -eq 0 ] && [ "$s" != summary ]; then
    result="SKIPPED (no build)"
    elapsed=0
    say ""
    say "=== $s: skipped, the build failed"
  elif [ "$limit" -lt 10 ]; then
    result="SKIPPED (deadline)"
    elapsed=0
    status=1
    say ""
    say "=== $s: skipped, ${left:-0} s left before the deadline"
  else
    say ""
    say "=== $s: budget ${limit} s (step budget ${budget} s), started $(date -u +%T)"
    t0=$(now)
    touch "$DIR/.step-start"
    STEP_LIMIT=$limit timeout -k 10 "$limit" "$self" --run-step "$s" >"$DIR/$s.log" 2>&1
    rc=$?
    elapsed=$(($(now) - t0))
    case $rc in
      0) result=PASSED ;;
      124 | 137) result="TIMED OUT after ${limit} s" ;;
      *) result="FAILED (exit $rc)" ;;
    esac
    [ $rc -eq 0 ] || status=1
    [ "$s" = build ] && [ $rc -ne 0 ] && built=0
    {
      echo "--- $s: last lines of $s.log"
      tail -n 25 "$DIR/$s.log"
      if [ $rc -ne 0 ]; then  # the other logs the step wrote (sanitizer runs, benchmark programs)
        find "$DIR" -maxdepth 1 -type f -name '*.log' -newer "$DIR/.step-start" ! -name "$s.log" ! -name gpu_check.log |
          sort | while read -r f; do
            echo "--- $s: last lines of $(basename "$f")"
            tail -n 5 "$f"
          done
      fi
    } >>"$LOG"
    tail -n 8 "$DIR/$s.log"
    say "=== $s: $result, ${elapsed} s of ${limit} s"
    [ "$s" = summary ] && cp "$DIR/summary.log" "$DIR/summary.txt"
  fi
  printf '%s\t%s\t%s\t%s\n' "$s" "$result" "$elapsed" "$limit" >>"$DIR/steps.tsv"
done

say ""
say "gpu_check: $([ $status -eq 0 ] && echo PASSED || echo FAILED) in $(($(now) - start)) s, results in $DIR"
[ -f "$DIR/summary.txt" ] && cat "$DIR/summary.txt"
exit $status
