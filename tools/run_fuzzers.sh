#!/usr/bin/env bash
# tools/run_fuzzers.sh [SECONDS] — builds the libFuzzer targets of fuzz/ (Clang, AddressSanitizer,
# UndefinedBehaviorSanitizer) with the fuzz preset, in build-fuzz/, and runs each for SECONDS (default
# 60; CI runs 60, longer runs find more) from the committed seeds in fuzz/corpus/, which are only read:
# new inputs go to build-fuzz/corpus/. A target that crashes, leaks, hangs or breaks a property fails:
# its whole report and each input it saved (base64) are printed. The last line is "fuzzers: N passed,
# M failed"; the exit status is 1 when one failed. Installs Clang, libFuzzer (libclang-rt-dev) and
# OpenMP for Clang (libomp-dev) with apt-get where they are missing.
#
# Environment: TARGETS (all three), JOBS (build parallelism, nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
BUILD_DIR=build-fuzz  # the fuzz preset's
TARGETS=${TARGETS:-fuzz_index fuzz_npy_header fuzz_plan}
JOBS=${JOBS:-$(nproc)}

# ---- Clang with libFuzzer and OpenMP
links() {  # links(flags...): whether clang++ builds a fuzz target with these flags
  local dir
  dir=$(mktemp -d)
  printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
    'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' >"$dir/t.cpp"
  clang++ "$@" "$dir/t.cpp" -o "$dir/t" >/dev/null 2>&1
  local rc=$?
  rm -rf "$dir"
  return $rc
}
need_apt=()
command -v clang++ >/dev/null 2>&1 || need_apt+=(clang libclang-rt-dev libomp-dev)
if [ ${#need_apt[@]} -eq 0 ]; then
  links -fsanitize=fuzzer,address,undefined || need_apt+=(libclang-rt-dev)
  links -fsanitize=fuzzer -fopenmp || need_apt+=(libomp-dev)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

mkdir -p "$BUILD_DIR"
if ! { cmake --preset fuzz && cmake --build --preset fuzz -j "$JOBS"; } >"$BUILD_DIR/build.log" 2>&1; then
  cat "$BUILD_DIR/build.log"
  echo "run_fuzzers.sh: the fuzz targets did not build"
  echo "fuzzers: 0 passed, $(wc -w <<<"$TARGETS") failed"
  exit 1
fi

# ---- run
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
passed=0
failed=0
for target in $TARGETS; do
  name=${target#fuzz_}
  work="$BUILD_DIR/corpus/$name" artifacts="$BUILD_DIR/artifacts/$name/" log="$BUILD_DIR/logs/$target.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  rm -f "$artifacts"*
  args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts")
  [ -f "fuzz/$name.dict" ] && args+=(-dict="fuzz/$name.dict")
  # The first directory receives new inputs; the committed seeds are only read.
  status=0
  "$BUILD_DIR/fuzz/$target" "${args[@]}" "$work" "fuzz/corpus/$name" >"$log" 2>&1 || status=$?
  crashes=$(find "$artifacts" -type f | sort)
  if [ "$status" -eq 0 ] && [ -z "$crashes" ]; then
    passed=$((passed + 1))
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "$target: passed, $runs inputs in ${seconds} s, $(find "$work" -type f | wc -l) inputs in $work"
  else
    failed=$((failed + 1))
    echo "================ $target: FAILED (exit status $status); its report:"
    cat "$log"
    for f in $crashes; do
      echo "---------------- $target: input $f ($(stat -c %s "$f") bytes), base64:"
      base64 -w 76 "$f"
    done
    echo "---------------- reproduce: $BUILD_DIR/fuzz/$target <input file>"
  fi
done
echo "fuzzers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
