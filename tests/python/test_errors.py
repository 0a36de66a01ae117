# tests/python/test_errors.py — every library error as its Python exception, with the library's
# message: IndexError, ValueError, TypeError, OSError, stridecopy.CudaError.
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import stridecopy as sc
from arrays import no_device_message, same_array


@pytest.fixture
def v():
    return sc.view(np.arange(24, dtype=np.float32).reshape(2, 3, 4))


def test_index_errors(v):
    with pytest.raises(IndexError, match="out of bounds for axis 1 with size 3"):
        v[:, 3]
    with pytest.raises(IndexError, match="too many indices"):
        v[0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        v[..., ...]
    with pytest.raises(IndexError, match="does not fit in int64"):
        v[2**63]
    with pytest.raises(IndexError, match="valid stridecopy indices"):
        v[1.5]
    with pytest.raises(IndexError, match="valid stridecopy indices"):
        v[[0, 1]]
    with pytest.raises(IndexError, match="boolean"):
        v[True]
    with pytest.raises(IndexError, match="whole index"):
        v[0, "::-1"]
    with pytest.raises(IndexError, match="unexpected .x. at position 4"):
        v["[:, x]"]
    with pytest.raises(IndexError, match="rank 65"):  # NumPy's limit is 64 dims
        v[(None,) * (65 - v.ndim)]
    with pytest.raises(TypeError, match="slice indices must be integers"):
        v[1.5:]
    with pytest.raises(IndexError, match="empty subscript"):  # Python: a[] is a SyntaxError
        v["[]"]
    with pytest.raises(IndexError, match="empty subscript"):
        v["[ ]"]
    assert v["()"].shape == v[()].shape == v.shape


def test_axis_and_step_errors_are_numpys(v):
    a = np.zeros(v.shape, v.dtype)
    # Each mistake raises what NumPy raises for it, with NumPy's words.
    cases = [
        (lambda x: x.transpose(0, 1, 3), np.exceptions.AxisError, "axis 3 is out of bounds for array of dimension 3"),
        (lambda x: x.transpose(0, 1, -4), np.exceptions.AxisError, "axis -4 is out of bounds"),
        (lambda x: x.transpose(0, 0, 1), ValueError, "repeated axis in transpose"),
        (lambda x: x.transpose(0, 1), ValueError, "axes don't match array"),
        (lambda x: x[::0], ValueError, "slice step cannot be zero"),
        (lambda x: x[1, ::0], ValueError, "slice step cannot be zero"),
        (lambda x: x[5, ::0], IndexError, "index 5 is out of bounds"),  # the earlier item's error first
    ]
    for f, error, words in cases:
        with pytest.raises(error, match=words):
            f(v)
        with pytest.raises(error, match=words):
            f(a)
    flips = [(3, np.exceptions.AxisError, "axis 3 is out of bounds"), (-4, np.exceptions.AxisError, "axis -4"),
             ((0, 0), ValueError, "repeated axis"), ((0, -3), ValueError, "repeated axis")]
    for axis, error, words in flips:
        with pytest.raises(error, match=words):
            v.flip(axis)
        with pytest.raises(error, match=words):
            np.flip(a, axis)
    with pytest.raises(np.exceptions.AxisError, match="axis 1180591620717411303424 is out of bounds"):
        v.flip(2**70)
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        v["[:, ::0]"]
    b = np.arange(24).reshape(2, 3, 4)
    same_array(sc.view(b).flip((0, -1)).numpy(), np.flip(b, (0, -1)).copy())


def test_index_messages_name_the_numbers_given(v):
    with pytest.raises(IndexError, match="100000000000000000000 does not fit in int64") as e:
        v[10**20]
    assert "9223372036854775807" not in str(e.value)
    with pytest.raises(IndexError, match=r'"\[0, -100000000000000000000, :\]": index -100000000000000000000 does not fit'):
        v[0, -10**20, :]
    with pytest.raises(IndexError, match=r"index 7 is out of bounds for axis 0 with size 2"):
        v[7, 10**20:]


def test_view_and_type_errors():
    with pytest.raises(TypeError, match="cannot view"):
        sc.view("not an array")
    assert sc.view(np.zeros((1,) * 64)).ndim == 64  # NumPy's 64 dims
    a = np.arange(10, dtype=np.int32)
    # An `out` that the view reads is no error: the result is np.copyto's, as if through a temporary.
    sc.view(a)[::-1].numpy(out=a)
    assert a.tolist() == list(range(9, -1, -1))


def test_out_errors():
    v = sc.view(np.arange(12, dtype=np.float32).reshape(3, 4))[::-1]
    with pytest.raises(TypeError, match="dtype float64"):
        v.numpy(out=np.empty((3, 4), np.float64))
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        v.numpy(out=np.empty((4, 3), np.float32))
    ro = np.empty((3, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        v.numpy(out=ro)
    with pytest.raises(ValueError, match="C-contiguous"):
        v.numpy(out=np.empty((4, 3), np.float32).T)
    with pytest.raises(TypeError, match="out must be"):
        v.numpy(out=[0.0] * 12)


def test_stream_argument_errors():
    v = sc.view(np.arange(4))
    with pytest.raises(TypeError, match="stream must be"):
        v.numpy(stream="default")
    with pytest.raises(TypeError, match="bool"):
        v.numpy(stream=True)
    with pytest.raises(ValueError, match="negative"):
        v.numpy(stream=-5)


def test_npy_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        sc.load(tmp_path / "missing.npy")
    with pytest.raises(IsADirectoryError):
        sc.load(tmp_path)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00" + b"\x10\x00" + b"{'descr': 1}    ")
    with pytest.raises(ValueError, match="bad.npy"):
        sc.load(bad)
    truncated = tmp_path / "short.npy"
    np.save(truncated, np.arange(100))
    truncated.write_bytes(truncated.read_bytes()[:-8])
    with pytest.raises(ValueError, match="truncated"):
        sc.load(truncated)
    with pytest.raises(ValueError, match="device 'tpu'"):
        sc.load(truncated, device="tpu")


def test_file_errors_are_oserror_subclasses_by_errno(tmp_path):
    # As np.save and np.load raise them: the errno's own subclass, errno set.
    v = sc.view(np.arange(3))
    for f in (lambda p: v.save(p), lambda p: np.save(p, np.arange(3))):
        with pytest.raises(FileNotFoundError) as e:
            f(tmp_path / "nodir" / "x.npy")
        assert e.value.errno == 2
    with pytest.raises(FileNotFoundError) as e:
        sc.load(tmp_path / "missing.npy")
    assert e.value.errno == 2 and "missing.npy" in str(e.value)
    with pytest.raises(IsADirectoryError):
        sc.load(tmp_path, index="[::-1]")  # the mapped path too
    (tmp_path / "d.npy").mkdir()
    with pytest.raises(IsADirectoryError):
        v.save(tmp_path / "d.npy")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        with pytest.raises(PermissionError) as e:
            v.save(locked / "x.npy")
        assert e.value.errno == 13
        locked.chmod(0o700)


def test_paths_with_a_nul_byte_are_refused(tmp_path):
    # The system would end the name at the NUL and write (or read) another file: np.save's error.
    victim = tmp_path / "victim.npy"
    np.save(victim, np.arange(3))
    before = victim.read_bytes()
    v = sc.view(np.arange(5))
    for bad in (str(victim) + "\0ignored", os.fsencode(str(victim)) + b"\0ignored"):
        with pytest.raises(ValueError, match="embedded null byte"):
            v.save(bad)
        with pytest.raises(ValueError, match="embedded null byte"):
            sc.load(bad)
        with pytest.raises(ValueError, match="embedded null byte"):
            sc.load(bad, index="[::-1]")
    with pytest.raises(ValueError, match="embedded null byte"):
        np.save(str(victim) + "\0ignored", np.arange(5))
    assert victim.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.npy"]


def test_device_spellings(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(6).reshape(2, 3))
    for cpu in ("cpu", "cpu:0"):
        same_array(sc.load(path, index="[::-1]", device=cpu), np.arange(6).reshape(2, 3)[::-1].copy())

    class TorchLikeDevice:  # what torch.device offers: .type and .index
        def __init__(self, type, index=None):
            self.type, self.index = type, index

    same_array(sc.load(path, device=TorchLikeDevice("cpu")), np.arange(6).reshape(2, 3))
    for bad, error, words in [("tpu", ValueError, "device 'tpu'"), ("cuda:x", ValueError, "cuda:N"),
                              ("cuda:99999999999999999999", ValueError, "device index must be an int"),
                              (TorchLikeDevice("mps"), ValueError, "stridecopy copies to"),
                              (-1, ValueError, "device index must be"), (2.5, TypeError, "not float"),
                              (None, TypeError, "not NoneType")]:
        with pytest.raises(error, match=words):
            sc.load(path, device=bad)
    if not sc.cuda_available():
        for gpu in ("cuda", "cuda:1", 0, TorchLikeDevice("cuda", 1)):
            with pytest.raises(sc.CudaError):
                sc.load(path, device=gpu)
    torch = pytest.importorskip("torch")
    same_array(sc.load(path, device=torch.device("cpu")), np.arange(6).reshape(2, 3))


def test_load_is_typed_by_its_device():
    import typing
    overloads = typing.get_overloads(sc.load)
    returns = [o.__annotations__["return"] for o in overloads]
    assert returns[0] == "numpy.ndarray" and "Literal['cpu']" in overloads[0].__annotations__["device"]
    assert "DeviceArray" in returns and returns[-1] == "numpy.ndarray | DeviceArray"


@pytest.mark.skipif(sc.cuda_available(), reason="a stream without a device needs a machine without a GPU")
def test_stream_without_a_device_is_an_error(tmp_path):
    v = sc.view(np.arange(4))
    for call in (lambda: v.numpy(stream=0), lambda: v.numpy(stream=5),
                 lambda: v.numpy(out=np.empty(4, np.int64), stream=1), lambda: v.save(tmp_path / "a.npy", stream=1)):
        with pytest.raises(sc.CudaError, match=no_device_message()) as e:
            call()
        assert e.value.code == 100
    assert not (tmp_path / "a.npy").exists()
    np.save(tmp_path / "b.npy", np.arange(4))
    with pytest.raises(ValueError, match="makes none"):  # a host load has nothing to order
        sc.load(tmp_path / "b.npy", device="cpu", stream=1)


def test_stream_values_out_of_range():
    v = sc.view(np.arange(4))
    with pytest.raises(ValueError, match="stream handle 1180591620717411303424 does not fit a pointer"):
        v.numpy(stream=2**70)


def test_out_takes_what_its_message_says():
    v = sc.view(np.arange(12, dtype=np.float32).reshape(3, 4))[::-1]
    want = np.arange(12, dtype=np.float32).reshape(3, 4)[::-1].copy()
    # Any writable C-contiguous array of the right shape and dtype: NumPy's, or a buffer.
    out = np.empty((3, 4), np.float32)
    assert v.numpy(out=out) is out and np.array_equal(out, want)
    mv = memoryview(bytearray(48)).cast("f", (3, 4))
    assert v.numpy(out=mv) is mv and np.array_equal(np.asarray(mv), want)
    flat = sc.view(np.arange(6, dtype=np.uint8))[::-1]
    ba = bytearray(6)
    flat.numpy(out=ba)
    assert ba == bytes([5, 4, 3, 2, 1, 0])
    # A buffer of another element type is refused (it would have taken float bits as ints).
    with pytest.raises(TypeError, match="out has dtype int32 but the view has dtype float32"):
        v.numpy(out=memoryview(bytearray(48)).cast("i", (3, 4)))
    with pytest.raises(TypeError, match="a numpy.ndarray, or an object with the buffer protocol"):
        v.numpy(out=[0.0] * 12)


@pytest.mark.skipif(sc.cuda_available(), reason="the no-device errors need a machine without a GPU")
def test_cuda_errors_without_a_device(tmp_path):
    with pytest.raises(sc.CudaError, match=no_device_message()) as e:
        sc.view(np.arange(4)).to_device()
    assert e.value.code == 100
    assert isinstance(e.value, RuntimeError)
    np.save(tmp_path / "a.npy", np.arange(4))
    with pytest.raises(sc.CudaError):
        sc.load(tmp_path / "a.npy", device="cuda")


def test_cuda_error_type():
    assert issubclass(sc.CudaError, RuntimeError)
    assert sc.CudaError.__module__ == "stridecopy"
    e = pickle.loads(pickle.dumps(sc.CudaError("cudaMalloc failed")))
    assert isinstance(e, sc.CudaError) and str(e) == "cudaMalloc failed"


def test_bfloat16_without_ml_dtypes():
    # In a fresh interpreter that cannot import ml_dtypes: the data still views, NumPy cannot name it.
    here = os.path.dirname(__file__)
    code = (
        "import sys; sys.modules['ml_dtypes'] = None\n"
        f"sys.path.insert(0, {here!r})\n"
        "import numpy as np, stridecopy as sc\n"
        "from fake_dlpack import bfloat16_producer\n"
        "p, _ = bfloat16_producer(np.ones(4))\n"
        "v = sc.view(p)[::-1]\n"
        "try:\n"
        "    v.numpy()\n"
        "except TypeError as e:\n"
        "    print('TypeError:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "TypeError: bfloat16" in out and "pip install ml_dtypes" in out


@pytest.mark.skipif(sc.cuda_built(), reason="a build with CUDA")
def test_a_build_without_cuda_says_so_and_copies_on_the_host(tmp_path):
    assert not sc.cuda_available()
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    same_array(sc.view(a)[:, ::-1].numpy(), a[:, ::-1])
    np.save(tmp_path / "a.npy", a)
    for call in (lambda: sc.view(a).to_device(), lambda: sc.load(tmp_path / "a.npy", device="cuda")):
        with pytest.raises(sc.CudaError, match="stridecopy was built without CUDA") as e:
            call()
        assert e.value.code == 100
    assert sc.DeviceArray.__doc__ and "none is ever made" in sc.DeviceArray.__doc__
