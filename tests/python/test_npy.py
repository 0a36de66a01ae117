# tests/python/test_npy.py — View.save against np.save byte for byte (every dtype, 0-d, empty,
# random views), and stridecopy.load back into NumPy.
import numpy as np
import pytest

import stridecopy as sc
from arrays import DTYPES, npy_bytes, random_array, random_key, random_source, same_array


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_save_is_np_save(tmp_path, rng, dtype):
    a = random_array(rng, (3, 4, 5), dtype)
    for i, (view, expected) in enumerate([
        (sc.view(a)[::-1, :, ::2], a[::-1, :, ::2]),
        (sc.view(a).transpose(2, 0, 1), a.transpose(2, 0, 1)),
        (sc.view(a)[1, 2, 3, ...], a[1, 2, 3, ...]),
        (sc.view(a)[:, 5:], a[:, 5:]),
    ]):
        path = tmp_path / f"v{i}.npy"
        view.save(path)
        assert path.read_bytes() == npy_bytes(expected.copy(order="C")), (dtype, i)


def test_save_random_views(tmp_path, rng):
    path = tmp_path / "r.npy"
    done = 0
    while done < 200:
        a = random_source(rng, DTYPES[done % len(DTYPES)])
        key = random_key(rng, a.shape)
        full = key if any(k is Ellipsis for k in key) else key + (Ellipsis,)
        try:
            want = a[full]
        except (IndexError, ValueError, TypeError):
            continue
        sc.view(a)[key].save(str(path))
        assert path.read_bytes() == npy_bytes(want.copy(order="C")), (a.dtype, a.shape, key)
        done += 1


def test_save_replaces_atomically(tmp_path):
    path = tmp_path / "a.npy"
    path.write_bytes(b"old")
    sc.view(np.arange(5))[::-1].save(path)
    assert path.read_bytes() == npy_bytes(np.arange(5)[::-1].copy())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]  # no temporary left behind


@pytest.mark.parametrize("key", [np.s_[::-1], np.s_[..., ::-1]], ids=["rows", "elements"])
def test_save_over_the_mapped_file_it_views(tmp_path, rng, key):
    # A file with a second link is written in place; the view reads a mapping of it (np.load with
    # mmap_mode="r"), which the truncation would pull away mid-copy. Both names get the view's bytes.
    a = random_array(rng, (64, 2048), np.float32)
    path = tmp_path / "a.npy"
    np.save(path, a)
    (tmp_path / "b.npy").hardlink_to(path)
    mapped = np.load(path, mmap_mode="r")
    sc.view(mapped)[key].save(path)
    del mapped
    want = npy_bytes(a[key].copy(order="C"))
    assert path.read_bytes() == want
    assert (tmp_path / "b.npy").read_bytes() == want


@pytest.mark.parametrize("order", ["C", "F"])
def test_load(tmp_path, rng, order):
    a = np.asarray(random_array(rng, (4, 5, 6), np.float32), order=order)
    path = tmp_path / "a.npy"
    np.save(path, a)
    full = sc.load(path)
    np.testing.assert_array_equal(full, np.load(path))
    assert full.dtype == a.dtype and full.flags.f_contiguous == (order == "F")
    same_array(sc.load(path, index=(slice(None, None, -1), 2)), a[::-1, 2].copy())
    same_array(sc.load(str(path), index="[..., ::-2]"), a[..., ::-2].copy())


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d.name != "bfloat16"], ids=str)
def test_load_dtypes(tmp_path, rng, dtype):
    a = random_array(rng, (3, 4), dtype)
    path = tmp_path / "a.npy"
    np.save(path, a)
    same_array(sc.load(path), a)
    same_array(sc.load(path, index="[::-1]"), a[::-1].copy())


def test_save_then_load_round_trip(tmp_path, rng):
    a = random_array(rng, (2, 3, 96, 128), np.float32)
    path = tmp_path / "bgr.npy"
    sc.view(a)[:, ::-1].save(path)
    same_array(sc.load(path), a[:, ::-1].copy())
    same_array(np.load(path), a[:, ::-1].copy())


def test_records_datetimes_and_deep_arrays_round_trip(tmp_path, rng):
    """Files of records (nested, titled, sub-array fields), datetimes with units and 64 dims: loaded
    whole and through an index (a mapping of the file), and saved back byte for byte as np.save."""
    nested = np.dtype([("x", "<f4"), ("y", [("p", ">i2"), ("q", "S3")]), (("a title", "z"), "<u2", (2, 3))])
    cases = [
        np.frombuffer(rng.bytes(5 * 4 * nested.itemsize), nested).reshape(5, 4),
        rng.integers(0, 2**62, (6, 3)).astype(">M8[ns]"),
        rng.integers(0, 2**40, (7,)).astype("<m8[25s]"),
        random_array(rng, (2,) + (1,) * 61 + (3, 2), np.float32),
    ]
    for i, a in enumerate(cases):
        path = tmp_path / f"a{i}.npy"
        np.save(path, a)
        whole = sc.load(path)
        assert whole.dtype == a.dtype and whole.tobytes() == a.tobytes(), a.dtype
        part = sc.load(path, index="::-1")
        assert part.dtype == a.dtype and part.tobytes() == a[::-1].tobytes(), a.dtype
        out = tmp_path / f"b{i}.npy"
        sc.view(a)[::-1].save(out)
        assert out.read_bytes() == npy_bytes(a[::-1].copy(order="C")), a.dtype
