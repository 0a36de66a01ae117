# tests/python/test_sim_gpu.py — the package's GPU paths against the CUDA runtime simulator: views of
# device memory through __cuda_array_interface__ and DLPack with the producer's stream honoured,
# consumers on other streams and devices, DeviceArray exports and the lifetime of their memory,
# .npy loads to the device. Runs where the package is built against the simulator
# (STRIDECOPY_SIM_LIBRARY, tools/run_simulator.sh); every test ends with no report from it.
import gc

import numpy as np
import pytest

import stridecopy as sc
from arrays import DLPackOnly, same_array
import sim_cuda

pytestmark = pytest.mark.skipif(
    sim_cuda.runtime() is None or not sc.cuda_available(), reason="needs the package built against the simulator"
)


@pytest.fixture(autouse=True)
def no_reports():
    if sim_cuda.runtime() is not None:
        sim_cuda.take_reports()
    yield
    if sim_cuda.runtime() is not None:
        sim_cuda.synchronize()
        gc.collect()
        sim_cuda.synchronize()
        assert sim_cuda.take_reports() == ""


class InterfaceOnly:
    def __init__(self, a):
        self.a = a

    @property
    def __cuda_array_interface__(self):
        return self.a.__cuda_array_interface__


def values(rng, shape=(2, 3, 40, 56), dtype=np.float32):
    return rng.random(shape).astype(dtype)


@pytest.mark.parametrize("protocol", ["cuda_array_interface", "dlpack"])
@pytest.mark.parametrize("index", [(), (slice(None), slice(None, None, -1)), (Ellipsis, slice(None, None, -2))])
def test_a_view_waits_for_the_producers_stream(rng, protocol, index):
    a = values(rng)
    p = sim_cuda.DeviceProducer(a, index, delay_us=20000)  # the producer's write runs late
    try:
        src = InterfaceOnly(p) if protocol == "cuda_array_interface" else DLPackOnly(p)
        same_array(sc.view(src)[..., ::-1].numpy(), p.expected[..., ::-1].copy())
    finally:
        p.close()


def test_a_consumer_stream_other_than_the_producers(rng):
    a = values(rng)
    p = sim_cuda.DeviceProducer(a, (slice(None, None, -1),), delay_us=20000)
    s = sim_cuda.stream()
    try:
        got = sc.view(InterfaceOnly(p)).transpose(0, 2, 3, 1).numpy(stream=s)
        same_array(got, p.expected.transpose(0, 2, 3, 1).copy())
        out = np.empty(p.expected[:, ::-1].shape, np.float32)
        sc.view(DLPackOnly(p))[:, ::-1].numpy(out=out, stream=s)
        same_array(out, p.expected[:, ::-1].copy())
    finally:
        p.close()


def test_views_from_the_array_interface_order_after_its_stream_with_one_reused_event(rng):
    a = values(rng)
    p = sim_cuda.DeviceProducer(a, (slice(None, None, -1),), delay_us=2000)
    s = sim_cuda.stream()
    try:
        sc.view(InterfaceOnly(p))[..., ::-1].numpy(stream=s)  # the first may make the event
        created = sim_cuda.calls("cudaEventCreateWithFlags")
        destroyed = sim_cuda.calls("cudaEventDestroy")
        for k in range(8):
            p.rewrite(a + k, delay_us=2000)  # each copy must see its own producer's late write
            same_array(sc.view(InterfaceOnly(p))[..., ::-1].numpy(stream=s), p.expected[..., ::-1].copy())
        assert sim_cuda.calls("cudaEventCreateWithFlags") == created
        assert sim_cuda.calls("cudaEventDestroy") == destroyed
    finally:
        p.close()


def test_to_device_and_dlpack_consumers_on_their_own_streams(rng):
    a = values(rng)
    p = sim_cuda.DeviceProducer(a, (), delay_us=10000)
    s = sim_cuda.stream()
    try:
        d = sc.view(p)[:, ::-1, :, ::-1].to_device(stream=s)
        expected = a[:, ::-1, :, ::-1].copy()
        assert d.shape == expected.shape and d.stream == s
        consumer = sim_cuda.DLPackConsumer(d, expected.nbytes, delay_us=20000)
        same_array(consumer.result(np.float32, expected.shape), expected)
        same_array(d.numpy(), expected)
        same_array(sc.view(d)[::-1].numpy(), expected[::-1].copy())
    finally:
        p.close()


def test_host_views_to_the_device(rng):
    a = values(rng, dtype=np.float16)
    d = sc.view(a)[..., ::-1].to_device()
    same_array(d.numpy(), a[..., ::-1].copy())
    consumer = sim_cuda.DLPackConsumer(d, d.nbytes, delay_us=5000)
    same_array(consumer.result(np.float16, d.shape), a[..., ::-1].copy())


def test_load_to_the_device(rng, tmp_path):
    a = values(rng)
    np.save(tmp_path / "a.npy", a)
    d = sc.load(tmp_path / "a.npy", index="[:, ::-1]", device="cuda")
    same_array(d.numpy(), a[:, ::-1].copy())


def reuse_device_memory(nbytes, rng):
    """Allocates and writes device memory of nbytes, as the next user of a freed block would."""
    junk = sc.view(rng.random(nbytes // 4).astype(np.float32)).to_device()
    return junk


def test_dlpack_export_free_waits_for_the_consumer(rng):
    # The consumer's read is queued on its stream, then the capsule and the array are dropped: the
    # memory may be handed out again only after that read.
    a = values(rng)
    d = sc.view(a)[:, ::-1].to_device()
    expected = a[:, ::-1].copy()
    consumer = sim_cuda.DLPackConsumer(d, expected.nbytes, delay_us=30000)
    del d
    gc.collect()
    junk = reuse_device_memory(expected.nbytes, rng)
    same_array(consumer.result(np.float32, expected.shape), expected)
    del junk


def test_cuda_array_interface_export_free_waits_for_work_on_the_device(rng):
    # Consumers through __cuda_array_interface__ name no stream: the free waits for the device.
    a = values(rng)
    d = sc.view(a)[..., ::-1].to_device()
    expected = a[..., ::-1].copy()
    cai = d.__cuda_array_interface__
    s = sim_cuda.stream()
    sim_cuda.sleep(s, 30000)
    staged = sc.view(np.zeros_like(expected)).to_device()  # somewhere to read into, on the device
    rt = sim_cuda.runtime()
    sim_cuda.check(rt.cudaMemcpyAsync(staged.data_ptr, cai["data"][0], expected.nbytes, 3, s), "cudaMemcpyAsync")
    del d, cai
    gc.collect()
    junk = reuse_device_memory(expected.nbytes, rng)
    sim_cuda.synchronize(s)
    same_array(staged.numpy(), expected)
    del junk


def test_an_integer_stream_may_be_destroyed_before_the_array(rng):
    a = values(rng)
    s = sim_cuda.stream()
    d = sc.view(a)[:, ::-1].to_device(stream=s)
    same_array(d.numpy(), a[:, ::-1].copy())
    sim_cuda.synchronize(s)
    sim_cuda.check(sim_cuda.runtime().cudaStreamDestroy(s), "cudaStreamDestroy")
    del d
    gc.collect()


def test_an_array_on_another_device_than_the_current_one(rng):
    if sim_cuda.device_count() < 2:
        pytest.skip("needs two simulated devices")
    a = values(rng)
    p = sim_cuda.DeviceProducer(a, (slice(None, None, -1),), delay_us=10000, device=1)
    try:
        d = sc.view(p)[..., ::-1].to_device()  # on the view's device, device 0 current
        assert d.device == "cuda:1"
        expected = p.expected[..., ::-1].copy()
        same_array(d.numpy(), expected)
        consumer = sim_cuda.DLPackConsumer(d, expected.nbytes, delay_us=20000, device=1)
        del d
        gc.collect()
        same_array(consumer.result(np.float32, expected.shape), expected)
    finally:
        p.close()


class ReadOnlyInterface:
    def __init__(self, a):
        self.a = a

    @property
    def __cuda_array_interface__(self):
        d = dict(self.a.__cuda_array_interface__)
        d["data"] = (d["data"][0], True)
        return d


def test_copyto_between_device_and_host_views(rng):
    a = values(rng)
    p = sim_cuda.DeviceProducer(a, (slice(None), slice(None, None, -1)), delay_us=20000)
    s = sim_cuda.stream()
    try:
        # Device into a strided device destination, after the producer's late write.
        d = sc.view(np.zeros((2, 40, 56, 3), np.float32)).to_device()
        sc.view(d).transpose(0, 3, 1, 2)[...] = InterfaceOnly(p)
        same_array(d.numpy(), a[:, ::-1].transpose(0, 2, 3, 1).copy())
        # Device into a strided host destination, on another stream.
        out = np.zeros((2, 3, 56, 40), np.float32)
        sc.copyto(out.transpose(0, 1, 3, 2)[:, :, ::-1], DLPackOnly(p), stream=s)
        same_array(out.transpose(0, 1, 3, 2)[:, :, ::-1].copy(), a[:, ::-1].copy())
        # A host view broadcast into device memory.
        sc.copyto(d, a[0, 0, 0, :3])
        same_array(d.numpy(), np.broadcast_to(a[0, 0, 0, :3], d.shape).copy())
    finally:
        p.close()


def test_copyto_a_device_destination_waits_for_its_producer(rng):
    a = values(rng)
    p = sim_cuda.DeviceProducer(np.zeros_like(a), (), delay_us=20000)  # zeros, written late
    try:
        sc.copyto(p, sc.view(a)[:, ::-1])  # must land after the producer's write, not under it
        same_array(sc.view(p).numpy(), a[:, ::-1].copy())
        with pytest.raises(ValueError, match="read-only"):
            sc.copyto(ReadOnlyInterface(p), a)
        same_array(sc.view(p).numpy(), a[:, ::-1].copy())
    finally:
        p.close()
