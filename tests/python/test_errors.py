# tests/python/test_errors.py — every library error as its Python exception, with the library's
# message: IndexError, ValueError, TypeError, OSError, stridecopy.CudaError.
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import stridecopy as sc
from arrays import same_array


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
    with pytest.raises(ValueError, match="overlaps"):
        sc.view(a)[::-1].numpy(out=a)


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
    with pytest.raises(OSError, match="No such file or directory"):
        sc.view(np.arange(3)).save(tmp_path / "no" / "such" / "dir.npy")
    with pytest.raises(ValueError, match="device must be"):
        sc.load(truncated, device="tpu")


@pytest.mark.skipif(sc.cuda_available(), reason="the no-device errors need a machine without a GPU")
def test_cuda_errors_without_a_device(tmp_path):
    with pytest.raises(sc.CudaError, match="no CUDA device") as e:
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
