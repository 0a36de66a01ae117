#!/usr/bin/env python3
# bench/python_bench.py — the Python package against NumPy (and PyTorch / CuPy on a GPU), same run:
# the NCHW view family at 60 MB, and the per-call overhead on a 4 KiB view.
"""Times stridecopy from Python beside the usual ways of getting the same C-order array.

    python3 bench/python_bench.py [--repeat 21] [--json bench/results/python-host-DATE.json]

Host (always): for each view of the NCHW view family, `sc.view(a)[idx].numpy()` (a new array, from
the pinned pool where CUDA is present), `v.numpy(out=warm)`, `np.ascontiguousarray(a[idx])` and
`np.copyto(warm, a[idx])`, interleaved round by round so that a noisy machine slows all of them
alike; medians and the ratios of the medians (and of the fastest rounds, the least disturbed on a
shared machine). Overhead: the whole `sc.view(a)[idx].numpy()` call on
a 4 KiB view (and its parts), timeit's best of several runs, beside NumPy, in wall time and in the
calling thread's CPU time (which a shared machine's other work does not inflate).

GPU (where a CUDA device and PyTorch are present): `sc.view(x)[idx].numpy()` against `x.flip(1).cpu()`
(or the view's PyTorch spelling, then `.cpu()`), PyTorch's best (`.contiguous()` then a non_blocking
copy into a warm pinned tensor), CuPy's best (`get(out=pinned)`), and `v.numpy(out=pinned)`.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
import timeit

import numpy as np

import stridecopy as sc

MB = 1e6


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def host_views():
    rng = np.random.default_rng(0)
    nchw = rng.random((4, 3, 966, 1296), dtype=np.float32)
    nhwc = rng.integers(0, 256, (4, 966, 1296, 3), dtype=np.uint8)
    # name -> (array, NumPy view, the same view through stridecopy)
    return {
        "[:, ::-1, :, :]": (nchw, lambda a: a[:, ::-1, :, :], lambda v: v[:, ::-1, :, :]),
        "[..., ::-1]": (nchw, lambda a: a[..., ::-1], lambda v: v[..., ::-1]),
        ".transpose(0, 2, 3, 1)": (nchw, lambda a: a.transpose(0, 2, 3, 1), lambda v: v.transpose(0, 2, 3, 1)),
        "uint8 NHWC [..., ::-1]": (nhwc, lambda a: a[..., ::-1], lambda v: v[..., ::-1]),
    }


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_host(repeat):
    out = {}
    for name, (a, np_view, sc_view) in host_views().items():
        view = np_view(a)
        warm = np.empty(view.shape, view.dtype)
        np.copyto(warm, view)
        expected = view.copy()
        got = sc_view(sc.view(a)).numpy()
        assert got.tobytes() == expected.tobytes(), name  # the copy is right before it is timed
        del got, expected
        ways = {
            "stridecopy .numpy()": lambda: sc_view(sc.view(a)).numpy(),
            "stridecopy .numpy(out=warm)": lambda: sc_view(sc.view(a)).numpy(out=warm),
            "np.ascontiguousarray": lambda: np.ascontiguousarray(np_view(a)),
            "np.copyto(warm)": lambda: np.copyto(warm, np_view(a)),
        }
        times = {k: [] for k in ways}
        for k, fn in ways.items():  # one untimed round: pools, page tables, caches
            fn()
        for _ in range(repeat):
            for k, fn in ways.items():
                times[k].append(timed(fn))
        med = {k: statistics.median(v) for k, v in times.items()}
        best = {k: min(v) for k, v in times.items()}
        out[name] = {
            "shape": list(a.shape),
            "dtype": str(a.dtype),
            "bytes": int(view.nbytes),
            "seconds": times,
            "median_ms": {k: v * 1e3 for k, v in med.items()},
            "GB_per_s_median": {k: view.nbytes / v / 1e9 for k, v in med.items()},
            "speedup_vs_np_ascontiguousarray": med["np.ascontiguousarray"] / med["stridecopy .numpy()"],
            "speedup_vs_np_copyto": med["np.copyto(warm)"] / med["stridecopy .numpy(out=warm)"],
            # On a shared machine the fastest round is the one least disturbed by other processes.
            "min_ms": {k: v * 1e3 for k, v in best.items()},
            "speedup_vs_np_ascontiguousarray_min": best["np.ascontiguousarray"] / best["stridecopy .numpy()"],
            "speedup_vs_np_copyto_min": best["np.copyto(warm)"] / best["stridecopy .numpy(out=warm)"],
        }
    return out


def bench_overhead(runs=7, number=20000, timer=time.perf_counter):
    a = np.arange(1024, dtype=np.float32).reshape(4, 256)  # 4 KiB
    idx = (Ellipsis, slice(None, None, -1))
    whole = sc.view(a)
    v = whole[idx]
    one = sc.view(np.arange(1, dtype=np.float32))[::-1]
    warm = np.empty(v.shape, v.dtype)
    # The whole chain, then its parts: making the view (protocol probing), indexing (argument parsing),
    # the copy into a new array (allocation, wrapping), the copy of one element (all but the bytes).
    cases = {
        "sc.view(a)[..., ::-1].numpy()": lambda: sc.view(a)[idx].numpy(),
        "sc.view(a)": lambda: sc.view(a),
        "view[..., ::-1]": lambda: whole[idx],
        "v.numpy() (view prepared)": lambda: v.numpy(),
        "v.numpy(out=warm)": lambda: v.numpy(out=warm),
        "1-element view .numpy()": lambda: one.numpy(),
        "np.ascontiguousarray(a[..., ::-1])": lambda: np.ascontiguousarray(a[idx]),
        "np.copyto(warm, a[..., ::-1])": lambda: np.copyto(warm, a[idx]),
        "np.empty((4, 256), float32)": lambda: np.empty((4, 256), np.float32),
    }
    return {k: min(timeit.repeat(fn, number=number, repeat=runs, timer=timer)) / number * 1e6 for k, fn in cases.items()}


def bench_gpu(repeat):
    try:
        import torch
    except ImportError:
        return {"skipped": "PyTorch is not installed"}
    if not (sc.cuda_available() and torch.cuda.is_available()):
        return {"skipped": "no CUDA device"}
    try:
        import cupy
        import cupyx
    except ImportError:
        cupy = None
    x = torch.rand(4, 3, 966, 1296, device="cuda")
    u8 = torch.randint(0, 256, (4, 966, 1296, 3), device="cuda", dtype=torch.uint8)
    views = {
        # name -> (tensor, PyTorch's way to the same elements, stridecopy's view, CuPy's view)
        "[:, ::-1, :, :]": (x, lambda t: t.flip(1), lambda v: v[:, ::-1], lambda c: c[:, ::-1]),
        "[..., ::-1]": (x, lambda t: t.flip(3), lambda v: v[..., ::-1], lambda c: c[..., ::-1]),
        ".transpose(0, 2, 3, 1)": (x, lambda t: t.permute(0, 2, 3, 1), lambda v: v.transpose(0, 2, 3, 1),
                                   lambda c: c.transpose(0, 2, 3, 1)),
        "uint8 NHWC [..., ::-1]": (u8, lambda t: t.flip(3), lambda v: v[..., ::-1], lambda c: c[..., ::-1]),
    }
    out = {"device": torch.cuda.get_device_name()}
    for name, (t, torch_way, sc_way, cupy_way) in views.items():
        shape = tuple(torch_way(t).shape)
        pinned = torch.empty(shape, dtype=t.dtype, pin_memory=True)
        pinned_np = pinned.numpy()
        ways = {
            "stridecopy .numpy()": lambda: sc_way(sc.view(t)).numpy(),
            "stridecopy .numpy(out=pinned)": lambda: sc_way(sc.view(t)).numpy(out=pinned_np),
            "torch .cpu()": lambda: torch_way(t).cpu(),
            "torch .contiguous() + pinned non_blocking": lambda: (
                pinned.copy_(torch_way(t).contiguous(), non_blocking=True), torch.cuda.synchronize()),
        }
        if cupy is not None:
            c = cupy.from_dlpack(t)
            cpinned = cupyx.empty_pinned(shape, dtype=pinned_np.dtype)
            ways["cupy get(out=pinned)"] = lambda: (cupy_way(c).get(out=cpinned), cupy.cuda.Stream.null.synchronize())
        want = torch_way(t).cpu().numpy()
        assert sc_way(sc.view(t)).numpy().tobytes() == want.tobytes(), name
        times = {k: [] for k in ways}
        for fn in ways.values():
            fn()
        torch.cuda.synchronize()
        for _ in range(repeat):
            for k, fn in ways.items():
                torch.cuda.synchronize()
                times[k].append(timed(fn))
        med = {k: statistics.median(v) for k, v in times.items()}
        out[name] = {
            "bytes": int(want.nbytes),
            "seconds": times,
            "median_ms": {k: v * 1e3 for k, v in med.items()},
            "GB_per_s_median": {k: want.nbytes / v / 1e9 for k, v in med.items()},
            "speedup_vs_torch_cpu": med["torch .cpu()"] / med["stridecopy .numpy()"],
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=21, help="timed rounds per view (medians reported)")
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--no-gpu", action="store_true", help="host figures only")
    args = ap.parse_args()

    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__, "stridecopy": sc.__version__, "cuda_available": sc.cuda_available()},
        "loadavg_before": loadavg(),
    }
    result["host"] = bench_host(args.repeat)
    result["overhead_us_4KiB"] = bench_overhead()
    # The calling thread's CPU time: on a shared machine, wall time also counts the time others held the CPU.
    result["overhead_thread_cpu_us_4KiB"] = bench_overhead(timer=time.thread_time)
    result["gpu"] = {"skipped": "--no-gpu"} if args.no_gpu else bench_gpu(args.repeat)
    result["loadavg_after"] = loadavg()

    print(f"host ({result['machine']['cpu']}, {result['machine']['cores']} cores, load {result['loadavg_before']}):")
    for name, r in result["host"].items():
        m = r["median_ms"]
        print(f"  {name:24s} {r['bytes'] / MB:5.1f} MB  sc {m['stridecopy .numpy()']:7.2f} ms  "
              f"np.ascontiguousarray {m['np.ascontiguousarray']:7.2f} ms ({r['speedup_vs_np_ascontiguousarray']:.2f}x)  "
              f"| into warm: sc {m['stridecopy .numpy(out=warm)']:6.2f} ms  np.copyto {m['np.copyto(warm)']:6.2f} ms "
              f"({r['speedup_vs_np_copyto']:.2f}x)  [fastest rounds: {r['speedup_vs_np_ascontiguousarray_min']:.2f}x, "
              f"{r['speedup_vs_np_copyto_min']:.2f}x]")
    print("per call, 4 KiB view (us, best of 7 x 20000; wall time, and the thread's CPU time):")
    for name, us in result["overhead_us_4KiB"].items():
        print(f"  {name:38s} {us:6.2f} {result['overhead_thread_cpu_us_4KiB'][name]:6.2f}")
    gpu = result["gpu"]
    if "skipped" in gpu:
        print("gpu: skipped (" + gpu["skipped"] + ")")
    else:
        print("gpu (" + gpu["device"] + "):")
        for name, r in gpu.items():
            if name == "device":
                continue
            print(f"  {name:24s} " + "  ".join(f"{k} {v:.2f} ms" for k, v in r["median_ms"].items()))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print("wrote", args.json)


if __name__ == "__main__":
    main()
