# tests/python/test_gpu.py — the device paths from Python with PyTorch and CuPy: every view family
# to NumPy, to_device round trips through torch/cupy.from_dlpack, streams, .save, host to device.
# Each test skips where no CUDA device (or no PyTorch / CuPy) is present.
import gc
import threading
import time

import numpy as np
import pytest

import stridecopy as sc
from arrays import DLPackOnly, ml_dtypes, npy_bytes, random_key, same_array

FAMILY = {
    "[:, ::-1, :, :]": lambda x: x[:, ::-1, :, :],
    "[..., ::-1]": lambda x: x[..., ::-1],
    "[::2, 8:-8]": lambda x: x[::2, 8:-8],
    "[:, :, ::-1, ::-1]": lambda x: x[:, :, ::-1, ::-1],
    "[..., ::2]": lambda x: x[..., ::2],
    "transpose(0, 2, 3, 1)": lambda x: x.transpose(0, 2, 3, 1),
    "[1]": lambda x: x[1],
    "[None, :, 0]": lambda x: x[None, :, 0],
}


# ---- PyTorch


@pytest.mark.parametrize("name", list(FAMILY))
def test_torch_view_family_to_numpy(torch_cuda, name):
    torch = torch_cuda
    x = torch.rand(4, 3, 96, 128, device="cuda")
    expected = FAMILY[name](x.cpu().numpy()).copy(order="C")
    same_array(FAMILY[name](sc.view(x)).numpy(), expected)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "int8", "uint8", "int64", "bool",
                                   "complex64"])
def test_torch_dtypes(torch_cuda, dtype):
    torch = torch_cuda
    if dtype == "bfloat16" and ml_dtypes is None:
        pytest.skip("needs ml_dtypes")
    x = (torch.rand(2, 3, 17, 33, device="cuda") * 100).to(getattr(torch, dtype))
    got = sc.view(x)[:, ::-1, :, ::-1].numpy()
    ref = x.flip(1).flip(3).cpu()
    want = ref.float().numpy().astype(ml_dtypes.bfloat16) if dtype == "bfloat16" else ref.numpy()
    same_array(got, want)


def test_torch_random_views(torch_cuda, rng):
    torch = torch_cuda
    done = 0
    while done < 300:
        shape = tuple(int(n) for n in rng.integers(1, 7, int(rng.integers(1, 5))))
        x = torch.randint(0, 1 << 30, shape, device="cuda", dtype=torch.int32)
        a = x.cpu().numpy()
        key = random_key(rng, shape)
        full = key if any(k is Ellipsis for k in key) else key + (Ellipsis,)
        try:
            want = a[full]
        except (IndexError, ValueError, TypeError):
            continue
        if want.ndim > 8:
            continue
        same_array(sc.view(x)[key].numpy(), want.copy(order="C"))
        done += 1


def test_torch_to_device_round_trip(torch_cuda):
    torch = torch_cuda
    x = torch.rand(4, 3, 96, 128, device="cuda")
    d = sc.view(x)[:, ::-1].to_device()
    assert d.shape == (4, 3, 96, 128) and d.device == f"cuda:{x.device.index}"
    t = torch.from_dlpack(d)
    assert t.data_ptr() == d.data_ptr  # no copy
    assert torch.equal(t, x.flip(1))
    same_array(d.numpy(), x.flip(1).cpu().numpy())
    nhwc = torch.from_dlpack(sc.view(x).transpose(0, 2, 3, 1).to_device())
    assert torch.equal(nhwc, x.permute(0, 2, 3, 1).contiguous())


def test_torch_tensor_outlives_device_array_and_source(torch_cuda):
    torch = torch_cuda
    x = torch.arange(3 * 4 * 5, device="cuda", dtype=torch.float32).reshape(3, 4, 5)
    expected = x.flip(2).cpu()
    d = sc.view(x)[..., ::-1].to_device()
    t = torch.from_dlpack(d)
    del d, x
    gc.collect()
    torch.cuda.synchronize()
    assert torch.equal(t.cpu(), expected)
    del t
    gc.collect()
    torch.cuda.synchronize()


def test_torch_streams(torch_cuda):
    torch = torch_cuda
    s = torch.cuda.Stream()
    x = torch.rand(2, 3, 64, 64, device="cuda")
    with torch.cuda.stream(s):
        y = x * 2  # queued on s
        a = sc.view(y)[..., ::-1].numpy(stream=s)
        b = sc.view(y)[:, ::-1].numpy(stream=s.cuda_stream)
        d = sc.view(y)[:, ::-1].to_device(stream=s)
        t = torch.from_dlpack(d)  # torch passes its current stream (s)
    s.synchronize()
    same_array(a, (x * 2).flip(3).cpu().numpy())
    same_array(b, (x * 2).flip(1).cpu().numpy())
    assert torch.equal(t, (x * 2).flip(1))
    assert d.stream == s.cuda_stream


def test_torch_late_producer_read_and_written_on_another_stream(torch_cuda):
    # The producer's stream is held back by a spin before it writes; the copies run on another
    # stream, so each result is right only if DLPack's export made that stream wait for the producer.
    torch = torch_cuda
    producer, consumer = torch.cuda.Stream(), torch.cuda.Stream()
    x = torch.rand(2, 3, 256, 256, device="cuda")
    out = torch.zeros(2, 256, 256, 3, device="cuda")
    with torch.cuda.stream(producer):
        torch.cuda._sleep(50_000_000)  # tens of milliseconds on any card
        y = x * 3
        got = sc.view(y)[:, ::-1].numpy(stream=consumer)
        torch.cuda._sleep(50_000_000)
        z = x + 1
        sc.copyto(out.permute(0, 3, 1, 2), sc.view(z)[:, ::-1], stream=consumer)
    torch.cuda.synchronize()
    same_array(got, (x * 3).flip(1).cpu().numpy())
    assert torch.equal(out, (x + 1).flip(1).permute(0, 2, 3, 1))


def test_torch_pinned_out(torch_cuda):
    torch = torch_cuda
    x = torch.rand(4, 3, 96, 128, device="cuda")
    out = torch.empty(4, 3, 96, 128, pin_memory=True).numpy()
    assert sc.view(x)[:, ::-1].numpy(out=out) is out
    same_array(out, x.flip(1).cpu().numpy())


def test_torch_save(torch_cuda, tmp_path):
    torch = torch_cuda
    x = torch.rand(4, 3, 96, 128, device="cuda")
    sc.view(x)[:, ::-1].save(tmp_path / "bgr.npy")
    assert (tmp_path / "bgr.npy").read_bytes() == npy_bytes(x.flip(1).cpu().numpy())


def test_device_array_dlpack_arguments(torch_cuda):
    torch = torch_cuda
    d = sc.view(torch.ones(4, device="cuda")).to_device()
    assert d.__dlpack_device__() == (2, torch.cuda.current_device())
    d.__dlpack__(stream=-1)
    d.__dlpack__(stream=1, max_version=(1, 0))
    with pytest.raises(ValueError, match="stream 0"):
        d.__dlpack__(stream=0)
    with pytest.raises(BufferError):
        d.__dlpack__(dl_device=(1, 0))
    with pytest.raises(BufferError):
        d.__dlpack__(copy=True)
    cai = d.__cuda_array_interface__
    assert cai["shape"] == (4,) and cai["typestr"] == "<f4" and cai["data"][0] == d.data_ptr


def test_gil_released_during_device_copy(torch_cuda):
    torch = torch_cuda
    x = torch.rand(64, 1024, 1024, device="cuda")
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
        sc.view(x).transpose(2, 1, 0).numpy()
        during = ticks - before
    finally:
        running = False
        t.join()
    assert during > 1000


def test_torch_host_to_device(torch_cuda, rng):
    torch = torch_cuda
    a = rng.random((4, 3, 96, 128), dtype=np.float32)
    d = sc.view(a)[:, ::-1].to_device()
    assert torch.equal(torch.from_dlpack(d).cpu(), torch.from_numpy(a[:, ::-1].copy()))


def test_load_to_device(torch_cuda, tmp_path, rng):
    torch = torch_cuda
    a = rng.random((4, 3, 96, 128), dtype=np.float32)
    np.save(tmp_path / "a.npy", a)
    d = sc.load(tmp_path / "a.npy", index="[:, ::-1]", device="cuda")
    assert torch.equal(torch.from_dlpack(d).cpu(), torch.from_numpy(a[:, ::-1].copy()))


# ---- CuPy


class CudaInterfaceOnly:
    def __init__(self, a):
        self.a = a
        self.__cuda_array_interface__ = a.__cuda_array_interface__


def test_cupy_negative_strides(cupy_cuda):
    cp = cupy_cuda
    c = cp.arange(4 * 3 * 50 * 60, dtype=cp.float32).reshape(4, 3, 50, 60)[:, ::-1]  # CuPy keeps negative strides
    expected = cp.asnumpy(c)
    same_array(sc.view(c).numpy(), expected)  # its __cuda_array_interface__ (version 3)
    same_array(sc.view(CudaInterfaceOnly(c)).numpy(), expected)
    same_array(sc.view(c)[..., ::-1].numpy(), expected[..., ::-1].copy())
    t = c[:, ::-1].transpose(0, 2, 3, 1)  # positive strides: through CuPy's DLPack export
    same_array(sc.view(DLPackOnly(t))[..., ::-1].numpy(), cp.asnumpy(t)[..., ::-1].copy())


def test_cupy_round_trip_and_streams(cupy_cuda):
    cp = cupy_cuda
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        c = cp.random.random((4, 3, 50, 60), dtype=cp.float32) * 2
        d = sc.view(c)[:, ::-1].to_device(stream=s)
        via_dlpack = cp.from_dlpack(d)
        via_cai = cp.asarray(d)
        h = sc.view(c)[..., ::-1].numpy(stream=s)
    s.synchronize()
    expected = cp.asnumpy(c[:, ::-1])
    same_array(cp.asnumpy(via_dlpack), expected)
    same_array(cp.asnumpy(via_cai), expected)
    assert via_dlpack.data.ptr == d.data_ptr
    same_array(h, cp.asnumpy(c)[..., ::-1].copy())
