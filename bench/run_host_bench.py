#!/usr/bin/env python3
"""bench/run_host_bench.py — the host benchmark, its limit and NumPy, in one run.

Runs build/bench/host_bench (Google Benchmark, JSON), then times NumPy's np.copyto (and
np.ascontiguousarray) on the same views of the same shapes, and prints each figure as a ratio to the
view's own limit: the traffic it must move (output bytes written plus the distinct source cache lines
it must read, counted by host_bench from the view: bench/traffic.hpp) at the bandwidth of the fastest
memcpy of the same output bytes in the same run (glibc or non-temporal, one thread or all). A memcpy
moves 2 bytes per output byte, so a reversal is judged against 1x memcpy's time and x[..., ::2],
which reads every line of a source twice its output's size, against 1.5x. Writes the raw JSON and the
table under bench/results/.

    python3 bench/run_host_bench.py [--build build] [--repetitions 15] [--tag run1]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

# name in host_bench (bench/nchw_views.hpp, then the float64 transpose) -> (label, NumPy expression on
# the float32 NCHW, uint8 NHWC and float64 2048x2048 arrays)
VIEWS = {
    "channel_reverse": ("[:, ::-1, :, :]", lambda a, u8, sq: a[:, ::-1, :, :]),
    "row_reverse": ("[..., ::-1]", lambda a, u8, sq: a[..., ::-1]),
    "plane_reverse": ("[:, :, ::-1, ::-1]", lambda a, u8, sq: a[:, :, ::-1, ::-1]),
    "step2": ("[..., ::2]", lambda a, u8, sq: a[..., ::2]),
    "crop": ("[:, :, 8:-8, 8:-8]", lambda a, u8, sq: a[:, :, 8:-8, 8:-8]),
    "nchw_to_nhwc": (".transpose(0, 2, 3, 1)", lambda a, u8, sq: a.transpose(0, 2, 3, 1)),
    "nhwc_channel_reverse": ("uint8 NHWC [..., ::-1]", lambda a, u8, sq: u8[..., ::-1]),
    "f64_transpose": ("float64 2048x2048 .T", lambda a, u8, sq: sq.T),
    "bgr_into_nhwc": ("[:, ::-1] into NHWC", lambda a, u8, sq: a[:, ::-1, :, :]),
}
# Views copied into a strided destination: NumPy's copy goes into the same one.
INTO = {"bgr_into_nhwc": lambda v: np.empty((4, 966, 1296, 3), np.float32).transpose(0, 3, 1, 2)}


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def scheduler():
    """The policy this run had: under SCHED_FIFO (chrt -f), other work on the machine cannot take a
    benchmark thread's core in the middle of a copy."""
    try:
        policy = os.sched_getscheduler(0)
        names = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_FIFO: "SCHED_FIFO", os.SCHED_RR: "SCHED_RR"}
        return f"{names.get(policy, policy)} priority {os.sched_getparam(0).sched_priority}"
    except (AttributeError, OSError):
        return "unknown"


def numpy_times(reps):
    rng = np.random.default_rng()
    a = rng.random((4, 3, 966, 1296), dtype=np.float32)
    u8 = rng.integers(0, 256, (4, 966, 1296, 3), dtype=np.uint8)
    sq = rng.random((2048, 2048))
    flush = np.empty(96 << 20, np.uint8)  # as host_bench: caches flushed before every timed copy
    out = {}
    for name, (_, expr) in VIEWS.items():
        v = expr(a, u8, sq)
        dst = INTO[name](v) if name in INTO else np.empty(v.shape, v.dtype)
        np.copyto(dst, v)  # warm: destination touched, as in the C++ benchmark
        t = []
        for i in range(reps):
            flush.fill(i)
            t0 = time.perf_counter()
            np.copyto(dst, v)  # what np.ascontiguousarray does, minus the allocation
            t.append(time.perf_counter() - t0)
        t_alloc = []
        for i in range(reps):
            flush.fill(i)
            t0 = time.perf_counter()
            r = np.ascontiguousarray(v) if name not in INTO else np.copyto(INTO[name](v), v)
            t_alloc.append(time.perf_counter() - t0)
            del r
        out[name] = {"copyto_ms": statistics.median(t) * 1e3, "ascontiguousarray_ms": statistics.median(t_alloc) * 1e3,
                     "bytes": v.nbytes}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--repetitions", type=int, default=15)
    ap.add_argument("--tag", default="", help="suffix of the result files: host-DATE-TAG.json")
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = ap.parse_args()
    exe = os.path.join(args.build, "bench", "host_bench")
    stamp = datetime.date.today().isoformat()
    host = platform.node() or "host"
    os.makedirs(args.out_dir, exist_ok=True)
    suffix = f"{stamp}-{args.tag}" if args.tag else stamp
    raw = os.path.join(args.out_dir, f"host-{suffix}.json")
    # Repetitions of all benchmarks in random interleaved order: the machine's memory bandwidth drifts
    # by 20% within a run (other work, other tenants), and a view measured a minute before its limit
    # would carry that drift into its ratio.
    subprocess.run([exe, f"--benchmark_repetitions={args.repetitions}", "--benchmark_report_aggregates_only=true",
                    "--benchmark_enable_random_interleaving=true",
                    "--benchmark_format=console", f"--benchmark_out={raw}", "--benchmark_out_format=json"],
                   check=True, stdout=subprocess.DEVNULL)
    gb = json.load(open(raw))
    med = {b["run_name"]: b for b in gb["benchmarks"] if b.get("aggregate_name") == "median"}

    def ms(b):
        return b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6}[b["time_unit"]]

    memcpy = {}  # the fastest memcpy of the same bytes (glibc or non-temporal, 1 or all threads, split 2 ways)
    for name, b in med.items():
        if name.startswith("memcpy"):  # memcpy, memcpy_nontemporal, and their _chunks splits
            nbytes = int(name.split("/")[1])
            memcpy[nbytes] = min(memcpy.get(nbytes, float("inf")), ms(b))
    nps = numpy_times(args.repetitions)
    rows = []
    order = list(VIEWS)  # the table in VIEWS' order, whatever order the interleaved run reported in
    batches = {}  # host_batch/BYTESxN/batch:1 and :0 -> ns per frame
    for name, b in med.items():
        if name.startswith("host_batch/"):
            batches[name] = ms(b) * 1e6 / b["frames"]
    for name, b in sorted(med.items(), key=lambda kv: order.index(kv[0].split("/")[1]) if kv[0].startswith("host_copy/") else -1):
        if not name.startswith("host_copy/"):
            continue
        key = name.split("/")[1]
        nbytes = int(b["bytes"])
        ours = ms(b)
        # The view's traffic against memcpy's (output read and written: 2 bytes per output byte).
        traffic = nbytes + int(b["source_lines"]) * int(b["line_bytes"])
        factor = traffic / (2 * nbytes)
        limit = memcpy[nbytes] * factor
        npy = nps[key]
        rows.append({"view": VIEWS[key][0], "bytes": nbytes, "source_lines": int(b["source_lines"]),
                     "traffic_bytes": traffic, "traffic_factor": factor, "stridecopy_ms": ours,
                     "memcpy_ms": memcpy[nbytes], "limit_ms": limit, "ratio_to_limit": limit / ours,
                     "ratio_to_memcpy": memcpy[nbytes] / ours, "numpy_copyto_ms": npy["copyto_ms"],
                     "numpy_ascontiguousarray_ms": npy["ascontiguousarray_ms"],
                     "numpy_ratio_to_limit": limit / npy["copyto_ms"], "speedup_over_numpy": npy["copyto_ms"] / ours})
    summary = {"date": stamp, "host": host, "cpu": cpu_name(), "threads": os.cpu_count(), "numpy": np.__version__,
               "command": " ".join(["python3"] + sys.argv), "scheduler": scheduler(), "rows": rows,
               "batch_ns_per_frame": batches, "google_benchmark_json": os.path.basename(raw)}
    with open(os.path.join(args.out_dir, f"host-summary-{suffix}.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"host benchmark, {summary['cpu']}, {summary['threads']} threads, numpy {np.__version__}, {stamp}")
    print(f"{'view':28s} {'MB':>6s} {'traffic':>7s} {'ours ms':>8s} {'memcpy ms':>9s} {'limit ms':>8s} "
          f"{'ours/limit':>10s} {'numpy ms':>9s} {'numpy/limit':>11s} {'vs numpy':>8s}")
    for r in rows:
        print(f"{r['view']:28s} {r['bytes'] / 1e6:6.1f} {r['traffic_factor']:6.2f}x {r['stridecopy_ms']:8.2f} "
              f"{r['memcpy_ms']:9.2f} {r['limit_ms']:8.2f} {r['ratio_to_limit']:9.2f}x {r['numpy_copyto_ms']:9.2f} "
              f"{r['numpy_ratio_to_limit']:10.2f}x {r['speedup_over_numpy']:7.2f}x")
    for name in sorted(batches):
        print(f"{name:40s} {batches[name]:10.0f} ns per frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
