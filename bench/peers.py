#!/usr/bin/env python3
"""bench/peers.py — stridecopy beside what users do today, on the same GPU in the same run.

For the NCHW view family (bench/nchw_views.hpp, shapes as in bench/cuda_bench_util.cuh) and the sizes
of bench/d2h_bench.cu:
  * PyTorch: x.flip(dims).cpu() (pageable), and its best way: the contiguous-ising op into a
    preallocated pinned tensor with copy_(non_blocking=True) + synchronize; permutes as
    .permute(...).contiguous();
  * CuPy: cp.ascontiguousarray(view).get(out=cupyx.empty_pinned(...)), and cp.asnumpy(view);
  * NumPy on the host (np.ascontiguousarray) for the host path;
  * stridecopy's Python package on the same tensors (where it is installed): sc.view(x)[idx].numpy()
    (a new array, pinned, from the pool) and .numpy(out=) into the same pinned memory PyTorch's best
    way fills;
each timed with synchronised wall clock after a warm-up (median of --repeat), on fresh random data
(made once per size and dtype, shared by its views), with each peer's peak extra device memory.
stridecopy's own figures (the same-run limit and its strategies) come from a d2h_bench JSON: the one
given with --ours-json (tools/gpu_check.sh passes the one its benchmark step wrote), else a run of
build/bench/d2h_bench filtered to the same cases with --iterations. Writes
bench/results/peers-<card>-<date>.json (rewritten after every case, so a stopped run keeps what it
measured) and a PNG plot of achieved bandwidth.

    python3 bench/peers.py [--build build-gpu] [--repeat 10] [--sizes 4KiB,1MiB,64MiB,1GiB]
                           [--dtypes f32,f16,u8] [--ours-json d2h_bench.json] [--out FILE]
"""
import argparse
import datetime
import json
import math
import gc
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

VIEWS = ["channel_reverse", "row_reverse", "plane_reverse", "step2", "crop", "nchw_to_nhwc", "nhwc_channel_reverse"]
DTYPES = {"f32": np.float32, "f16": np.float16, "u8": np.uint8}
SIZES = {"4KiB": 4 << 10, "1MiB": 1 << 20, "64MiB": 64 << 20, "1GiB": 1 << 30}


def nchw_shape_for(nbytes, itemsize):
    """The same shape bench/cuda_bench_util.cuh's nchw_shape_for picks."""
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


class Inputs:
    """The arrays of one (shape, dtype), made once for all its views; dropped before the next one."""

    def __init__(self):
        self.key = None
        self.store = {}

    def get(self, key, peer, make):
        if key != self.key:
            self.drop()
            self.key = key
        if peer not in self.store:
            self.store[peer] = make()
        return self.store[peer]

    def drop(self):
        self.store.clear()
        self.key = None
        gc.collect()
        if "torch" in sys.modules:
            sys.modules["torch"].cuda.empty_cache()
        if "cupy" in sys.modules:
            sys.modules["cupy"].get_default_memory_pool().free_all_blocks()
            sys.modules["cupy"].get_default_pinned_memory_pool().free_all_blocks()


INPUTS = Inputs()


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

    def make():
        n, c, h, w = shape
        gen = torch.Generator(device="cuda").manual_seed(int.from_bytes(os.urandom(4), "little"))
        if dt == torch.uint8:
            x = torch.randint(0, 256, shape, dtype=dt, device="cuda", generator=gen)
            xh = torch.randint(0, 256, (n, h, w, c), dtype=dt, device="cuda", generator=gen)
        else:
            x = torch.rand(shape, dtype=dt, device="cuda", generator=gen)
            xh = torch.rand((n, h, w, c), dtype=dt, device="cuda", generator=gen)
        return x, xh, torch.empty(x.numel(), dtype=dt, pin_memory=True)  # pinned room for any view's output

    x, xh, pinned_all = INPUTS.get((shape, dtype_name), "torch", make)
    out_shape = torch_view(x, xh, name, torch).shape
    pinned = pinned_all[:math.prod(out_shape)].view(out_shape)
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
    row = {"torch_cpu_ms": t_cpu, "torch_pinned_ms": t_best, "torch_extra_device_bytes": max(peak_cpu, peak_best),
           "bytes": nbytes, "torch": torch.__version__}
    try:
        import stridecopy as sc
    except ImportError:
        return row
    # The same views of the same tensors through the Python package: NumPy's indexing, no copy until .numpy().
    v = numpy_view(sc.view(x), sc.view(xh), name)
    into = pinned.numpy()  # PyTorch's pinned tensor as a NumPy array: the same memory
    row["sc_numpy_ms"] = median_time(lambda: v.numpy(), sync, repeat)
    row["sc_numpy_out_ms"] = median_time(lambda: v.numpy(out=into), sync, repeat)
    return row


def run_cupy(shape, dtype_name, name, repeat):
    import cupy as cp
    import cupyx
    dt = DTYPES[dtype_name]

    def make():
        n, c, h, w = shape
        rng = cp.random.default_rng()
        if dt == np.uint8:
            a = rng.integers(0, 256, shape, dtype=cp.uint8)
            ah = rng.integers(0, 256, (n, h, w, c), dtype=cp.uint8)
        else:
            a = rng.random(shape, dtype=cp.float32).astype(dt)
            ah = rng.random((n, h, w, c), dtype=cp.float32).astype(dt)
        return a, ah, cupyx.empty_pinned(a.size, dtype=a.dtype)  # pinned room for any view's output

    a, ah, pinned_all = INPUTS.get((shape, dtype_name), "cupy", make)
    v = numpy_view(a, ah, name)
    pinned = pinned_all[:v.size].reshape(v.shape)
    pool = cp.get_default_memory_pool()
    sync = cp.cuda.Device().synchronize
    sync()
    pool.free_all_blocks()  # the previous view's temporaries: not this view's extra memory
    base = pool.used_bytes()
    t_best = median_time(lambda: cp.ascontiguousarray(v).get(out=pinned), sync, repeat)
    t_asnumpy = median_time(lambda: cp.asnumpy(v), sync, repeat)
    extra = pool.total_bytes() - base
    return {"cupy_pinned_ms": t_best, "cupy_asnumpy_ms": t_asnumpy, "cupy_extra_device_bytes": int(extra), "cupy": cp.__version__}


def random_host(rng, shape, dt):
    if dt == np.uint8:
        return np.frombuffer(rng.bytes(math.prod(shape)), dtype=np.uint8).reshape(shape).copy()
    return rng.random(shape, dtype=np.float32).astype(dt, copy=False)


def run_numpy(shape, dtype_name, name, repeat):
    def make():
        n, c, h, w = shape
        rng = np.random.default_rng()
        return random_host(rng, shape, DTYPES[dtype_name]), random_host(rng, (n, h, w, c), DTYPES[dtype_name])

    a, ah = INPUTS.get((shape, dtype_name), "numpy", make)
    v = numpy_view(a, ah, name)
    return {"numpy_ms": median_time(lambda: np.ascontiguousarray(v), lambda: None, repeat), "bytes": v.nbytes}


def bench_size_name(s):
    """d2h_bench's size segment of a --sizes name: 1GiB is "1024MiB" there."""
    n = SIZES[s]
    return f"{n >> 10}KiB" if n < (1 << 20) else f"{n >> 20}MiB"


def case_name(run_name):
    """A benchmark's case without Google Benchmark's suffixes (/iterations:N, /repeats:N, /manual_time)."""
    return re.sub(r"/(iterations|repeats|min_time|threads):[^/]*|/manual_time|/real_time", "", run_name)


def run_ours(build, repeat, cases, iterations, ours_json=None, methods="limit|auto|staged|dma|direct"):
    """stridecopy's rows {(dtype, size, view): {...}}: from `ours_json` when given, else a filtered run."""
    if ours_json:
        out = ours_json
    else:
        exe = os.path.join(build, "bench", "d2h_bench")
        if not os.path.exists(exe):
            return {}
        # Names are d2h/<method>/<dtype>/<size>/<view>[/iterations:N]/manual_time: end the view with "/".
        filt = "|".join(f"^d2h/({methods})/{d}/{bench_size_name(s)}/{v}/" for d, s, v in cases)
        out = "/tmp/stridecopy_peers_d2h.json"
        subprocess.run([exe, f"--iterations={iterations}", f"--benchmark_filter={filt}",
                        f"--benchmark_repetitions={max(3, repeat // 2)}", "--benchmark_report_aggregates_only=true",
                        f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       check=True, stdout=subprocess.DEVNULL)
    if not os.path.exists(out):  # no GPU: d2h_bench measured nothing
        return {}
    size_of = {bench_size_name(s): s for s in SIZES}
    rows = {}
    for b in json.load(open(out))["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        parts = case_name(b["run_name"]).split("/")
        if parts[0] != "d2h" or len(parts) != 5:
            continue
        method, key = parts[1], (parts[2], size_of.get(parts[3], parts[3]), parts[4])
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
    ap.add_argument("--ours-json", default=None,
                    help="stridecopy's figures from this d2h_bench JSON (median aggregates) instead of a new run")
    ap.add_argument("--iterations", type=int, default=10, help="d2h_bench --iterations when it is run here")
    ap.add_argument("--ours-methods", default="limit|auto|staged|dma|direct",
                    help="the d2h_bench methods run here (a regex alternation) when there is no --ours-json")
    ap.add_argument("--numpy-sizes", default=None,
                    help="sizes at which NumPy's host copy is timed (default: every size of --sizes)")
    args = ap.parse_args()
    numpy_sizes = set((args.numpy_sizes or args.sizes).split(","))
    card = "cpu"
    try:
        import torch
        card = torch.cuda.get_device_name().replace(" ", "_")
    except Exception:  # noqa: BLE001 - no torch: NumPy and stridecopy only
        pass
    stamp = datetime.date.today().isoformat()
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"peers-{card}-{stamp}.json")
    cases = [(d, s, v) for s in args.sizes.split(",") for d in args.dtypes.split(",") for v in VIEWS]
    ours = run_ours(args.build, args.repeat, cases, args.iterations, args.ours_json, args.ours_methods)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    command = "python3 bench/peers.py " + " ".join(sys.argv[1:])
    rows = []
    for d, s, v in cases:
        shape = nchw_shape_for(SIZES[s], np.dtype(DTYPES[d]).itemsize)
        row = {"dtype": d, "size": s, "view": v, "shape": shape}
        for runner in (run_torch, run_cupy, run_numpy):
            if runner is run_numpy and s not in numpy_sizes:
                continue
            try:
                row.update(runner(shape, d, v, args.repeat))
            except ImportError:
                pass
        row.update(ours.get((d, s, v), {}))
        rows.append(row)
        print(json.dumps(row), flush=True)
        write_json(out, {"date": stamp, "card": card, "command": command, "complete": False, "rows": rows})
    INPUTS.drop()
    write_json(out, {"date": stamp, "card": card, "command": command, "complete": True, "rows": rows})
    try:
        plot(rows, out.replace(".json", ".png"))
    except ImportError:
        pass
    print("wrote", out)
    return 0


def write_json(path, obj):
    """Writes `obj` whole or not at all (a temporary, then a rename)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


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
    ax.set_title("device to host, float32, the NCHW view family")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
