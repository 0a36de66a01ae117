#!/usr/bin/env python3
"""tools/check_layers.py — the public headers, the front door and the CPU layers compile with no CUDA header.

Each public header (include/stridecopy/*.hpp, alone in a file of its own), each source file of the
CPU layers (host/core, host/cpu, host/io) and the rest of what a build without CUDA compiles
(FRONT_DOOR: the front door, the arrays, host/no_cuda.cpp, ...) is compiled
(syntax only) by the C++ compiler with every include directory that holds CUDA's headers taken
away, as on a machine without the CUDA toolkit; a file
that reaches a CUDA header, directly or through any header it includes, fails with the header's
name. A probe that includes <cuda_runtime_api.h> must fail the same way, or the check could not
fail and says so.

A file listed in EXCEPTIONS (none today) would be allowed to reach CUDA, with its reason; it is
compiled like the rest and must still fail — one that no longer does is reported, so that the list
only shrinks.

    tools/check_layers.py --cxx g++ --source-dir . --binary-dir build
"""
import argparse
import concurrent.futures
import os
import pathlib
import subprocess
import sys
import tempfile

LAYERS = ("host/core", "host/cpu", "host/io")
# Beside the layers, the rest of what a build without CUDA compiles: the front door and the arrays
# (they reach the device only through declarations without CUDA), the plain C++ planning of host/cuda
# (transfer schedules), and the device side of such a build.
FRONT_DOOR = ("host/copy.cpp", "host/arrays.cpp", "host/no_cuda.cpp", "host/cuda/h2d_schedule.cpp")
# Files that may still reach CUDA, with the reason; none now. Kept so that an exception has a place
# to be named (and must be taken out once it no longer reaches CUDA).
EXCEPTIONS = {}
CUDA_MARKERS = ("cuda_runtime_api.h", os.path.join("cuda", "stream_ref"))


def default_include_dirs(cxx):
    """The compiler's own include search list, in order."""
    out = subprocess.run([cxx, "-x", "c++", "-E", "-v", "-"], input="", capture_output=True, text=True).stderr
    dirs, inside = [], False
    for line in out.splitlines():
        if line.startswith("#include <...> search starts here:"):
            inside = True
        elif line.startswith("End of search list."):
            break
        elif inside:
            dirs.append(line.strip().split(" (framework directory)")[0])
    if not dirs:
        sys.exit(f"check_layers.py: cannot read the include search list of {cxx}")
    return dirs


def holds_cuda(d):
    return any(os.path.exists(os.path.join(d, m)) for m in CUDA_MARKERS)


def compile_without_cuda(cxx, flags, path):
    r = subprocess.run([cxx, *flags, "-fsyntax-only", str(path)], capture_output=True, text=True)
    first = next((line for line in r.stderr.splitlines() if "error" in line), r.stderr.strip()[:300])
    return r.returncode == 0, first


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cxx", required=True)
    ap.add_argument("--source-dir", required=True, type=pathlib.Path)
    ap.add_argument("--binary-dir", required=True, type=pathlib.Path, help="the build (for the generated headers)")
    args = ap.parse_args()
    src = args.source_dir.resolve()

    system = default_include_dirs(args.cxx)
    kept = [d for d in system if not holds_cuda(d)]
    hidden = [d for d in system if holds_cuda(d)]
    flags = ["-std=c++20", "-nostdinc", "-nostdinc++"]
    flags += [f for d in kept for f in ("-isystem", d)]
    flags += ["-I", str(src / "include"), "-I", str(args.binary_dir.resolve() / "include")]
    flags += ["-I", str(src / "host"), "-I", str(src / "kernels")]

    with tempfile.TemporaryDirectory() as tmp:
        probe = pathlib.Path(tmp) / "probe.cpp"
        probe.write_text("#include <cuda_runtime_api.h>\nint main() { return 0; }\n")
        ok, _ = compile_without_cuda(args.cxx, flags, probe)
        if ok:
            sys.exit("check_layers.py: <cuda_runtime_api.h> is still reachable with the CUDA directories taken away "
                     f"({', '.join(hidden) or 'none found'}); this check could not fail")

        # Each public header alone, as a user's file that includes only it.
        headers = sorted((src / "include" / "stridecopy").glob("*.hpp"))
        if not headers:
            sys.exit(f"check_layers.py: no public headers under {src / 'include' / 'stridecopy'}")
        header_files = {}
        for h in headers:
            user = pathlib.Path(tmp) / f"includes_{h.stem}.cpp"
            user.write_text(f'#include "stridecopy/{h.name}"\n')
            header_files[user] = h

        files = sorted(p for layer in LAYERS for p in (src / layer).glob("*.cpp")) + [src / f for f in FRONT_DOOR]
        if not files:
            sys.exit(f"check_layers.py: no sources under {', '.join(LAYERS)} of {src}")
        files = list(header_files) + files
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(pool.map(lambda p: compile_without_cuda(args.cxx, flags, p), files))

    failures = []
    for path, (ok, first) in zip(files, results):
        rel = (header_files[path] if path in header_files else path).relative_to(src).as_posix()
        if rel in EXCEPTIONS:
            if ok:
                failures.append(f"{rel}: now compiles without CUDA; take it out of EXCEPTIONS")
            else:
                print(f"check_layers.py: {rel}: still reaches CUDA ({EXCEPTIONS[rel]})")
        elif not ok:
            failures.append(f"{rel}: {first}")
    for f in failures:
        print(f"check_layers.py: {f}", file=sys.stderr)
    print(f"check_layers.py: {len(header_files)} public headers and {len(files) - len(header_files)} sources of "
          f"{', '.join(LAYERS + FRONT_DOOR)} compiled without CUDA "
          f"(hidden: {', '.join(hidden) or 'none on the search list'}); {len(failures)} failing, "
          f"{len(EXCEPTIONS)} known exceptions")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
