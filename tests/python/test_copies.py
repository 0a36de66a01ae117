# tests/python/test_copies.py — the ways out of a view on the host: .numpy(), .numpy(out=...),
# np.asarray(view), stream arguments, and the GIL released while a large copy runs.
import threading
import time

import numpy as np
import pytest

import stridecopy as sc
from arrays import DTYPES, no_device_message, random_array, same_array


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_out_fills_a_preallocated_array(rng, dtype):
    a = random_array(rng, (3, 5, 4), dtype)
    v = sc.view(a)[::-1, :, ::-2]
    out = np.empty(v.shape, a.dtype)
    assert v.numpy(out=out) is out
    same_array(out, a[::-1, :, ::-2].copy())


def test_out_accepts_a_contiguous_slice_of_a_bigger_array():
    a = np.arange(24, dtype=np.int16).reshape(4, 6)
    big = np.zeros((3, 4, 6), np.int16)
    sc.view(a)[::-1].numpy(out=big[1])
    same_array(big[1].copy(), a[::-1].copy())
    assert not big[0].any() and not big[2].any()


def test_array_protocol():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    v = sc.view(a)[:, ::-1]
    same_array(np.asarray(v), a[:, ::-1].copy())
    same_array(np.asarray(v, dtype=np.float64), a[:, ::-1].astype(np.float64))
    with pytest.raises(ValueError, match="always copies"):
        np.array(v, copy=False)


@pytest.mark.parametrize("stream", [0, 1, 2])
def test_host_views_take_a_stream(stream):
    # A host view given a stream is copied in that stream's order (the library's to_host); without
    # a device a stream orders nothing, and saying so beats ignoring it (test_errors.py).
    if not sc.cuda_available():
        pytest.skip("a stream needs a CUDA device")
    a = np.arange(100, dtype=np.uint8)
    same_array(sc.view(a)[::-1].numpy(stream=stream), a[::-1].copy())


def test_stream_objects_are_read():
    class Stream:
        def __cuda_stream__(self):
            return (0, 0)

    class BadStream:
        def __cuda_stream__(self):
            return (0, -3)

    a = np.arange(10)
    with pytest.raises(ValueError, match=r"__cuda_stream__\(\)\[1\] -3 is negative"):
        sc.view(a).numpy(stream=BadStream())
    if not sc.cuda_available():
        with pytest.raises(sc.CudaError, match=no_device_message()):
            sc.view(a).numpy(stream=Stream())
        return
    same_array(sc.view(a)[::-1].numpy(stream=Stream()), a[::-1].copy())


def test_gil_is_released_during_a_large_copy():
    a = np.ones((64, 1024, 1024), np.float32)  # 256 MiB: a copy of several tens of milliseconds
    v = sc.view(a).transpose(2, 1, 0)
    ticks = 0
    running = True

    def spin():
        nonlocal ticks
        while running:
            ticks += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        before = ticks
        start = time.perf_counter()
        r = v.numpy()
        elapsed = time.perf_counter() - start
        during = ticks - before
    finally:
        running = False
        t.join()
    assert r.shape == (1024, 1024, 64)
    # Holding the GIL, the spinning thread could not run at all while C++ copied.
    assert elapsed > 0.005
    assert during > 1000, (during, elapsed)
