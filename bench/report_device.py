#!/usr/bin/env python3
"""bench/report_device.py — turns device benchmark JSON (Google Benchmark) into the ratio tables.

Every stridecopy figure is divided by the limit measured in the same run on the same bytes:
  d2d/gather/T   vs d2d/memcpy/T   (contiguous cudaMemcpyAsync D2D),  and d2d/two_pass/T;
  d2h/<strategy>/T vs d2h/limit/T  (contiguous pinned cudaMemcpyAsync D2H), and d2h/two_pass_*/T.
Ratios are of achieved bandwidth (limit time / our time): 1.0 means as fast as the limit.

    python3 bench/report_device.py RESULT.json [RESULT2.json ...] [--markdown]
"""
import argparse
import json
import sys
from collections import defaultdict


def load(paths):
    rows = {}
    for p in paths:
        data = json.load(open(p))
        for b in data["benchmarks"]:
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            name = b.get("run_name", b["name"]).split("/manual_time")[0]
            t = b["real_time"] * {"s": 1e3, "ms": 1.0, "us": 1e-3, "ns": 1e-6}[b["time_unit"]]
            rows[name] = {"ms": t, "bytes": b.get("bytes", 0), "label": b.get("label", "")}
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="+")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    rows = load(args.json)
    groups = defaultdict(dict)  # (direction, tag) -> method -> row
    for name, r in rows.items():
        parts = name.split("/")
        if len(parts) < 3:
            continue
        direction, method, tag = parts[0], parts[1], "/".join(parts[2:])
        groups[(direction, tag)][method] = r
    sep = " | " if args.markdown else "  "
    for direction, limit_name in (("d2d", "memcpy"), ("d2h", "limit")):
        keys = sorted(k for k in groups if k[0] == direction)
        if not keys:
            continue
        methods = sorted({m for k in keys for m in groups[k] if m != limit_name})
        strategies = [m for m in ("dma", "staged", "direct") if m in methods]
        header = ["view", "MB", f"{limit_name} GB/s"] + [f"{m} x" for m in methods] + (["winner"] if strategies else [])
        print(f"\n{direction}: achieved bandwidth as a ratio to the same-run {limit_name} of the same bytes")
        if args.markdown:
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
        else:
            print(sep.join(f"{h:>14s}" for h in header))
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
            if args.markdown:
                print("| " + " | ".join(cells) + " |")
            else:
                print(sep.join(f"{c:>14s}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
