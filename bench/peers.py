#!/usr/bin/env python3
"""bench/peers.py — stridecopy beside what users do today, on the same GPU in the same run.

For the seed family (the views of bench/cuda_bench_util.cuh) and the sizes of bench/d2h_bench.cu:
  * PyTorch: x.flip(dims).cpu() (pageable), and its best way: the contiguous-ising op into a
    preallocated pinned tensor with copy_(non_blocking=True) + synchronize; permutes as
    .permute(...).contiguous();
  * CuPy: cp.ascontiguousarray(view).get(out=cupyx.empty_pinned(...)), and cp.asnumpy(view);
  * NumPy on the host (np.ascontiguousarray) for the host path;
each timed with synchronised wall clock after a warm-up (median of --repeat), on fresh random data,
with each peer's peak extra device memory. Then runs build/bench/d2h_bench on the same cases (the
same-run limit and stridecopy's strategies) and writes bench/results/peers-<card>-<date>.json, a
Markdown table and a PNG plot of achieved bandwidth.

    python3 bench/peers.py [--build build-gpu] [--repeat 10] [--sizes 4KiB,1MiB,64MiB,1GiB] [--out FILE]
"""
import argparse
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

VIEWS = ["channel_reverse", "row_reverse", "plane_reverse", "step2", "crop", "nchw_to_nhwc", "nhwc_channel_reverse"]
DTYPES = {"f32": np.float32, "f16": np.float16, "u8": np.uint8}
SIZES = {"4KiB": 4 << 10, "1MiB": 1 << 20, "64MiB": 64 << 20, "1GiB": 1 << 30}


def seed_shape_for(nbytes, itemsize):
    """The same shape bench/cuda_bench_util.cuh's seed_shape_for picks."""
    pixels = nbytes / itemsize / 12.0
    w = int(round(math.sqrt(pixels * 1296.0 / 966.0)))
    w = max(32, w // 16 * 16)
    h = max(20, int(pixels / w))
    return (4, 3, h, w)


def numpy_view(a, nhwc, name):
    return {
        "channel_reverse": lambda: a[:, ::-1, :, :],
        "row_reverse": lambda: a[..., ::-1],
        "plane_reverse": lambda: a[:, :, ::-1, ::-1],
        "step2": lambda: a[..., ::2],
        "crop": lambda: a[:, :, 8:-8, 8:-8],
        "nchw_to_nhwc": lambda: a.transpose(0, 2, 3, 1),
        "nhwc_channel_reverse": lambda: nhwc[..., ::-1],
    }[name]()


def torch_view(x, xh, name, torch):
    """PyTorch cannot hold negative strides: each reverse is a flip (a copy) by construction."""
    return {
        "channel_reverse": lambda: torch.flip(x, (1,)),
        "row_reverse": lambda: torch.flip(x, (3,)),
        "plane_reverse": lambda: torch.flip(x, (2, 3)),
        "step2": lambda: x[..., ::2].contiguous(),
        "crop": lambda: x[:, :, 8:-8, 8:-8].contiguous(),
        "nchw_to_nhwc": lambda: x.permute(0, 2, 3, 1).contiguous(),
        "nhwc_channel_reverse": lambda: torch.flip(xh, (3,)),
    }[name]()


def median_time(fn, sync, repeat):
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def run_torch(shape, dtype_name, name, repeat):
    import torch
    dt = {"f32": torch.float32, "f16": torch.float16, "u8": torch.uint8}[dtype_name]
    n, c, h, w = shape
    gen = torch.Generator(device="cuda").manual_seed(int(time.time()))
    if dt == torch.uint8:
        x = torch.randint(0, 256, shape, dtype=dt, device="cuda", generator=gen)
        xh = torch.randint(0, 256, (n, h, w, c), dtype=dt, device="cuda", generator=gen)
    else:
        x = torch.rand(shape, dtype=dt, device="cuda", generator=gen)
        xh = torch.rand((n, h, w, c), dtype=dt, device="cuda", generator=gen)
    out_shape = torch_view(x, xh, name, torch).shape
    pinned = torch.empty(out_shape, dtype=dt, pin_memory=True)
    sync = torch.cuda.synchronize
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    t_cpu = median_time(lambda: torch_view(x, xh, name, torch).cpu(), sync, repeat)
    peak_cpu = torch.cuda.max_memory_allocated() - base
    torch.cuda.reset_peak_memory_stats()
    t_best = median_time(lambda: pinned.copy_(torch_view(x, xh, name, torch), non_blocking=True), sync, repeat)
    peak_best = torch.cuda.max_memory_allocated() - base
    nbytes = pinned.numel() * pinned.element_size()
    return {"torch_cpu_ms": t_cpu, "torch_pinned_ms": t_best, "torch_extra_device_bytes": max(peak_cpu, peak_best),
            "bytes": nbytes, "torch": torch.__version__}


def run_cupy(shape, dtype_name, name, repeat):
    import cupy as cp
    import cupyx
    n, c, h, w = shape
    rng = cp.random.default_rng()
    dt = DTYPES[dtype_name]
    if dt == np.uint8:
        a = rng.integers(0, 256, shape, dtype=cp.uint8)
        ah = rng.integers(0, 256, (n, h, w, c), dtype=cp.uint8)
    else:
        a = rng.random(shape, dtype=cp.float32).astype(dt)
        ah = rng.random((n, h, w, c), dtype=cp.float32).astype(dt)
    v = numpy_view(a, ah, name)
    pinned = cupyx.empty_pinned(v.shape, dtype=v.dtype)
    pool = cp.get_default_memory_pool()
    sync = cp.cuda.Device().synchronize
    sync()
    base = pool.used_bytes()
    t_best = median_time(lambda: cp.ascontiguousarray(v).get(out=pinned), sync, repeat)
    t_asnumpy = median_time(lambda: cp.asnumpy(v), sync, repeat)
    extra = pool.total_bytes() - base
    return {"cupy_pinned_ms": t_best, "cupy_asnumpy_ms": t_asnumpy, "cupy_extra_device_bytes": int(extra), "cupy": cp.__version__}


def run_numpy(shape, dtype_name, name, repeat):
    n, c, h, w = shape
    rng = np.random.default_rng()
    a = (rng.random(shape, dtype=np.float32) * 255).astype(DTYPES[dtype_name])
    ah = (rng.random((n, h, w, c), dtype=np.float32) * 255).astype(DTYPES[dtype_name])
    v = numpy_view(a, ah, name)
    return {"numpy_ms": median_time(lambda: np.ascontiguousarray(v), lambda: None, repeat), "bytes": v.nbytes}


def run_ours(build, repeat, cases):
    exe = os.path.join(build, "bench", "d2h_bench")
    if not os.path.exists(exe):
        return {}
    filt = "|".join(f"d2h/(limit|auto|staged|dma|direct)/{d}/{s}/{v}$" for d, s, v in cases)
    out = "/tmp/stridecopy_peers_d2h.json"
    subprocess.run([exe, f"--benchmark_filter={filt}", f"--benchmark_repetitions={max(3, repeat // 2)}",
                    "--benchmark_report_aggregates_only=true", f"--benchmark_out={out}", "--benchmark_out_format=json"],
                   check=True, stdout=subprocess.DEVNULL)
    if not os.path.exists(out):  # no GPU: d2h_bench measured nothing
        return {}
    rows = {}
    for b in json.load(open(out))["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        parts = b["run_name"].split("/manual_time")[0].split("/")
        method, key = parts[1], tuple(parts[2:5])
        ms = b["real_time"] * {"s": 1e3, "ms": 1.0, "us": 1e-3, "ns": 1e-6}[b["time_unit"]]
        rows.setdefault(key, {})[f"stridecopy_{method}_ms"] = ms
        rows[key]["scratch_bytes"] = b.get("scratch_bytes", 0)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-gpu")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--sizes", default="4KiB,1MiB,64MiB,1GiB")
    ap.add_argument("--dtypes", default="f32,f16,u8")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    card = "cpu"
    try:
        import torch
        card = torch.cuda.get_device_name().replace(" ", "_")
    except Exception:  # noqa: BLE001 - no torch: NumPy and stridecopy only
        pass
    stamp = datetime.date.today().isoformat()
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"peers-{card}-{stamp}.json")
    cases = [(d, s, v) for s in args.sizes.split(",") for d in args.dtypes.split(",") for v in VIEWS]
    ours = run_ours(args.build, args.repeat, cases)
    rows = []
    for d, s, v in cases:
        shape = seed_shape_for(SIZES[s], np.dtype(DTYPES[d]).itemsize)
        row = {"dtype": d, "size": s, "view": v, "shape": shape}
        for runner in (run_torch, run_cupy, run_numpy):
            try:
                row.update(runner(shape, d, v, args.repeat))
            except ImportError:
                pass
        row.update(ours.get((d, s, v), {}))
        rows.append(row)
        print(json.dumps(row), flush=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    json.dump({"date": stamp, "card": card, "command": "python3 bench/peers.py " + " ".join(sys.argv[1:]), "rows": rows},
              open(out, "w"), indent=1)
    try:
        plot(rows, out.replace(".json", ".png"))
    except ImportError:
        pass
    print("wrote", out)
    return 0


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = [("stridecopy_auto_ms", "stridecopy"), ("stridecopy_limit_ms", "limit (contiguous pinned D2H)"),
              ("torch_cpu_ms", "torch .cpu()"), ("torch_pinned_ms", "torch -> pinned"), ("cupy_pinned_ms", "cupy -> pinned")]
    f32 = [r for r in rows if r["dtype"] == "f32"]
    labels = [f"{r['view']}\n{r['size']}" for r in f32]
    fig, ax = plt.subplots(figsize=(max(8, len(labels) * 0.6), 5))
    width = 0.8 / len(series)
    for i, (key, name) in enumerate(series):
        vals = []
        for r in f32:
            nbytes = r.get("bytes") or 0
            vals.append(nbytes / (r[key] * 1e6) if key in r and nbytes else 0)
        ax.bar([j + i * width for j in range(len(vals))], vals, width, label=name)
    ax.set_xticks([j + 0.4 for j in range(len(labels))])
    ax.set_xticklabels(labels, rotation=90, fontsize=7)
    ax.set_ylabel("GB/s (output bytes)")
    ax.set_title("device to host, float32 seed family")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
