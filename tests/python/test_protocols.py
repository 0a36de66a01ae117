# tests/python/test_protocols.py — sc.view of every way an array reaches it (the buffer protocol,
# DLPack, the array interfaces, PyTorch on the CPU), their malformed values, and a View handed on.
import array
import ctypes
import gc

import numpy as np
import pytest

import stridecopy as sc
from fake_dlpack import Producer, bfloat16_producer
from arrays import DLPackOnly, ml_dtypes, npy_bytes, random_array, same_array


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


def test_ctypes_arrays_export_no_strides():
    # ctypes hands out buffers with strides NULL, the buffer protocol's C-contiguous.
    one = (ctypes.c_double * 5)(*[0.5 * i for i in range(5)])
    same_array(sc.view(one).numpy(), np.asarray(one).copy())
    same_array(sc.view(one)[::-2].numpy(), np.asarray(one)[::-2].copy())
    two = ((ctypes.c_int16 * 3) * 4)()
    np.asarray(two)[...] = np.arange(12, dtype=np.int16).reshape(4, 3)
    same_array(sc.view(two)[::-1, 1:].numpy(), np.asarray(two)[::-1, 1:].copy())
    same_array(sc.view(ctypes.c_int32(7)).numpy(), np.array(7, np.int32))


def test_memoryview_of_records_keeps_the_fields(rng):
    dt = np.dtype([("a", "<f4"), ("b", "<i2"), ("c", "S3"), ("d", "<u2", (2,))])
    a = np.frombuffer(rng.bytes(6 * dt.itemsize), dt).reshape(2, 3)
    v = sc.view(memoryview(a))
    assert v.dtype == a.dtype
    same_array(v[:, ::-1].numpy(), a[:, ::-1].copy())
    assert v[::-1].numpy().dtype.names == ("a", "b", "c", "d")


NARROW_ML_DTYPES = ["float8_e4m3fn", "float8_e4m3b11fnuz", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
                    "float8_e8m0fnu", "int4", "uint4", "int2", "uint2", "float4_e2m1fn", "float6_e2m3fn",
                    "float6_e3m2fn"]


@pytest.mark.skipif(ml_dtypes is None, reason="needs ml_dtypes")
@pytest.mark.parametrize("name", NARROW_ML_DTYPES)
def test_narrow_ml_dtypes_keep_their_dtype(tmp_path, rng, name):
    t = getattr(ml_dtypes, name, None)
    if t is None:
        pytest.skip(f"this ml_dtypes has no {name}")
    a = np.frombuffer(rng.bytes(24), np.uint8).view(t).reshape(4, 6)
    v = sc.view(a)
    assert v.dtype == a.dtype
    got = v[::-1, 1::2].numpy()
    assert got.dtype == a.dtype
    assert got.tobytes() == a[::-1, 1::2].tobytes()
    v[::-1].save(tmp_path / "a.npy")
    assert (tmp_path / "a.npy").read_bytes() == npy_bytes(np.ascontiguousarray(a[::-1]))


class RefusingProducer:
    """A tensor whose __dlpack__ refuses, as PyTorch refuses one that requires grad."""

    def __dlpack__(self, **kwargs):
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")

    def __dlpack_device__(self):
        return (1, 0)


def test_dlpack_refusal_names_the_reason_and_chains_it():
    with pytest.raises(TypeError) as e:
        sc.view(RefusingProducer())
    msg = str(e.value)
    assert "RefusingProducer" in msg and "refused" in msg
    assert "BufferError: Can't export tensors that require gradient" in msg
    assert "Traceback" not in msg and "\n" not in msg
    assert isinstance(e.value.__cause__, BufferError)


class BadInterface:
    def __init__(self, **changes):
        ai = dict(np.zeros(4, np.float32).__array_interface__)
        ai.update(changes)
        self.__array_interface__ = ai


@pytest.mark.parametrize("changes, error, words", [
    (dict(data=(-1, False)), ValueError, r"\['data'\]\[0\].* -1, which is negative"),
    (dict(data=("0x10", False)), TypeError, r"\['data'\]\[0\].* must be an integer, not str"),
    (dict(data=(2**70, False)), OverflowError, r"\['data'\]\[0\].* 1180591620717411303424, which does not fit"),
    (dict(data=[0, False]), TypeError, r"\['data'\] must be a \(pointer, read_only\) tuple"),
    (dict(shape=(4.0,)), TypeError, r"\['shape'\]\[0\] must be an integer, not float"),
    (dict(shape=(2**64,)), OverflowError, r"\['shape'\]\[0\] is 18446744073709551616"),
    (dict(shape=(-4,)), ValueError, r"\['shape'\]\[0\] is -4, which is negative"),
    (dict(shape=4), TypeError, r"\['shape'\] must be a tuple, not int"),
    (dict(typestr=5), TypeError, r"\['typestr'\] must be a string, not int"),
    (dict(strides=(4.5,)), TypeError, r"\['strides'\]\[0\] must be an integer, not float"),
    (dict(typestr="|V4", descr=[("a", "<q7")]), TypeError, r"\['descr'\] is not a record type"),
    (dict(typestr="|V4", descr=[("a", "<f8")]), ValueError, r"\['descr'\] describes 8-byte records"),
])
def test_bad_array_interface_values(changes, error, words):
    with pytest.raises(error, match="__array_interface__" + words):
        sc.view(BadInterface(**changes))


def test_array_interface_edge_values_numpy_takes():
    # An empty descr names no fields: NumPy takes it, and the typestr's raw bytes are what is there.
    a = np.arange(4, dtype=np.float32)
    for typestr in ("<f4", "|V4"):
        o = BadInterface(typestr=typestr, descr=[])
        o.__array_interface__["data"] = a.__array_interface__["data"]
        o.keep = a
        got = sc.view(o)[::-1].numpy()
        assert got.dtype == np.dtype(typestr) and got.tobytes() == a[::-1].tobytes()


def test_array_interface_that_raises_is_the_producers_error():
    class Broken:
        @property
        def __array_interface__(self):
            raise KeyError("the producer broke")

    with pytest.raises(KeyError, match="the producer broke"):  # as np.asarray(Broken()) raises
        sc.view(Broken())

    class Missing:
        @property
        def __array_interface__(self):
            raise AttributeError("none here")

    with pytest.raises(TypeError, match="cannot view .*Missing: stridecopy.view takes"):
        sc.view(Missing())


def test_view_of_none_is_a_clear_type_error():
    with pytest.raises(TypeError, match="cannot view NoneType"):
        sc.view(None)


def test_numpy_and_dlpack_consumers_take_a_view(rng):
    a = random_array(rng, (3, 4, 5), np.float32)
    v = sc.view(a)[::-1, :, ::2]
    want = a[::-1, :, ::2].copy()
    same_array(np.asarray(v), want)
    same_array(np.array(v), want)
    same_array(np.from_dlpack(v), want)  # the array API's consumer: __dlpack__ and __dlpack_device__
    assert v.__dlpack_device__() == (1, 0)
    with pytest.raises(BufferError, match="copy=False"):
        v.__dlpack__(copy=False)
    with pytest.raises(BufferError, match="dl_device"):
        v.__dlpack__(dl_device=(2, 0))


def test_torch_as_tensor_of_a_view(rng):
    torch = pytest.importorskip("torch")
    a = random_array(rng, (3, 4), np.float32)
    t = torch.as_tensor(sc.view(a)[::-1])  # PyTorch itself has no negative strides
    same_array(t.numpy(), a[::-1].copy())
    assert torch.equal(torch.tensor(sc.view(a)[:, ::-1]), torch.from_numpy(a[:, ::-1].copy()))


def test_view_describes_itself(rng):
    a = random_array(rng, (3, 4, 5), np.int16)
    v = sc.view(a)[::-1, :, ::2]
    w = a[::-1, :, ::2]
    assert (len(v), v.ndim, v.itemsize, v.nbytes, v.size) == (len(w), w.ndim, w.itemsize, w.nbytes, w.size)
    assert repr(v) == ("stridecopy.View(shape=(3, 4, 3), dtype=int16, strides=(-40, 10, 4), device='cpu', "
                       "memory='pageable host')")
    assert [x.shape for x in v] == [(4, 3)] * 3  # len() and indexing make it iterable, as an array is
    with pytest.raises(TypeError, match="len\\(\\) of unsized object"):
        len(v[0, 0, 0])
