#!/usr/bin/env python3
"""tests/check_kernels.py — static checks of the compiled kernels that need no GPU.

Compiles the launch translation units (every kernel instantiation the library ships, batched ones
included) for one architecture with ptxas's verbose report, keeping the PTX, then checks:
  * no kernel spills registers or uses local memory (stack frame, spill stores, spill loads all 0);
  * the contiguous (+1) and reverse (-1) row kernels use 128-bit global loads and stores in PTX.
Exit status 0 when all hold; the report lists every kernel with its registers.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile


def demangle_hint(name):
    m = re.search(r"(row_gather_opILi(\d+)E([il])Li(n?\d+)E|transpose_opILi(\d+)E([il]))", name)
    if not m:
        return name
    if m.group(2):
        step = m.group(4).replace("n", "-")
        return f"row_gather<unit {m.group(2)}, int{'32' if m.group(3) == 'i' else '64'}, step {step}>"
    return f"transpose<unit {m.group(5)}, int{'32' if m.group(6) == 'i' else '64'}>"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nvcc", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--arch", default="90")
    args = ap.parse_args()
    src = args.source_dir
    report, ptx = "", ""
    # The single-plan launches and the batched ones (a batch_op runs several plans in one launch).
    for unit in ("gather_launch.cu", "gather_batch.cu"):
        with tempfile.TemporaryDirectory() as keep:
            cmd = [args.nvcc, "-std=c++20", "-O3", f"-arch=sm_{args.arch}", "-Xptxas=-v", "--keep", f"--keep-dir={keep}",
                   "-I", os.path.join(src, "include"), "-I", os.path.join(src, "kernels"), "-I", os.path.join(src, "host"),
                   "-c", os.path.join(src, "host", "cuda", unit), "-o", os.path.join(keep, "out.o")]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"nvcc failed on {unit}:\n" + run.stdout + run.stderr)
                return 1
            report += run.stdout + run.stderr
            ptx_files = [f for f in os.listdir(keep) if f.endswith(".ptx")]
            ptx += "".join(open(os.path.join(keep, f)).read() for f in ptx_files)

    failures = []
    # ptxas -v: "Compiling entry function 'NAME' for 'sm_90'" ... "Function properties for NAME" /
    # "N bytes stack frame, N bytes spill stores, N bytes spill loads" / "Used N registers, ..."
    kernels = {}
    current = None
    for line in report.splitlines():
        m = re.search(r"Function properties for (\S+)", line)
        if m:
            current = m.group(1)
            kernels.setdefault(current, {})
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m and current:
            kernels[current]["stack"], kernels[current]["spill_st"], kernels[current]["spill_ld"] = map(int, m.groups())
            continue
        m = re.search(r"Used (\d+) registers", line)
        if m and current:
            kernels[current]["regs"] = int(m.group(1))
    run_ops = {k: v for k, v in kernels.items() if "run_op" in k}
    if len(run_ops) < 40:
        failures.append(f"expected 40 kernel instantiations (4 families x 5 units x 2 index widths), found {len(run_ops)}")
    for name, props in sorted(run_ops.items(), key=lambda kv: demangle_hint(kv[0])):
        line = f"{demangle_hint(name):45s} regs {props.get('regs', '?'):>3}  stack {props.get('stack', '?')}  " \
               f"spill {props.get('spill_st', '?')}/{props.get('spill_ld', '?')}"
        print(line)
        if props.get("stack", 1) or props.get("spill_st", 1) or props.get("spill_ld", 1):
            failures.append("local memory or spills: " + line)

    # PTX: split into entries and look for 128-bit accesses in the +1 / -1 row kernels.
    entries = re.split(r"\n(?=\.visible \.entry |\.entry |\.weak \.entry )", ptx)
    checked = 0
    for body in entries:
        m = re.match(r"(?:\.visible |\.weak )?\.entry (\S+?)\(", body)
        if not m or "row_gather_op" not in m.group(1):
            continue
        name = demangle_hint(m.group(1))
        if "step 0" in name:
            continue
        checked += 1
        # 128 bits: four 32-bit or two 64-bit lanes.
        has_ld = re.search(r"ld\.global(\.nc)?\.(v4\.[ub]32|v2\.[ub]64)", body) is not None
        has_st = re.search(r"st\.global\.(v4\.[ub]32|v2\.[ub]64)", body) is not None
        if not (has_ld and has_st):
            failures.append(f"{name}: 128-bit global load {'found' if has_ld else 'MISSING'}, "
                            f"store {'found' if has_st else 'MISSING'}")
    if checked < 20:
        failures.append(f"expected 20 contiguous/reverse row kernels in the PTX, found {checked}")
    print(f"{len(run_ops)} kernels checked for spills; {checked} row kernels checked for 128-bit loads and stores")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
