#!/usr/bin/env python3
"""bench/load_bench.py — the host views on an idle machine and beside a competing busy process.

For each host view (the NCHW family, the uint8 NHWC BGR swap, a float64 transpose of power-of-two
rows) at about 64 KiB, 1 MiB and 64 MiB of output, times `v.numpy(out=warm)` with the default thread
setting, the same copy with `threads=1`, and NumPy's `np.copyto(warm, a[idx])`, their repetitions
interleaved; first on the machine as it is ("idle"), then with a busy process pinned to one of this
process's CPUs ("load": `python3 -c "while True: pass"` under os.sched_setaffinity). The targets:
under load, the default no slower than one thread and than NumPy at every size.

For the default's copies the pool's counters say how many jobs ran with a team, how many pieces
the workers ran, and how often (and how long) the calling thread, out of pieces, waited for a worker
still running one: the only way a team can be slower than its caller alone.

The neighbour check, in the same process: a 1 MiB NumPy copy timed right after a 64 MiB
`[:, ::-1]` copy made by stridecopy (default team) and right after the same copy made by NumPy, and
the process's CPU time while its main thread sleeps 20 ms after each: copy threads left spinning
would take a core from NumPy and show as CPU time.

    python3 bench/load_bench.py [--repetitions 15] [--tag run1] [--modes idle,load]

Writes bench/results/load-DATE[-TAG].json; records the CPU model, the load average before and after
each mode, and the thread setting.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import stridecopy as sc
from stridecopy import _stridecopy
from python_bench import cpu_name

KiB = 1024
MiB = 1024 * KiB
SIZES = {"64KiB": 64 * KiB, "1MiB": MiB, "64MiB": 64 * MiB}


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def nchw_shape(nbytes, itemsize):
    """[n, 3, h, w] with about nbytes of elements and a 4:3 picture."""
    n = 4 if nbytes >= 16 * MiB else 1
    pixels = nbytes // (itemsize * 3 * n)
    h = max(1, int((pixels * 3 / 4) ** 0.5))
    return n, 3, h, max(1, pixels // h)


def views(nbytes, rng):
    """name -> (array, index as a function of an array or a View)."""
    n, c, h, w = nchw_shape(nbytes, 4)
    a = rng.random((n, c, h, w), dtype=np.float32)
    un, _, uh, uw = nchw_shape(nbytes, 1)
    u8 = rng.integers(0, 256, (un, uh, uw, 3), dtype=np.uint8)
    side = 1 << ((nbytes // 8).bit_length() - 1) // 2  # rows of a power-of-two number of doubles
    sq = rng.random((side, nbytes // 8 // side))
    return {
        "[:, ::-1, :, :]": (a, lambda x: x[:, ::-1, :, :]),
        "[..., ::-1]": (a, lambda x: x[..., ::-1]),
        "[:, :, ::-1, ::-1]": (a, lambda x: x[:, :, ::-1, ::-1]),
        "[..., ::2]": (a, lambda x: x[..., ::2]),
        "[:, :, 8:-8, 8:-8]": (a, lambda x: x[:, :, 8:-8, 8:-8] if h > 16 and w > 16 else x),
        ".transpose(0, 2, 3, 1)": (a, lambda x: x.transpose(0, 2, 3, 1)),
        "uint8 NHWC [..., ::-1]": (u8, lambda x: x[..., ::-1]),
        "float64 .T": (sq, lambda x: x.T),
    }


def per_call(fn, nbytes):
    """Seconds per call of fn, over enough calls to take about a millisecond."""
    calls = max(1, (4 * MiB) // max(nbytes, 1))
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def run_cases(repetitions, rng):
    out = {}
    for size_name, nbytes in SIZES.items():
        for name, (a, index) in views(nbytes, rng).items():
            v = sc.view(a)
            sv = index(v)
            nv = index(a)
            warm = np.empty(nv.shape, nv.dtype)
            np.copyto(warm, nv)
            assert sv.numpy().tobytes() == np.ascontiguousarray(nv).tobytes(), name
            ways = {
                "stridecopy": lambda: sv.numpy(out=warm),
                "stridecopy, threads=1": lambda: sv.numpy(out=warm, threads=1),
                "numpy": lambda: np.copyto(warm, nv),
            }
            times = {k: [] for k in ways}
            for fn in ways.values():
                fn()
            # What the default's team did: jobs with a team, pieces its workers ran, and the waits of
            # the calling thread, out of pieces, for a worker still running one.
            pool = {"team_jobs": 0, "worker_pieces": 0, "caller_waits": 0, "caller_wait_ns": 0}
            for _ in range(repetitions):
                for k, fn in ways.items():
                    before = _stridecopy._pool_stats() if k == "stridecopy" else None
                    times[k].append(per_call(fn, nv.nbytes))
                    if before is not None:
                        after = _stridecopy._pool_stats()
                        for key in pool:
                            pool[key] += after[key] - before[key]
            med = {k: statistics.median(t) for k, t in times.items()}
            # The lower quartile: on a machine whose other work comes in bursts, the rounds it spared.
            q1 = {k: statistics.quantiles(t, n=4)[0] for k, t in times.items()}
            out[f"{name} {size_name}"] = {
                "view": name, "size": size_name, "bytes": int(nv.nbytes), "shape": list(a.shape),
                "median_us": {k: t * 1e6 for k, t in med.items()},
                "q1_us": {k: t * 1e6 for k, t in q1.items()},
                "seconds": times,
                "one_thread_over_default": med["stridecopy, threads=1"] / med["stridecopy"],
                "numpy_over_default": med["numpy"] / med["stridecopy"],
                "one_thread_over_default_q1": q1["stridecopy, threads=1"] / q1["stridecopy"],
                "numpy_over_default_q1": q1["numpy"] / q1["stridecopy"],
                "default_pool": pool,
                "default_caller_wait_share": pool["caller_wait_ns"] * 1e-9 / max(sum(times["stridecopy"]), 1e-12),
            }
    return out


def neighbour_check(repetitions, rng):
    """What a stridecopy call leaves behind, against NumPy doing the same copy: the time of a 1 MiB
    NumPy copy made right after it (both big copies leave the caches alike), and the CPU time the
    whole process uses while its main thread sleeps 20 ms right after it (copy threads left spinning
    would use up to 20 ms per spinning thread)."""
    src = rng.random(MiB // 8)
    dst = np.empty_like(src)
    big = rng.random((4, 3, 1024, 1365), dtype=np.float32)
    v = sc.view(big)[:, ::-1]
    nv = big[:, ::-1]
    out = np.empty(v.shape, np.float32)
    ways = {"numpy": lambda: np.copyto(out, nv), "stridecopy": lambda: v.numpy(out=out)}
    after = {k: [] for k in ways}
    idle_cpu = {k: [] for k in ways}
    for _ in range(repetitions * 2):
        for k, big_copy in ways.items():
            big_copy()
            t0 = time.perf_counter()
            np.copyto(dst, src)
            after[k].append(time.perf_counter() - t0)
            big_copy()
            c0 = time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID)
            time.sleep(0.02)
            idle_cpu[k].append(time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID) - c0)
    med = {k: statistics.median(t) for k, t in after.items()}
    cpu = {k: statistics.median(t) for k, t in idle_cpu.items()}
    return {"numpy_1MiB_copy_after_numpy_us": med["numpy"] * 1e6,
            "numpy_1MiB_copy_after_stridecopy_us": med["stridecopy"] * 1e6,
            "after_stridecopy_over_after_numpy": med["stridecopy"] / med["numpy"],
            "process_cpu_ms_in_20ms_sleep_after_numpy": cpu["numpy"] * 1e3,
            "process_cpu_ms_in_20ms_sleep_after_stridecopy": cpu["stridecopy"] * 1e3,
            "seconds_after": after, "cpu_seconds_in_sleep": idle_cpu}


def start_competitor():
    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[-1]
    p = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                         preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    time.sleep(0.5)
    return p, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repetitions", type=int, default=15)
    ap.add_argument("--tag", default="")
    ap.add_argument("--modes", default="idle,load")
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = ap.parse_args()
    stamp = datetime.date.today().isoformat()
    result = {"date": stamp, "command": " ".join(["python3"] + sys.argv), "cpu": cpu_name(),
              "cpus": sorted(os.sched_getaffinity(0)), "numpy": np.__version__,
              "num_threads": sc.get_num_threads(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "modes": {}}
    for mode in args.modes.split(","):
        rng = np.random.default_rng(0)
        competitor = None
        entry = {"loadavg_before": loadavg()}
        if mode == "load":
            competitor, cpu = start_competitor()
            entry["competitor_cpu"] = cpu
        try:
            entry["cases"] = run_cases(args.repetitions, rng)
            entry["neighbour"] = neighbour_check(args.repetitions, rng)
        finally:
            if competitor:
                competitor.kill()
                competitor.wait()
        entry["loadavg_after"] = loadavg()
        result["modes"][mode] = entry

    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, f"load-{stamp}{'-' + args.tag if args.tag else ''}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"{result['cpu']}, CPUs {result['cpus']}, get_num_threads() {result['num_threads']}, numpy {np.__version__}")
    modes = list(result["modes"])
    for mode in modes:
        e = result["modes"][mode]
        print(f"\n{mode}: load average {' '.join(e['loadavg_before'])} -> {' '.join(e['loadavg_after'])}"
              + (f", busy process on CPU {e['competitor_cpu']}" if "competitor_cpu" in e else ""))
        print(f"  {'view (medians; ratios also of lower quartiles)':48s} {'default us':>11s} {'1 thread us':>11s} "
              f"{'numpy us':>10s} {'1thr/def':>9s} {'np/def':>7s} {'q1: 1thr/def':>12s} {'np/def':>7s}")
        for key, c in e["cases"].items():
            m = c["median_us"]
            print(f"  {key:48s} {m['stridecopy']:11.1f} {m['stridecopy, threads=1']:11.1f} {m['numpy']:10.1f} "
                  f"{c['one_thread_over_default']:9.2f} {c['numpy_over_default']:7.2f} "
                  f"{c['one_thread_over_default_q1']:12.2f} {c['numpy_over_default_q1']:7.2f}")
        teams = [c for c in e["cases"].values() if c["default_pool"]["team_jobs"]]
        if teams:
            jobs = sum(c["default_pool"]["team_jobs"] for c in teams)
            waits = sum(c["default_pool"]["caller_waits"] for c in teams)
            worst = max(c["default_caller_wait_share"] for c in teams)
            print(f"  default's team jobs: {jobs}, worker pieces {sum(c['default_pool']['worker_pieces'] for c in teams)}; "
                  f"the caller waited for a worker's piece at the end of {waits} of them, at most "
                  f"{worst * 100:.1f}% of a view's time")
        n = e["neighbour"]
        print(f"  NumPy 1 MiB copy right after the 64 MiB [:, ::-1] by NumPy {n['numpy_1MiB_copy_after_numpy_us']:.1f} us, "
              f"by stridecopy {n['numpy_1MiB_copy_after_stridecopy_us']:.1f} us "
              f"({n['after_stridecopy_over_after_numpy']:.2f}x); process CPU time in a 20 ms sleep after it: "
              f"{n['process_cpu_ms_in_20ms_sleep_after_numpy']:.2f} ms, {n['process_cpu_ms_in_20ms_sleep_after_stridecopy']:.2f} ms")
    print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
