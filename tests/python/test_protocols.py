# tests/python/test_protocols.py — sc.view of every way an array reaches it: the buffer protocol,
# DLPack (versioned and not, any type and device label), the array interfaces, PyTorch on the CPU.
import array
import gc

import numpy as np
import pytest

import stridecopy as sc
from fake_dlpack import Producer, bfloat16_producer
from arrays import ml_dtypes, random_array, same_array


class DLPackOnly:
    """Exposes only NumPy's DLPack methods, so sc.view must take the DLPack path."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, **kwargs):
        return self.a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


class LegacyDLPack(DLPackOnly):
    """A producer from before max_version: unknown keywords are a TypeError."""

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()


class ArrayInterfaceOnly:
    def __init__(self, a):
        self.a = a
        self.__array_interface__ = a.__array_interface__


class CudaInterfaceOnly:
    """Claims device memory at a host address (only a GPU machine would notice)."""

    def __init__(self, a):
        self.a = a
        ai = a.__array_interface__
        self.__cuda_array_interface__ = {"shape": ai["shape"], "typestr": ai["typestr"], "data": ai["data"],
                                         "strides": ai["strides"], "version": 3, "stream": None}


def test_dlpack_negative_strides(rng):
    a = random_array(rng, (4, 3, 5), np.float32)[::-1, :, ::-2]
    same_array(sc.view(DLPackOnly(a))[:, ::-1].numpy(), a[:, ::-1].copy())
    same_array(sc.view(LegacyDLPack(a))[..., ::-1].numpy(), a[..., ::-1].copy())


@pytest.mark.parametrize("dtype", ["?", "i1", "u2", "i4", "u8", "f2", "f4", "f8", "c8", "c16"])
def test_dlpack_dtypes(rng, dtype):
    a = random_array(rng, (3, 4), dtype).T
    v = sc.view(DLPackOnly(a))
    assert v.dtype == a.dtype
    same_array(v[::-1].numpy(), a[::-1].copy())


def test_fake_producer_versions_and_deleter(rng):
    a = random_array(rng, (5, 6), np.int32)
    for versioned in (True, False):
        p = Producer(a, code=0, bits=32, versioned=versioned)
        v = sc.view(p)
        same_array(v[::-1, 1::2].numpy(), a[::-1, 1::2].copy())
        assert p.deleted == 0
        w = v[1:]
        del v
        gc.collect()
        assert p.deleted == 0  # a sliced view still reads the export
        del w
        gc.collect()
        assert p.deleted == 1


def test_fake_producer_strides_in_elements(rng):
    a = random_array(rng, (4, 6), np.float64)
    p = Producer(a[::-1, ::2], code=2, bits=64)
    same_array(sc.view(p).numpy(), a[::-1, ::2].copy())


def test_dlpack_refusals(rng):
    a = random_array(rng, (2, 3), np.uint16)
    with pytest.raises(BufferError, match="version 2"):
        sc.view(Producer(a, code=1, bits=16, major=2))
    with pytest.raises(TypeError, match="lanes"):
        sc.view(Producer(a, code=1, bits=16, lanes=2))
    with pytest.raises(TypeError, match="code 7"):
        sc.view(Producer(a, code=7, bits=16))
    with pytest.raises(ValueError, match="device type 4"):
        sc.view(Producer(a, code=1, bits=16, device_type=4))
    p = Producer(a, code=1, bits=16, major=2)
    with pytest.raises(BufferError):
        sc.view(p)
    gc.collect()
    assert p.deleted == 1  # an export we cannot read is still released


def test_cuda_host_label_is_host_memory(rng):
    a = random_array(rng, (3, 4), np.uint8)
    v = sc.view(Producer(a, code=1, bits=8, device_type=3))
    assert v.device == "cpu"
    if not sc.cuda_available():  # on a GPU the library checks the label against the pointer
        same_array(v[:, ::-1].numpy(), a[:, ::-1].copy())


@pytest.mark.skipif(ml_dtypes is None, reason="needs ml_dtypes")
def test_dlpack_bfloat16():
    values = np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5
    p, _ = bfloat16_producer(values)
    v = sc.view(p)
    assert v.dtype == np.dtype(ml_dtypes.bfloat16)
    got = v[::-1].numpy()
    same_array(got, values[::-1].astype(ml_dtypes.bfloat16))


@pytest.mark.skipif(ml_dtypes is None, reason="needs ml_dtypes")
def test_numpy_bfloat16(rng):
    a = (rng.standard_normal((4, 5)).astype(np.float32)).astype(ml_dtypes.bfloat16)
    same_array(sc.view(a)[::-1, ::2].numpy(), a[::-1, ::2].copy())


def test_buffer_protocol_objects():
    same_array(sc.view(b"abcdef")[::-1].numpy(), np.frombuffer(b"fedcba", np.uint8))
    ba = bytearray(range(10))
    same_array(sc.view(ba)[::3].numpy(), np.arange(0, 10, 3, dtype=np.uint8))
    d = array.array("d", [1.0, 2.0, 3.0])
    same_array(sc.view(d)[::-1].numpy(), np.array([3.0, 2.0, 1.0]))
    n = np.arange(24, dtype=np.int16).reshape(4, 6)[::-1, ::2]
    same_array(sc.view(memoryview(n)).numpy(), n.copy())
    same_array(sc.view(memoryview(bytes(range(12))).cast("B", (3, 4))).T.numpy(),
               np.arange(12, dtype=np.uint8).reshape(3, 4).T.copy())


def test_array_interface_only(rng):
    a = random_array(rng, (3, 4, 2), np.complex64)[:, ::-1]
    same_array(sc.view(ArrayInterfaceOnly(a))[::2].numpy(), a[::2].copy())
    t = np.arange(6).astype("M8[s]").reshape(2, 3)
    same_array(sc.view(t)[:, ::-1].numpy(), t[:, ::-1].copy())


def test_cuda_array_interface(rng):
    a = random_array(rng, (3, 4), np.float32)
    v = sc.view(CudaInterfaceOnly(a[::-1]))
    assert v.device.startswith("cuda")
    assert v.shape == (3, 4) and v.strides == (-16, 4)
    if sc.cuda_available():
        with pytest.raises(ValueError, match="device memory"):  # host memory that says device
            v.numpy()
    else:
        with pytest.raises(sc.CudaError) as e:
            v.numpy()
        assert e.value.code == 100  # cudaErrorNoDevice


def test_views_are_lazy(rng):
    a = np.zeros((3, 4), np.float32)
    v = sc.view(a)[::-1]
    a[0, 0] = 7
    assert v.numpy()[2, 0] == 7


def test_not_an_array():
    with pytest.raises(TypeError, match="cannot view int"):
        sc.view(3)
    with pytest.raises(TypeError, match="object arrays"):
        sc.view(np.array([object(), 1], dtype=object))
    packed = np.zeros(4, dtype=[("x", "u1"), ("y", "<i4")])
    with pytest.raises(ValueError, match="not multiples of the itemsize"):
        sc.view(packed["y"])
    same_array(sc.view(packed["x"])[::-1].numpy(), packed["x"][::-1].copy())


def test_torch_cpu_tensors(rng):
    torch = pytest.importorskip("torch")
    t = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    same_array(sc.view(t)[:, ::-1].numpy(), t.numpy()[:, ::-1].copy())
    same_array(sc.view(t.transpose(0, 2))[..., ::-1].numpy(), t.transpose(0, 2).numpy()[..., ::-1].copy())
    if ml_dtypes is not None:
        b = t.to(torch.bfloat16)
        got = sc.view(b)[::-1].numpy()
        same_array(got, b.float().numpy()[::-1].astype(ml_dtypes.bfloat16))


def test_view_of_a_view():
    a = np.arange(6)
    v = sc.view(a)[::-1]
    same_array(sc.view(v).numpy(), a[::-1].copy())
