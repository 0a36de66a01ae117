#!/usr/bin/env bash
# tools/gpu_check.sh — the one GPU check, for a machine with an NVIDIA GPU: build for that card,
# run every test (GPU tests included), compute-sanitizer memcheck and racecheck over the GPU tests,
# the device benchmarks with their same-run limits, the peer comparison if torch/cupy are present,
# and a short table last. Raw output goes to bench/results/<card>-<date>/ (and to $OUT when set, for
# the device tool). Budget: under 8 minutes on an H100.
#
#   tools/gpu_check.sh [--quick]     # --quick: fewer benchmark repetitions
set -uo pipefail
cd "$(dirname "$0")/.."
QUICK=0; [ "${1:-}" = "--quick" ] && QUICK=1
card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr ' /' '__')
[ -n "$card" ] || { echo "gpu_check: no NVIDIA GPU found (nvidia-smi)"; exit 1; }
stamp=$(date -u +%Y-%m-%d)
dir=bench/results/${card}-${stamp}
mkdir -p "$dir"
log=$dir/gpu_check.log
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
status=0
step() { echo; echo "=== $* ($(date -u +%T))" | tee -a "$log"; }
{
  echo "gpu_check: $card, $stamp, commit $commit"
  nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current --format=csv
  nvcc --version | tail -2
} | tee "$log"

step "build for this card"
extra=()
if [ -d .deps ] && ls .deps/*.deb >/dev/null 2>&1; then  # carried GoogleTest / Benchmark / CLI11
  deps=$(tools/gpu_deps.sh unpack /tmp/stridecopy-deps)
  extra+=("-DCMAKE_PREFIX_PATH=$deps" "-DCMAKE_INCLUDE_PATH=$deps/include")
  export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "using carried packages in $deps" | tee -a "$log"
fi
cmake -S . -B build-gpu -DCMAKE_CUDA_ARCHITECTURES=native -DSTRIDECOPY_WERROR=ON "${extra[@]}" >>"$log" 2>&1 &&
  cmake --build build-gpu -j "$(nproc)" >>"$log" 2>&1 || { echo "BUILD FAILED (see $log)"; tail -30 "$log"; exit 1; }

step "all tests (GPU tests run here)"
ctest --test-dir build-gpu --output-on-failure -j 4 --timeout 600 2>&1 | tee "$dir/ctest.log" | tail -15
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
grep -c "Skipped" "$dir/ctest.log" | sed 's/^/skipped tests: /' | tee -a "$log"

step "compute-sanitizer memcheck (GPU tests, the >2^31-element case left out for time)"
compute-sanitizer --tool memcheck --error-exitcode 9 build-gpu/tests/stridecopy_tests \
  --gtest_filter='Cuda*:-*MoreThanTwoToThe31*' >"$dir/memcheck.log" 2>&1
rc=$?; tail -3 "$dir/memcheck.log"; [ $rc -eq 0 ] || { status=1; echo "memcheck: exit $rc"; }

step "compute-sanitizer racecheck (shared-memory kernels: the transposes)"
compute-sanitizer --tool racecheck --error-exitcode 9 build-gpu/tests/stridecopy_tests \
  --gtest_filter='CudaExecutor.SeedFamily*:CudaExecutor.EdgeCases' >"$dir/racecheck.log" 2>&1
rc=$?; tail -3 "$dir/racecheck.log"; [ $rc -eq 0 ] || { status=1; echo "racecheck: exit $rc"; }

step "device benchmarks"
reps=5; [ $QUICK -eq 1 ] && reps=3
for b in device_bench d2h_bench; do
  [ -x build-gpu/bench/$b ] || continue
  build-gpu/bench/$b --benchmark_repetitions=$reps --benchmark_report_aggregates_only=true \
    --benchmark_min_time=0.05 --benchmark_out="$dir/$b.json" --benchmark_out_format=json >"$dir/$b.log" 2>&1 ||
    { status=1; echo "$b failed"; tail -5 "$dir/$b.log"; }
done

if [ -f bench/peers.py ] && python3 -c 'import torch, cupy' 2>/dev/null; then
  step "peers (torch, cupy)"
  python3 bench/peers.py --out "$dir/peers.json" >"$dir/peers.log" 2>&1 || { status=1; tail -5 "$dir/peers.log"; }
fi

step "summary"
python3 bench/report_device.py "$dir"/*_bench.json 2>&1 | tee "$dir/summary.txt"
echo "gpu_check: $( [ $status -eq 0 ] && echo PASSED || echo FAILED ), results in $dir" | tee -a "$log"
if [ -n "${OUT:-}" ]; then  # the device tool brings back at most 8 files: one archive and the summary
  tar czf "$OUT/gpu_check.tgz" -C bench/results "$(basename "$dir")"
  cp "$dir/summary.txt" "$dir/gpu_check.log" "$OUT"/ 2>/dev/null
fi
exit $status
