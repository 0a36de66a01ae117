# tests/python/test_copyto.py — stridecopy.copyto and View.__setitem__ against np.copyto itself:
# random strided destinations and sources (broadcast, overlapping, every dtype), bitwise, and the
# refusals that leave the destination as it was.
import numpy as np
import pytest

import stridecopy as sc
from arrays import DTYPES, random_array

N_SEPARATE = 700  # source and destination in different arrays
N_OVERLAP = 300   # both views of one array


def random_strided(rng, shape, dtype):
    """A writable array of `shape` with random strides: steps of 1 to 3, either sign, and a random
    axis order in memory."""
    rank = len(shape)
    order = [int(x) for x in rng.permutation(rank)] if rank else []
    steps = [int(rng.integers(1, 4)) * (-1 if rng.random() < 0.4 else 1) for _ in range(rank)]
    # The parent holds the axes in `order`; the view walks them back into `shape`'s order.
    parent_shape = tuple(max(shape[a], 1) * abs(steps[a]) + int(rng.integers(0, 2)) for a in order)
    parent = random_array(rng, parent_shape, dtype)
    in_parent = parent[tuple(slice(None, shape[a] * abs(steps[a]), abs(steps[a])) if steps[a] > 0 else
                             slice(shape[a] * abs(steps[a]) - 1 if shape[a] else 0, None, steps[a]) if shape[a] else
                             slice(0, 0)
                             for a in order)]
    view = in_parent.transpose([order.index(a) for a in range(rank)]) if rank else parent[...]
    assert view.shape == tuple(shape)
    return parent, view


def random_shape(rng):
    rank = int(rng.integers(0, 6))
    return tuple(int(rng.integers(0, 3)) if rng.random() < 0.05 else int(rng.integers(1, 6)) for _ in range(rank))


def broadcastable_shape(rng, shape):
    """A shape NumPy broadcasts to `shape`: a suffix of it, some extents 1, perhaps leading 1s."""
    keep = int(rng.integers(0, len(shape) + 1)) if rng.random() < 0.3 else len(shape)
    out = [1 if rng.random() < 0.25 else s for s in shape[len(shape) - keep:]]
    if rng.random() < 0.1:
        out = [1] + out
    return tuple(out)


def test_random_pairs_match_numpy_copyto(rng):
    broadcast = 0
    for i in range(N_SEPARATE):
        dtype = DTYPES[i % len(DTYPES)]
        shape = random_shape(rng)
        _, dst = random_strided(rng, shape, dtype)
        src_shape = broadcastable_shape(rng, shape) if rng.random() < 0.3 else shape
        broadcast += src_shape != shape
        _, src = random_strided(rng, src_shape, dtype)
        dst_expected = dst.copy()
        np.copyto(dst_expected, src, casting="no")
        if i % 2:
            sc.copyto(dst, src)
        else:
            sc.view(dst)[...] = src
        assert dst.tobytes() == dst_expected.tobytes(), (dtype, shape, src_shape, dst.strides, src.strides)
    assert broadcast > 50


def test_the_rest_of_the_destination_is_untouched(rng):
    for i in range(200):
        dtype = DTYPES[i % len(DTYPES)]
        shape = random_shape(rng)
        dst_parent, dst = random_strided(rng, shape, dtype)
        _, src = random_strided(rng, shape, dtype)
        want = dst_parent.copy()
        # The same strided window of the copy, found by its byte offset in the parent.
        offset = (dst.__array_interface__["data"][0] - dst_parent.__array_interface__["data"][0]) if dst.size else 0
        window = np.ndarray(dst.shape, dtype, buffer=want, offset=offset, strides=dst.strides) if dst.size else None
        if window is not None:
            np.copyto(window, src, casting="no")
        sc.copyto(dst, src)
        assert dst_parent.tobytes() == want.tobytes(), (dtype, shape, dst.strides)


def overlapping_pair(rng, dtype):
    """Two views of one array with the same shape: random starts, lengths and steps of either sign."""
    rank = int(rng.integers(1, 4))
    parent = random_array(rng, tuple(int(rng.integers(2, 9)) for _ in range(rank)), dtype)
    dst_key, src_key = [], []
    for extent in parent.shape:
        step_d, step_s = (int(rng.integers(1, 3)) * (-1 if rng.random() < 0.5 else 1) for _ in range(2))
        most = min((extent - 1) // abs(step_d), (extent - 1) // abs(step_s)) + 1
        n = int(rng.integers(1, most + 1))

        def window(step):
            span = (n - 1) * abs(step)
            start = int(rng.integers(0, extent - span))
            return slice(start, start + span + 1, step) if step > 0 else slice(start + span, start - 1 if start else None, step)
        dst_key.append(window(step_d))
        src_key.append(window(step_s))
    perm = [int(x) for x in rng.permutation(rank)]
    return parent, tuple(dst_key), tuple(src_key), perm if rng.random() < 0.3 else None


def test_overlapping_views_copy_as_if_through_a_temporary(rng):
    shared = 0
    for i in range(N_OVERLAP):
        dtype = DTYPES[i % len(DTYPES)]
        parent, dst_key, src_key, perm = overlapping_pair(rng, dtype)
        want = parent.copy()
        wd, ws = want[dst_key], want[src_key]
        if perm is not None and len(set(wd.shape)) == 1:
            ws = ws.transpose(perm)
        # As if through a temporary: NumPy's result too, except in one dimension with steps of one
        # sign and different sizes, where NumPy's loop reads elements it has already written.
        np.copyto(wd, ws.copy(), casting="no")
        d, s = parent[dst_key], parent[src_key]
        if perm is not None and len(set(d.shape)) == 1:
            s = s.transpose(perm)
        shared += np.shares_memory(d, s)
        if i % 2:
            sc.copyto(d, s)
        else:
            sc.view(parent)[dst_key] = s
        assert parent.tobytes() == want.tobytes(), (dtype, parent.shape, dst_key, src_key, perm)
    assert shared > N_OVERLAP // 3


def test_scalars_sequences_and_views_as_sources():
    a = np.zeros((3, 4), np.float32)
    sc.copyto(a, 2.5)
    assert (a == 2.5).all()
    sc.view(a)[:, ::-1] = [1, 2, 3, 4]
    assert a[0].tolist() == [4, 3, 2, 1]
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    sc.view(a)[...] = sc.view(b)[::-1, ::-1]
    assert (a == b[::-1, ::-1]).all()
    sc.view(a)["[1:, ::2]"] = -1
    assert (a[1:, ::2] == -1).all() and (a[0] == b[-1, ::-1]).all()


def test_the_bgr_example_into_a_strided_destination():
    imgs = random_array(np.random.default_rng(7), (2, 3, 8, 10), np.float32)
    nhwc = np.zeros((2, 8, 10, 3), np.float32)
    # BGR into an NHWC batch: the destination walks channels last.
    sc.copyto(nhwc.transpose(0, 3, 1, 2), sc.view(imgs)[:, ::-1])
    assert nhwc.tobytes() == np.ascontiguousarray(imgs[:, ::-1].transpose(0, 2, 3, 1)).tobytes()


@pytest.mark.parametrize("make", [
    lambda a: np.frombuffer(a.tobytes(), a.dtype).reshape(a.shape),
    lambda a: np.broadcast_to(a[:1], a.shape),
    lambda a: memoryview(a.tobytes()).cast("B").cast(a.dtype.char, a.shape),
])
def test_a_read_only_destination_is_refused_and_untouched(make):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    dst = make(a)
    before = bytes(np.asarray(dst).tobytes())
    with pytest.raises(ValueError, match="read-only"):
        sc.copyto(dst, np.ones((2, 3), np.float32))
    assert np.asarray(dst).tobytes() == before


def test_a_read_only_numpy_array_and_its_view_are_refused():
    a = np.arange(6, dtype=np.int32)
    a.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        sc.view(a)[::-1] = np.zeros(6, np.int32)
    with pytest.raises(ValueError, match="read-only"):
        sc.copyto(sc.view(a)[1:], 7)
    assert a.tolist() == list(range(6))


def test_an_element_written_twice_is_refused():
    base = np.zeros(4, np.int16)
    twice = np.lib.stride_tricks.as_strided(base, shape=(3, 4), strides=(0, 2), writeable=True)
    with pytest.raises(ValueError, match="more than once"):
        sc.copyto(twice, np.arange(12, dtype=np.int16).reshape(3, 4))
    assert base.tolist() == [0, 0, 0, 0]


def test_mismatches_are_refused_before_any_write():
    dst = np.full((3, 4), 5, np.float32)
    with pytest.raises(TypeError, match="float64"):
        sc.copyto(dst, np.ones((3, 4)))
    with pytest.raises(ValueError, match="broadcast"):
        sc.copyto(dst, np.ones((3, 5), np.float32))
    with pytest.raises(ValueError, match="broadcast"):
        sc.view(dst)[:2] = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError):
        sc.copyto(dst, object())
    with pytest.raises(TypeError, match="cannot view"):
        sc.copyto(object(), dst)
    assert (dst == 5).all()
