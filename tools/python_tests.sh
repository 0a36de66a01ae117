# tools/python_tests.sh — sourced by tools/run_tests.sh and tools/run_cpu_only.sh: how they install
# this tree's Python package and run its tests, written once.

# pip's arguments for a build of this tree with what is already installed (nanobind,
# scikit-build-core: no network, the build incremental in build-python/), and leave to install into
# an interpreter that its distribution marks as externally managed.
pip_local_args=(--no-build-isolation)
if python3 -c 'import sys, sysconfig, os; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
  pip_local_args+=(--break-system-packages)
fi

# run_python_tests [SITE]: pytest over tests/python/, from outside the source tree so that
# `import stridecopy` is the installed package (the one in SITE when given). Returns pytest's status,
# except 5 (every test file filtered out: nothing failed).
run_python_tests() {
  local status=0
  if [ $# -gt 0 ]; then
    (cd tests/python && PYTHONPATH="$1" python3 -m pytest -q -p no:cacheprovider --rootdir=. .) || status=$?
  else
    (cd tests/python && python3 -m pytest -q -p no:cacheprovider --rootdir=. .) || status=$?
  fi
  if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
    return "$status"
  fi
}
