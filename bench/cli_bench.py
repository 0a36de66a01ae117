#!/usr/bin/env python3
"""bench/cli_bench.py — the CLI and save_npy beside NumPy, same run, warm page cache.

1. `stridecopy slice IN INDEX -o OUT` end to end (a process per run: start, map the input, gather,
   write) against the fastest NumPy script a user would write for the same file, timed inside Python
   (no interpreter start, no import: strict for the CLI):
     load:  np.save(out, np.ascontiguousarray(np.load(in)[idx]))
     mmap:  np.save(out, np.ascontiguousarray(np.load(in, mmap_mode="r")[idx]))
   on the uint8 BGR swap (NHWC [4, 966, 1296, 3] [..., ::-1]), [..., ::-1] and [:, ::-1, :, :] of the
   float32 BGR example [4, 3, 966, 1296]. Ratio = best NumPy time / CLI time (>= 2 is the target).
2. save_npy of the NCHW view family from memory (bench/npy_bench) against np.save of a contiguous
   array of the same bytes. Ratio = np.save time / save_npy time (>= 0.9 is the target).

Files live in --dir (default: the system's temporary folder); every input is read once before timing,
so the page cache holds it. Medians of --repeat runs, interleaved. Writes the raw JSON to
bench/results/cli-<date>.json.

    python3 bench/cli_bench.py [--build build] [--repeat 7] [--dir DIR]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

CASES = [
    ("uint8 NHWC [..., ::-1]", "nhwc", "[..., ::-1]", lambda a: a[..., ::-1]),
    ("[..., ::-1]", "nchw", "[..., ::-1]", lambda a: a[..., ::-1]),
    ("[:, ::-1, :, :]", "nchw", "[:, ::-1, :, :]", lambda a: a[:, ::-1, :, :]),
]


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = ap.parse_args()
    cli = os.path.join(args.build, "tools", "stridecopy")
    work = tempfile.mkdtemp(prefix="cli_bench_", dir=args.dir)
    rng = np.random.default_rng(1)
    paths = {"nchw": os.path.join(work, "nchw.npy"), "nhwc": os.path.join(work, "nhwc.npy")}
    np.save(paths["nchw"], rng.random((4, 3, 966, 1296), dtype=np.float32))
    np.save(paths["nhwc"], rng.integers(0, 256, (4, 966, 1296, 3), dtype=np.uint8))
    for p in paths.values():
        np.load(p)  # into the page cache
    out = os.path.join(work, "out.npy")
    load_avg = os.getloadavg()[0]
    rows = []
    for label, which, idx, f in CASES:
        src = paths[which]
        ways = {
            "cli": lambda: subprocess.run([cli, "slice", src, idx, "-o", out], check=True),
            "numpy_load": lambda: np.save(out, np.ascontiguousarray(f(np.load(src)))),
            "numpy_mmap": lambda: np.save(out, np.ascontiguousarray(f(np.load(src, mmap_mode="r")))),
        }
        for w in ways.values():
            w()  # warm-up: the output file's pages, the binary in the page cache
        times = {k: [] for k in ways}
        for _ in range(args.repeat):
            for k, w in ways.items():
                times[k].append(timed(w))
        med = {k: statistics.median(v) for k, v in times.items()}
        best_numpy = min(med["numpy_load"], med["numpy_mmap"])
        rows.append({"case": label, "index": idx, "input": which, "cli_ms": med["cli"] * 1e3,
                     "numpy_load_ms": med["numpy_load"] * 1e3, "numpy_mmap_ms": med["numpy_mmap"] * 1e3,
                     "ratio_best_numpy_over_cli": best_numpy / med["cli"], "runs_ms": {k: [t * 1e3 for t in v]
                                                                                       for k, v in times.items()}})
    # save_npy of views from memory vs np.save of a contiguous array of the same bytes
    env = dict(os.environ, NPY_BENCH_DIR=work)
    raw = os.path.join(work, "npy_bench.json")
    subprocess.run([os.path.join(args.build, "bench", "npy_bench"), "--benchmark_out=" + raw,
                    "--benchmark_out_format=json", "--benchmark_repetitions=%d" % args.repeat,
                    "--benchmark_report_aggregates_only=true"], check=True, env=env, stdout=subprocess.DEVNULL)
    gb = json.load(open(raw))
    saves = {}
    for b in gb["benchmarks"]:
        if b.get("aggregate_name") == "median":
            saves[b["run_name"].split("/")[1]] = (b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0}[b["time_unit"]],
                                                   int(b["bytes"]), b.get("label", ""))
    contiguous = {4: np.ascontiguousarray(rng.random((4, 3, 966, 1296), dtype=np.float32)),
                  1: np.ascontiguousarray(rng.integers(0, 256, (4, 966, 1296, 3), dtype=np.uint8))}
    np_save = {}
    for key, arr in contiguous.items():
        np.save(out, arr)
        np_save[key] = statistics.median(timed(lambda: np.save(out, arr)) for _ in range(args.repeat)) * 1e3
    save_rows = []
    for name, (ms, nbytes, label) in saves.items():
        ref = np_save[1] if "u8" in name or "nhwc" in name else np_save[4]
        ref_bytes = contiguous[1].nbytes if ref is np_save[1] else contiguous[4].nbytes
        scaled = ref * nbytes / ref_bytes  # np.save of a contiguous array of these many bytes
        save_rows.append({"view": name, "label": label, "bytes": nbytes, "save_npy_ms": ms,
                          "np_save_same_bytes_ms": scaled, "ratio_np_save_over_save_npy": scaled / ms})
    stamp = datetime.date.today().isoformat()
    summary = {"date": stamp, "host": platform.node(), "cpu": platform.processor(), "threads": os.cpu_count(),
               "numpy": np.__version__, "load_average_1min": load_avg,
               "command": "python3 bench/cli_bench.py --build %s --repeat %d" % (args.build, args.repeat),
               "cli": rows, "save": save_rows, "np_save_contiguous_ms": {"f32_60MB": np_save[4], "u8_15MB": np_save[1]}}
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "cli-%s.json" % stamp), "w") as fh:
        json.dump(summary, fh, indent=1)
    print("CLI vs NumPy (warm page cache, medians of %d, load average %.2f)" % (args.repeat, load_avg))
    for r in rows:
        print("  %-24s cli %7.1f ms   numpy load %7.1f   mmap %7.1f   -> %.2fx the best NumPy script" % (
            r["case"], r["cli_ms"], r["numpy_load_ms"], r["numpy_mmap_ms"], r["ratio_best_numpy_over_cli"]))
    print("save_npy vs np.save of a contiguous array of the same bytes")
    for r in save_rows:
        print("  %-22s %7.1f ms  np.save %7.1f ms  -> %.2fx" % (r["view"], r["save_npy_ms"], r["np_save_same_bytes_ms"],
                                                              r["ratio_np_save_over_save_npy"]))
    for p in list(paths.values()) + [out, raw]:
        if os.path.exists(p):
            os.remove(p)
    os.rmdir(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
