# tests/python/test_random_views.py — the host path against NumPy itself: thousands of random basic
# indices (negative steps, None, ints, Ellipsis, transposes, flips) on every dtype, bitwise.
import numpy as np
import pytest

import stridecopy as sc
from arrays import DTYPES, key_text, random_array, random_key, random_source, same_array

N_CASES = 2600  # about a tenth are indices NumPy refuses; at least 2000 results are compared


def random_after(rng, ndim):
    """A transpose or flip applied after indexing, to NumPy and to the view alike (or None)."""
    r = rng.random()
    if r < 0.7 or ndim == 0:
        return None
    if r < 0.8:
        perm = tuple(int(x) for x in rng.permutation(ndim))
        return ("transpose", perm)
    if r < 0.85:
        return ("T", None)
    if r < 0.95:
        return ("flip", int(rng.integers(-ndim, ndim)))
    return ("flip", None)


def apply_numpy(w, op):
    if op is None:
        return w
    name, arg = op
    if name == "transpose":
        return w.transpose(arg)
    if name == "T":
        return w.T
    return np.flip(w, arg)


def apply_view(v, op):
    if op is None:
        return v
    name, arg = op
    if name == "transpose":
        return v.transpose(*arg)
    if name == "T":
        return v.T
    return v.flip(arg)


def test_random_views_match_numpy(rng):
    compared = refused = 0
    families = {"negative step": 0, "new axis": 0, "integer": 0, "ellipsis": 0, "0-d": 0, "empty": 0}
    for i in range(N_CASES):
        dtype = DTYPES[i % len(DTYPES)]
        a = random_source(rng, dtype)
        key = random_key(rng, a.shape)
        full = key if any(k is Ellipsis for k in key) else key + (Ellipsis,)
        try:
            w = a[full]
        except (IndexError, ValueError, TypeError, OverflowError) as e:
            # Every index NumPy refuses, stridecopy refuses: with NumPy's ValueError where NumPy
            # raises one (a zero step), else with IndexError.
            expected = ValueError if isinstance(e, ValueError) else IndexError
            with pytest.raises(expected):
                sc.view(a)[key]
            with pytest.raises(expected):
                sc.view(a)[key_text(key)]
            refused += 1
            continue
        op = random_after(rng, w.ndim)
        want = apply_numpy(w, op).copy(order="C")
        v = apply_view(sc.view(a)[key], op)
        assert v.shape == want.shape, (a.shape, a.strides, key, op)
        if want.size:
            # The strides of dims that walk (extent > 1) are NumPy's; others are never used (and the
            # buffer protocol reports NumPy's extent-1 strides normalised, an empty flip negates).
            walked = [i for i, n in enumerate(want.shape) if n > 1]
            numpy_strides = apply_numpy(w, op).strides
            assert [v.strides[i] for i in walked] == [numpy_strides[i] for i in walked], (a.shape, a.strides, key, op)
        assert v.dtype == a.dtype
        assert v.ndim == want.ndim and v.size == want.size and v.nbytes == want.nbytes
        same_array(v.numpy(), want)
        # The same index as a string goes through the CLI's parser.
        same_array(apply_view(sc.view(a)[key_text(key)], op).numpy(), want)
        compared += 1
        families["negative step"] += any(isinstance(k, slice) and (k.step or 1) < 0 for k in key)
        families["new axis"] += any(k is None for k in key)
        families["integer"] += any(isinstance(k, int) for k in key)
        families["ellipsis"] += any(k is Ellipsis for k in key)
        families["0-d"] += want.ndim == 0
        families["empty"] += want.size == 0
    print("compared", compared, "refused", refused, families)
    assert compared >= 2000, (compared, refused)
    assert refused >= 50
    assert all(n >= 20 for n in families.values()), families


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_nchw_view_family_every_dtype(rng, dtype):

    a = random_array(rng, (2, 3, 9, 10), dtype)
    views = {
        "[:, ::-1, :, :]": (lambda x: x[:, ::-1, :, :]),
        "[..., ::-1]": (lambda x: x[..., ::-1]),
        "[::2, 8:-8]": (lambda x: x[::2, 1:-1]),
        "transpose(0, 2, 3, 1)": (lambda x: x.transpose(0, 2, 3, 1)),
        "[:, :, ::-1, ::-1]": (lambda x: x[:, :, ::-1, ::-1]),
    }
    for expr in views.values():
        same_array(expr(sc.view(a)).numpy(), expr(a).copy(order="C"))


def test_zero_d_and_empty(rng):
    a = np.float64(3.5) * np.ones(())
    same_array(sc.view(a).numpy(), a)
    same_array(sc.view(a)[None].numpy(), a[None])
    same_array(sc.view(a)[...].numpy(), a[...])
    b = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    same_array(sc.view(b)[1, 2, 3].numpy(), b[1, 2, 3, ...].copy())
    same_array(sc.view(b)[:, 5:].numpy(), b[:, 5:])
    same_array(sc.view(b)[:, 2:1:1].numpy(), b[:, 2:1:1])
    e = np.empty((0, 3), np.float32)
    same_array(sc.view(e)[::-1].numpy(), e[::-1])
    assert sc.view(e).nbytes == 0


def test_python_int_semantics():
    a = np.arange(10)
    v = sc.view(a)
    same_array(v[-1].numpy(), a[-1, ...].copy())
    same_array(v[np.int64(3)].numpy(), a[3, ...].copy())
    same_array(v[2**100 : -(2**100) : -1].numpy(), a[2**100 : -(2**100) : -1])
    same_array(v[: 2**64 : 2**63].numpy(), a[: 2**64 : 2**63])
    same_array(v[-(2**63) :: -(2**63)].numpy(), a[-(2**63) :: -(2**63)])
    same_array(v[True:].numpy(), a[True:])  # a bool slice bound is an int to Python
    with pytest.raises(IndexError):
        v[2**64]
    with pytest.raises(IndexError):
        v[-(2**63) - 1]
