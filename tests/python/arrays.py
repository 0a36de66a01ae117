# tests/python/arrays.py — what the Python tests share: the dtypes, random arrays and random basic
# indices, NumPy's own answer for a key, bitwise comparison.
import io

import numpy as np

try:
    import ml_dtypes
except ImportError:  # bfloat16 cases are skipped without it
    ml_dtypes = None


def fixed_size_dtypes():
    """Every fixed-size NumPy dtype family stridecopy takes, in both byte orders where they have one."""
    dts = [np.dtype(d) for d in ("?", "i1", "u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8",
                                 "<c8", "<c16", ">f4", ">i8", ">c8", "S3", "<U2", "V5", "<M8[ns]", "<m8[s]", "g")]
    dts.append(np.dtype([("a", "<i4"), ("b", "<f8")]))  # aligned record
    dts.append(np.dtype([("x", "u1"), ("y", "<i2")]))  # packed record, 3 bytes
    if ml_dtypes is not None:
        dts.append(np.dtype(ml_dtypes.bfloat16))
    return dts


DTYPES = fixed_size_dtypes()


def no_device_message():
    """What a device call says where it cannot run: no device, or a stridecopy built without CUDA."""
    import stridecopy as sc

    return "no CUDA device" if sc.cuda_built() else "stridecopy was built without CUDA"


def random_array(rng, shape, dtype):
    """Random bytes in `dtype` (NaNs, odd bools and all): a bitwise comparison is the only fair one."""
    a = np.empty(shape, dtype)
    raw = a.reshape(-1).view(np.uint8) if a.size else np.empty(0, np.uint8)
    raw[...] = rng.integers(0, 256, raw.shape, dtype=np.uint8)
    return a


def random_source(rng, dtype):
    """A random array, sometimes already a strided NumPy view (negative, zero or transposed strides)."""
    rank = int(rng.integers(0, 6))
    shape = tuple(int(rng.integers(0, 6)) if rng.random() < 0.1 else int(rng.integers(1, 7)) for _ in range(rank))
    a = random_array(rng, shape, dtype)
    if rank and rng.random() < 0.5:
        kind = rng.integers(0, 4)
        if kind == 0:
            a = a[(slice(None, None, -1),) * rank]
        elif kind == 1:
            a = a.transpose(tuple(rng.permutation(rank)))
        elif kind == 2:
            big = random_array(rng, tuple(2 * s + 1 for s in shape), dtype)
            a = big[tuple(slice(None, None, 2) for _ in shape)][(slice(None, None, -1),) + (slice(None),) * (rank - 1)]
        else:
            a = np.broadcast_to(a[:1], (3,) + a.shape[1:]) if a.shape[0] else a
    return a


def random_bound(rng, extent):
    r = rng.random()
    if r < 0.3:
        return None
    if r < 0.35:
        return int(rng.choice([2**63, -(2**63) - 1, 2**70, -(2**70), 10**30]))
    return int(rng.integers(-extent - 2, extent + 3))


def random_key(rng, shape):
    """A random NumPy basic index for an array of `shape`: mostly valid, sometimes not."""
    items = []
    ndim = len(shape)
    dims = ndim + (1 if rng.random() < 0.03 else 0)  # now and then one index too many
    used = 0
    ellipsis = False
    while used < dims and rng.random() < 0.9:
        extent = shape[used] if used < ndim else 3
        r = rng.random()
        if r < 0.1:
            items.append(None)
            continue
        if r < 0.18 and not ellipsis:
            items.append(Ellipsis)
            ellipsis = True
            used = max(used, ndim - (dims - used - 1)) if rng.random() < 0.5 else used
            continue
        if r < 0.33:
            # In range mostly; now and then one past either end.
            items.append(int(rng.integers(-extent - 1, extent + 1)) if rng.random() < 0.1 else
                         int(rng.integers(-extent, extent)) if extent else 0)
        else:
            step = None if rng.random() < 0.3 else int(rng.choice([1, 2, 3, -1, -2, -3, 7, -7]))
            if rng.random() < 0.01:
                step = 0
            if rng.random() < 0.5:
                items.append(slice(None, None, step))
            else:
                items.append(slice(random_bound(rng, extent), random_bound(rng, extent), step))
        used += 1
    if rng.random() < 0.1:
        items.append(None)
    return tuple(items)


def key_text(key):
    """The index string of a key, as Python would write the subscript."""

    def one(k):
        if k is None:
            return "None"
        if k is Ellipsis:
            return "..."
        if isinstance(k, slice):
            parts = ["" if k.start is None else str(k.start), "" if k.stop is None else str(k.stop)]
            return ":".join(parts) + ("" if k.step is None else ":" + str(k.step))
        return str(k)

    return "[" + (", ".join(one(k) for k in key) if key else "()") + "]"  # "[]" would be Python's a[]


def numpy_result(a, key):
    """The C-order copy of a[key], as an array even for a full integer index (no scalar, dtype kept;
    np.ascontiguousarray would also turn a 0-d result into shape (1,))."""
    if not any(k is Ellipsis for k in key):
        key = key + (Ellipsis,)
    return a[key].copy(order="C")


def npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def same_array(got, want):
    """Bitwise equality, dtype and shape included, and the result is C-contiguous."""
    assert isinstance(got, np.ndarray)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.flags.c_contiguous
    assert got.tobytes() == want.tobytes(order="C")


class DLPackOnly:
    """Exposes only the wrapped array's DLPack methods, so sc.view must take the DLPack path."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, **kwargs):
        return self.a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()
