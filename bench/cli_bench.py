#!/usr/bin/env python3
"""bench/cli_bench.py — the CLI and save_npy beside NumPy, same run, warm page cache.

1. `stridecopy slice IN INDEX -o OUT` end to end (a process per run: start, map the input, gather,
   write) against the fastest NumPy script a user would write for the same file, timed inside Python
   (no interpreter start, no import: strict for the CLI):
     load:  np.save(out, np.ascontiguousarray(np.load(in)[idx]))
     mmap:  np.save(out, np.ascontiguousarray(np.load(in, mmap_mode="r")[idx]))
   on the uint8 BGR swap (NHWC [4, 966, 1296, 3] [..., ::-1]), [..., ::-1] and [:, ::-1, :, :] of the
   float32 BGR example [4, 3, 966, 1296]. Ratio = best NumPy time / CLI time (>= 2 is the target).
   Beside them, two floors: `cp --reflink=never IN OUT`, a process that copies the same number of
   bytes into a new file once (no gather, no user-space buffer), and the CLI on `...` (the whole
   input: one write of the mapped file, nothing gathered).
2. save_npy of the NCHW view family from memory (View.save of the Python package, which calls it)
   against np.save of a contiguous array of the same bytes (NumPy's own copy of the view),
   interleaved in one loop. Ratio = np.save
   time / save_npy time (>= 0.9 is the target). bench/npy_bench's C++ figures come beside them.

Files live in --dir (default: the system's temporary folder); every input is read once before timing,
so the page cache holds it. Every timed run writes a new output file (the previous one is removed
first, untimed), on both sides. Medians of --repeat runs, interleaved. Writes the raw JSON to
bench/results/cli-<date>[-<tag>].json.

    python3 bench/cli_bench.py [--build build] [--repeat 7] [--dir DIR] [--tag run1]
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

# The float32 members of the NCHW view family (bench/nchw_views.hpp), by their npy_bench names.
SAVE_VIEWS = [
    ("channel_reverse", "[:, ::-1, :, :]"),
    ("row_reverse", "[..., ::-1]"),
    ("plane_reverse", "[:, :, ::-1, ::-1]"),
    ("step2", "[..., ::2]"),
    ("crop", "[:, :, 8:-8, 8:-8]"),
]

CASES = [
    ("uint8 NHWC [..., ::-1]", "nhwc", "[..., ::-1]", lambda a: a[..., ::-1]),
    ("[..., ::-1]", "nchw", "[..., ::-1]", lambda a: a[..., ::-1]),
    ("[:, ::-1, :, :]", "nchw", "[:, ::-1, :, :]", lambda a: a[:, ::-1, :, :]),
]


def timed(f, out):
    # Each run writes a new file: the previous output is removed first, untimed. Replacing a file
    # costs either side the freeing of the old one's pages and blocks (np.save's O_TRUNC, the CLI's
    # removal after its rename), which depends on whether ext4 had written it back yet (it starts
    # that at the close of a file opened with O_TRUNC): disk state, not the copy.
    if os.path.exists(out):
        os.remove(out)
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--tag", default="", help="suffix of the JSON's name: cli-<date>-<tag>.json")
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = ap.parse_args()
    cli = os.path.join(args.build, "tools", "cli", "stridecopy")
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
            # The floor: a process that puts the same number of bytes into a new file with one copy
            # into the page cache (coreutils cp: copy_file_range, no user-space buffer at all).
            "cp": lambda: subprocess.run(["cp", "--reflink=never", src, out], check=True),
            # The CLI with nothing to gather: one write of the mapped input, the least it can do.
            "cli_whole": lambda: subprocess.run([cli, "slice", src, "...", "-o", out], check=True),
        }
        for w in ways.values():
            timed(w, out)  # warm-up: the binary in the page cache
        times = {k: [] for k in ways}
        for _ in range(args.repeat):
            for k, w in ways.items():
                times[k].append(timed(w, out))
        med = {k: statistics.median(v) for k, v in times.items()}
        best_numpy = min(med["numpy_load"], med["numpy_mmap"])
        rows.append({"case": label, "index": idx, "input": which, "cli_ms": med["cli"] * 1e3,
                     "numpy_load_ms": med["numpy_load"] * 1e3, "numpy_mmap_ms": med["numpy_mmap"] * 1e3,
                     "cp_ms": med["cp"] * 1e3, "cli_whole_ms": med["cli_whole"] * 1e3,
                     "ratio_best_numpy_over_cli": best_numpy / med["cli"],
                     "ratio_cli_over_cli_whole": med["cli"] / med["cli_whole"],
                     "ratio_cli_over_cp": med["cli"] / med["cp"], "ratio_best_numpy_over_cp": best_numpy / med["cp"],
                     "runs_ms": {k: [t * 1e3 for t in v] for k, v in times.items()}})
    # save_npy of views from memory vs np.save of a contiguous array of the same bytes, interleaved
    # in one loop (View.save is save_npy behind the Python package, the GIL released), so that both
    # sides see the same machine; the C++ figures of npy_bench come beside them when it is built.
    nchw = rng.random((4, 3, 966, 1296), dtype=np.float32)
    nhwc = rng.integers(0, 256, (4, 966, 1296, 3), dtype=np.uint8)
    save_rows = []
    try:
        import stridecopy as sc
    except ImportError:
        sc = None
        print("stridecopy (Python) is not installed: save_npy against np.save skipped")
    if sc is not None:
        f32 = sc.view(nchw)
        # (name, view as NumPy writes it, the stridecopy view, NumPy's contiguous array of its bytes)
        family = [(n, text, f32[text], np.ascontiguousarray(eval("a" + text, {"a": nchw})))
                  for n, text in SAVE_VIEWS]
        family += [("nchw_to_nhwc", ".transpose(0, 2, 3, 1)", f32.transpose(0, 2, 3, 1),
                    np.ascontiguousarray(nchw.transpose(0, 2, 3, 1))),
                   ("nhwc_channel_reverse", "NHWC [..., ::-1]", sc.view(nhwc)[..., ::-1],
                    np.ascontiguousarray(nhwc[..., ::-1]))]
        ways = {}
        for name, _, v, c in family:
            ways[name] = (lambda v=v: v.save(out))
            ways["np.save " + name] = (lambda c=c: np.save(out, c))
        for w in ways.values():
            timed(w, out)
        times = {k: [] for k in ways}
        for _ in range(args.repeat):
            for k, w in ways.items():
                times[k].append(timed(w, out))
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        for name, numpy_text, _, c in family:
            ref = "np.save " + name
            save_rows.append({"view": name, "numpy": numpy_text, "bytes": int(c.nbytes), "save_npy_ms": med[name],
                              "np_save_same_bytes_ms": med[ref], "ratio_np_save_over_save_npy": med[ref] / med[name],
                              "runs_ms": [t * 1e3 for t in times[name]],
                              "np_save_runs_ms": [t * 1e3 for t in times[ref]]})
    raw = os.path.join(work, "npy_bench.json")
    npy_bench = os.path.join(args.build, "bench", "npy_bench")
    cpp_saves = {}
    if os.path.exists(npy_bench):
        subprocess.run([npy_bench, "--benchmark_out=" + raw, "--benchmark_out_format=json",
                        "--benchmark_repetitions=%d" % args.repeat, "--benchmark_report_aggregates_only=true"],
                       check=True, env=dict(os.environ, NPY_BENCH_DIR=work), stdout=subprocess.DEVNULL)
        for b in json.load(open(raw))["benchmarks"]:
            if b.get("aggregate_name") == "median":
                cpp_saves[b["run_name"].split("/")[1]] = b["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0}[
                    b["time_unit"]]
    stamp = datetime.date.today().isoformat()
    summary = {"date": stamp, "host": platform.node(), "cpu": platform.processor(), "threads": os.cpu_count(),
               "numpy": np.__version__, "load_average_1min": load_avg,
               "command": "python3 bench/cli_bench.py --build %s --repeat %d%s" % (
                   args.build, args.repeat, " --tag " + args.tag if args.tag else ""),
               "cli": rows, "save": save_rows,
               "npy_bench_save_npy_median_ms": cpp_saves}
    os.makedirs(args.out_dir, exist_ok=True)
    name = "cli-%s%s.json" % (stamp, "-" + args.tag if args.tag else "")
    with open(os.path.join(args.out_dir, name), "w") as fh:
        json.dump(summary, fh, indent=1)
    print("CLI vs NumPy (warm page cache, medians of %d, load average %.2f)" % (args.repeat, load_avg))
    for r in rows:
        print("  %-24s cli %6.1f ms  numpy load %6.1f  mmap %6.1f  cp %6.1f  cli '...' %6.1f  -> %.2fx the best "
              "NumPy script; cli/cp %.2f, cli/cli '...' %.2f" % (
                  r["case"], r["cli_ms"], r["numpy_load_ms"], r["numpy_mmap_ms"], r["cp_ms"], r["cli_whole_ms"],
                  r["ratio_best_numpy_over_cli"], r["ratio_cli_over_cp"], r["ratio_cli_over_cli_whole"]))
    print("save_npy (View.save) vs np.save of a contiguous array of the same bytes, interleaved")
    for r in save_rows:
        print("  %-22s %7.1f ms  np.save %7.1f ms  -> %.2fx   (npy_bench, C++: %s ms)" % (
            r["view"], r["save_npy_ms"], r["np_save_same_bytes_ms"], r["ratio_np_save_over_save_npy"],
            "%.1f" % cpp_saves[r["view"]] if r["view"] in cpp_saves else "-"))
    for p in list(paths.values()) + [out, raw]:
        if os.path.exists(p):
            os.remove(p)
    os.rmdir(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
