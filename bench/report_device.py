#!/usr/bin/env python3
"""bench/report_device.py — turns device benchmark JSON (Google Benchmark) into the ratio tables.

Every stridecopy figure is divided by the limit measured in the same run on the same bytes:
  d2d/gather/T   vs d2d/memcpy/T   (contiguous cudaMemcpyAsync D2D),  and d2d/two_pass/T;
  d2h/<strategy>/T vs d2h/limit/T  (contiguous pinned cudaMemcpyAsync D2H), and d2h/two_pass_*/T;
  h2d/<strategy>/T vs h2d/limit/T  (contiguous pinned cudaMemcpyAsync H2D), and h2d/two_step_*/T.
  batch/one_call/T vs batch/per_frame/T (the same frames, one call or one call per frame).
Ratios are of achieved bandwidth (limit time / our time): 1.0 means as fast as the limit.

--targets adds the performance targets checked against those same-run figures:
  D2D gather >= 0.9 x the contiguous D2D copy (>= 0.8 for transposed views), at 64 MiB and up;
  D2H auto >= 0.95 x the contiguous pinned D2H at 64 MiB and up, >= 0.8 at 1 MiB;
  D2H auto at 4 KiB within 2 x the time of a 4 KiB cudaMemcpyAsync;
  D2H auto >= 2 x the two-pass way into pageable memory;
  H2D auto from pinned memory >= 0.9 x the contiguous pinned H2D at 64 MiB and up;
  H2D auto from pageable memory >= 2 x the two-step way from pageable memory.
--peers FILE adds bench/peers.py's figures (GB/s of output bytes) beside stridecopy's.

    python3 bench/report_device.py RESULT.json [RESULT2.json ...] [--targets] [--peers peers.json] [--markdown]
"""
import argparse
import json
import re
import sys
from collections import defaultdict

UNIT_MS = {"s": 1e3, "ms": 1.0, "us": 1e-3, "ns": 1e-6}


def case_name(run_name):
    """A benchmark's case without Google Benchmark's suffixes (/iterations:N, /repeats:N, /manual_time)."""
    return re.sub(r"/(iterations|repeats|min_time|threads):[^/]*|/manual_time|/real_time", "", run_name)


def size_bytes(text):
    m = re.fullmatch(r"(\d+)(KiB|MiB|GiB)", text)
    return int(m.group(1)) << {"KiB": 10, "MiB": 20, "GiB": 30}[m.group(2)] if m else 0


def load(paths):
    rows = {}
    for p in paths:
        with open(p) as f:
            data = json.load(f)
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            if b.get("error_occurred"):
                continue
            name = case_name(b.get("run_name", b["name"]))
            t = b["real_time"] * UNIT_MS[b["time_unit"]]
            rows[name] = {"ms": t, "bytes": b.get("bytes", 0), "label": b.get("label", "")}
    return rows


def grouped(rows):
    groups = defaultdict(dict)  # (direction, tag) -> method -> row
    for name, r in rows.items():
        parts = name.split("/")
        if len(parts) < 3:
            continue
        direction, method, tag = parts[0], parts[1], "/".join(parts[2:])
        groups[(direction, tag)][method] = r
    return groups


def ratio_tables(groups, markdown):
    sep = " | " if markdown else "  "
    for direction, limit_name in (("d2d", "memcpy"), ("d2h", "limit"), ("h2d", "limit")):
        keys = sorted(k for k in groups if k[0] == direction)
        if not keys:
            continue
        methods = sorted({m for k in keys for m in groups[k] if m != limit_name})
        strategies = [m for m in ("dma", "staged", "staged_cpu", "staged_device", "direct") if m in methods]
        header = ["view", "MB", f"{limit_name} GB/s"] + [f"{m} x" for m in methods] + (["winner"] if strategies else [])
        print(f"\n{direction}: achieved bandwidth as a ratio to the same-run {limit_name} of the same bytes")
        width = max(len(k[1]) for k in keys)
        if markdown:
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
        else:
            print(sep.join([f"{header[0]:<{width}s}"] + [f"{h:>14s}" for h in header[1:]]))
        for k in keys:
            g = groups[k]
            if limit_name not in g:
                continue
            lim = g[limit_name]
            cells = [k[1], f"{lim['bytes'] / 1e6:.2f}", f"{lim['bytes'] / lim['ms'] / 1e6:.1f}"]
            cells += [f"{lim['ms'] / g[m]['ms']:.2f}" if m in g else "-" for m in methods]
            if strategies:  # the measured winner, for refreshing d2h_policy's table
                timed = [(g[m]["ms"], m) for m in strategies if m in g]
                cells.append(min(timed)[1] if timed else "-")
            if markdown:
                print("| " + " | ".join(cells) + " |")
            else:
                print(sep.join([f"{cells[0]:<{width}s}"] + [f"{c:>14s}" for c in cells[1:]]))


def batch_table(groups):
    """batch/one_call/T beside batch/per_frame/T: the same frames copied in one call, or one call each."""
    tags = sorted({k[1] for k in groups if k[0] == "batch"})
    if not tags:
        return
    print("\nbatches: the same frames in one copy(pairs) call against one call per frame (time per frame)")
    for tag in tags:
        g = groups[("batch", tag)]
        if "one_call" in g and "per_frame" in g:
            frames = int(tag.split("x")[-1])
            one, each = g["one_call"]["ms"], g["per_frame"]["ms"]
            print(f"  {tag:16s} one call {one * 1e3 / frames:8.2f} us/frame   per frame {each * 1e3 / frames:8.2f} "
                  f"us/frame   {each / one:5.2f}x")


def check_targets(groups):
    """[(target text, [(case tag, value, met)])] for every target that has measured cases."""
    checks = defaultdict(list)
    for (direction, tag), g in sorted(groups.items()):
        parts = tag.split("/")
        nbytes = size_bytes(parts[1]) if len(parts) >= 3 else 0
        if direction == "d2d" and "gather" in g and "memcpy" in g and nbytes >= (64 << 20):
            transposed = "transposed" in g["gather"]["label"].split()
            need = 0.8 if transposed else 0.9
            value = g["memcpy"]["ms"] / g["gather"]["ms"]
            checks["D2D gather >= 0.90 x memcpy (0.80 transposed), >= 64 MiB"].append((tag, value, value >= need))
        if direction == "h2d" and "auto" in g:
            if "limit" in g and nbytes >= (64 << 20):
                value = g["limit"]["ms"] / g["auto"]["ms"]
                checks["H2D auto (pinned) >= 0.90 x limit, >= 64 MiB"].append((tag, value, value >= 0.9))
            if "two_step_pageable" in g and "pageable_auto" in g:
                value = g["two_step_pageable"]["ms"] / g["pageable_auto"]["ms"]
                checks["H2D auto (pageable) >= 2 x two-step from pageable"].append((tag, value, value >= 2.0))
        if direction != "d2h" or "auto" not in g:
            continue
        auto = g["auto"]["ms"]
        if "limit" in g:
            value = g["limit"]["ms"] / auto
            if nbytes >= (64 << 20):
                checks["D2H auto >= 0.95 x limit, >= 64 MiB"].append((tag, value, value >= 0.95))
            elif nbytes == (1 << 20):
                checks["D2H auto >= 0.80 x limit, 1 MiB"].append((tag, value, value >= 0.8))
            elif nbytes == (4 << 10):
                checks["D2H auto at 4 KiB within 2 x limit's time"].append((tag, value, auto <= 2 * g["limit"]["ms"]))
        if "two_pass_pageable" in g:
            value = g["two_pass_pageable"]["ms"] / auto
            checks["D2H auto >= 2 x two-pass into pageable"].append((tag, value, value >= 2.0))
    return checks


def print_targets(groups):
    checks = check_targets(groups)
    print("\ntargets, on same-run figures (value: bandwidth ratio, stridecopy over the reference)")
    if not checks:
        print("  no case measured for any target")
        return
    print(f"  {'target':56s} {'cases':>5s} {'met':>5s}  worst")
    all_met = 0
    for target, cases in checks.items():
        met = sum(1 for c in cases if c[2])
        worst = min(cases, key=lambda c: c[1])
        all_met += met == len(cases)
        print(f"  {target:56s} {len(cases):5d} {met:5d}  {worst[1]:.2f} {worst[0]}")
        for tag, value, ok in cases:
            if not ok:
                print(f"      not met: {tag} {value:.2f}")
    print(f"  targets met on every measured case: {all_met} of {len(checks)}")


def print_peers(path, rows):
    with open(path) as f:
        peers = json.load(f)
    cols = [("stridecopy", None), ("limit", None), ("sc .numpy()", "sc_numpy_ms"), ("sc out=", "sc_numpy_out_ms"),
            ("torch .cpu()", "torch_cpu_ms"), ("torch pinned", "torch_pinned_ms"),
            ("cupy pinned", "cupy_pinned_ms"), ("cp.asnumpy", "cupy_asnumpy_ms"), ("numpy host", "numpy_ms")]
    note = "" if peers.get("complete", True) else " (incomplete: the run stopped early)"
    print(f"\npeers on {peers.get('card', '?')}: GB/s of output bytes{note}")
    print("  " + f"{'case':32s}" + "".join(f"{c[0]:>13s}" for c in cols))
    for r in peers.get("rows", []):
        tag = f"{r['dtype']}/{r['size']}/{r['view']}"
        bench_tag = f"{r['dtype']}/{r['size'].replace('1GiB', '1024MiB')}/{r['view']}"
        nbytes = r.get("bytes") or 0
        ours = rows.get(f"d2h/auto/{bench_tag}")
        lim = rows.get(f"d2h/limit/{bench_tag}")
        ms = [ours["ms"] if ours else r.get("stridecopy_auto_ms"), lim["ms"] if lim else r.get("stridecopy_limit_ms")]
        ms += [r.get(key) for _, key in cols[2:]]
        if ours and ours["bytes"]:
            nbytes = ours["bytes"]
        cells = [f"{nbytes / (t * 1e6):13.1f}" if t and nbytes else f"{'-':>13s}" for t in ms]
        print("  " + f"{tag:32s}" + "".join(cells))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="*")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--targets", action="store_true", help="check the performance targets")
    ap.add_argument("--peers", default=None, help="bench/peers.py's JSON, shown beside stridecopy's figures")
    args = ap.parse_args()
    rows = load(args.json)
    groups = grouped(rows)
    ratio_tables(groups, args.markdown)
    batch_table(groups)
    if args.peers:
        print_peers(args.peers, rows)
    if args.targets:  # last: the lines read first at the end of a long output
        print_targets(groups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
