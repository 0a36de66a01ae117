#!/usr/bin/env python3
# tests/readme_examples.py — every C++ block of README.md, compiled against the installed package and
# run: the README's examples must stay true.
"""Extract the ```cpp blocks of README.md, build each as a program of a fresh CMake project that uses
the installed stridecopy package (find_package(stridecopy CONFIG)), and run each in a scratch folder.

    python3 tests/readme_examples.py --readme README.md --build-dir build --workdir DIR [--cmake cmake]
                                     [--cmake-arg=-DCMAKE_CXX_FLAGS=... ...] [--cpu-only]

With --cpu-only (a package built without CUDA) the examples that include a CUDA header are left out,
each named; the others are built and run as always.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys


def run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        print("failed (%d): %s\n%s\n%s" % (r.returncode, " ".join(cmd), r.stdout[-4000:], r.stderr[-4000:]))
        sys.exit(1)
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--readme", required=True)
    ap.add_argument("--build-dir", required=True, help="the stridecopy build tree to install")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cmake", default="cmake")
    ap.add_argument("--cmake-arg", action="append", default=[],
                    help="an extra argument for the examples' configure (the flags of a sanitized build)")
    ap.add_argument("--cpu-only", action="store_true",
                    help="the package was built without CUDA: leave out the examples that include a CUDA header")
    args = ap.parse_args()
    blocks = re.findall(r"^```cpp\n(.*?)^```", open(args.readme, encoding="utf-8").read(), re.S | re.M)
    if not blocks:
        print("README has no C++ block")
        return 1
    shutil.rmtree(args.workdir, ignore_errors=True)
    prefix, project, build = (os.path.join(args.workdir, d) for d in ("prefix", "project", "build"))
    os.makedirs(project)
    run([args.cmake, "--install", args.build_dir, "--prefix", prefix])
    names = []
    for i, code in enumerate(blocks):
        if "int main(" not in code:
            print("README C++ block %d is not a whole program (no main): every example must compile and run" % (i + 1))
            return 1
        name = "readme_example_%d" % (i + 1)
        if args.cpu_only and re.search(r"#include\s*<cuda", code):
            print("%s: left out: it includes a CUDA header, and this package was built without CUDA" % name)
            continue
        with open(os.path.join(project, name + ".cpp"), "w", encoding="utf-8") as f:
            f.write(code)
        names.append(name)
    with open(os.path.join(project, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.25)\nproject(readme_examples LANGUAGES CXX)\n"
                "set(CMAKE_CXX_STANDARD 20)\nfind_package(stridecopy CONFIG REQUIRED)\n")
        for name in names:
            f.write("add_executable(%s %s.cpp)\ntarget_link_libraries(%s PRIVATE stridecopy::stridecopy)\n"
                    % (name, name, name))
    if not names:
        print("no README C++ example left to build")
        return 1
    run([args.cmake, "-S", project, "-B", build, "-DCMAKE_PREFIX_PATH=" + os.path.abspath(prefix),
         "-DCMAKE_BUILD_TYPE=Release"] + args.cmake_arg)
    run([args.cmake, "--build", build])
    for name in names:
        scratch = os.path.join(args.workdir, "run-" + name)
        os.makedirs(scratch)
        out = run([os.path.abspath(os.path.join(build, name))], cwd=scratch)
        print("%s: ok%s" % (name, (": " + out.strip().splitlines()[-1]) if out.strip() else ""))
    print("%d README C++ example(s) compiled against the installed package and ran" % len(names))
    shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
