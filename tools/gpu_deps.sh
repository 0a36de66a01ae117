#!/usr/bin/env bash
# tools/gpu_deps.sh — GoogleTest, Google Benchmark and CLI11 for a GPU machine that reaches no package
# registry and has none of them installed.
#
#   tools/gpu_deps.sh fetch            on a Debian/Ubuntu amd64 machine with apt: downloads their
#                                      Debian packages into .deps/ (git-ignored, about 1 MB); copy
#                                      .deps/ to the GPU machine beside the sources.
#   tools/gpu_deps.sh cmake-args DIR   there (tools/gpu_check.sh does this): unpacks .deps/*.deb under
#                                      DIR, never into /, and prints one CMake argument a line,
#                                        -DGTest_DIR=DIR/usr/lib/<arch>/cmake/GTest
#                                        -Dbenchmark_DIR=DIR/usr/lib/<arch>/cmake/benchmark
#                                        -DCLI11_DIR=DIR/usr/share/cmake/CLI11
#                                      so that find_package takes exactly these three packages and
#                                      nothing else is looked up in DIR: no CMAKE_PREFIX_PATH, no
#                                      include path, no LD_LIBRARY_PATH (the programs find
#                                      libbenchmark.so through the build tree's RUNPATH).
#   tools/gpu_deps.sh unpack DIR       unpacks only, and prints DIR/usr.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libgtest-dev libgmock-dev googletest libbenchmark-dev libbenchmark1debian libcli11-dev)

unpack() {
  local prefix=$1 deb
  ls .deps/*.deb >/dev/null 2>&1 || { echo "gpu_deps: no .deps/*.deb (run tools/gpu_deps.sh fetch first)" >&2; exit 1; }
  mkdir -p "$prefix"
  for deb in .deps/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
}

# The one directory under $1 that holds $2 (a package's CMake config file); fails unless exactly one.
config_dir() {
  local found
  found=$(find "$1" -name "$2" -type f -printf '%h\n')
  if [ -z "$found" ] || [ "$(printf '%s\n' "$found" | wc -l)" -ne 1 ]; then
    echo "gpu_deps: expected one $2 under $1, found: ${found:-none}" >&2
    exit 1
  fi
  printf '%s\n' "$found"
}

case "${1:-}" in
  fetch)
    [ "$(dpkg --print-architecture)" = amd64 ] || { echo "gpu_deps: fetch on an amd64 machine (the GPU machines are x86-64)" >&2; exit 1; }
    mkdir -p .deps
    rm -f .deps/*.deb
    (cd .deps && apt-get download "${packages[@]}")
    for deb in .deps/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd' '; done ;;
  cmake-args)
    prefix=${2:?usage: gpu_deps.sh cmake-args DIR}
    unpack "$prefix"
    prefix=$(cd "$prefix" && pwd)  # absolute: the arguments are used from the build folder
    echo "-DGTest_DIR=$(config_dir "$prefix/usr" GTestConfig.cmake)"
    echo "-Dbenchmark_DIR=$(config_dir "$prefix/usr" benchmarkConfig.cmake)"
    echo "-DCLI11_DIR=$(config_dir "$prefix/usr" CLI11Config.cmake)" ;;
  unpack)
    prefix=${2:?usage: gpu_deps.sh unpack DIR}
    unpack "$prefix"
    echo "$(cd "$prefix" && pwd)/usr" ;;
  *) echo "usage: tools/gpu_deps.sh fetch | cmake-args DIR | unpack DIR" >&2; exit 2 ;;
esac
