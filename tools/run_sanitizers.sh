#!/usr/bin/env bash
# tools/run_sanitizers.sh — the library, its tests and the CLI built with AddressSanitizer and
# UndefinedBehaviorSanitizer (cmake/sanitizers.cmake; the sanitize preset, in build-sanitize/), and
# the whole ctest suite run under them: the first report fails the run (halt_on_error=1, no
# recovery), leaks included. The installed-package tests build their programs with the same flags.
# Left out: the benchmarks (not built) and kernels_static_check, which runs nvcc on the kernels by
# itself and has no host code to instrument. (CI runs this after tools/run_tests.sh.)
#
# The sanitizers instrument host code only, so without a GPU the kernels are compiled once, as PTX;
# the script's arguments are added to the configure and override that
# (tools/run_sanitizers.sh -DCMAKE_CUDA_ARCHITECTURES=native on a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
BUILD_DIR=build-sanitize  # the sanitize preset's
JOBS=${JOBS:-$(nproc)}

# protect_shadow_gap=0: with a CUDA driver loaded, the driver maps the address range ASan keeps as
# its shadow gap and the first CUDA call fails (google/sanitizers#629); harmless without one.
# allocator_may_return_null=1: an allocation too large to be had returns null, as without ASan, so
# that the tests of the library's out_of_memory errors run instead of ASan stopping the program.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:protect_shadow_gap=0:allocator_may_return_null=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

cmake --preset sanitize "$@"
cmake --build --preset sanitize -j "$JOBS"

# The sanitizers are really in: the test program carries their runtimes, and the consumer's configure
# gets their flags.
# (ldd's output is read whole first: with pipefail, `ldd | grep -q` fails whenever grep stops
# reading before ldd has written everything and ldd dies of SIGPIPE.)
linked=$(ldd "$BUILD_DIR/tests/stridecopy_tests")
grep -q 'libasan\.so' <<<"$linked" ||
  { echo "run_sanitizers.sh: stridecopy_tests is not linked with AddressSanitizer" >&2; exit 1; }
grep -q 'libubsan\.so' <<<"$linked" ||
  { echo "run_sanitizers.sh: stridecopy_tests is not linked with UndefinedBehaviorSanitizer" >&2; exit 1; }
grep -q -- '-DCMAKE_CXX_FLAGS=-fsanitize=address' "$BUILD_DIR/tests/CTestTestfile.cmake" ||
  { echo "run_sanitizers.sh: the installed-package consumer is not configured with the sanitizer flags" >&2; exit 1; }

ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 1800 -E '^kernels_static_check$'
