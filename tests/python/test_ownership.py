# tests/python/test_ownership.py — who keeps what alive: a view keeps its source, a result outlives
# both, and a result's host block goes back to its pool when NumPy lets go of the last reference.
import gc
import weakref

import numpy as np

import stridecopy as sc
from arrays import same_array


def live():
    gc.collect()
    return sc._stridecopy._live_host_results()


def test_view_keeps_its_source_alive():
    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    ref = weakref.ref(a)
    v = sc.view(a)[::-1]
    assert v.base is a
    del a
    gc.collect()
    assert ref() is not None
    same_array(v.numpy(), np.arange(60, dtype=np.float32).reshape(3, 4, 5)[::-1].copy())
    w = v.T  # a view of a view shares the source
    del v
    gc.collect()
    assert ref() is not None
    del w
    gc.collect()
    assert ref() is None


def test_result_outlives_view_and_source():
    a = np.arange(1000, dtype=np.int64)
    expected = a[::-3].copy()
    ref = weakref.ref(a)
    r = sc.view(a)[::-3].numpy()
    del a
    gc.collect()
    assert ref() is None  # the result does not hold the source: it is a copy
    same_array(r, expected)
    r += 1
    same_array(r, expected + 1)


def test_block_returns_to_pool():
    before = live()
    a = np.ones((256, 1024), np.float32)
    r = sc.view(a)[:, ::-1].numpy()
    assert live() == before + 1
    tail = r[10:]  # a NumPy view of the result keeps the block
    del r
    assert live() == before + 1
    assert tail.shape == (246, 1024) and float(tail.sum()) == 246 * 1024
    del tail
    assert live() == before
    for _ in range(50):  # repeated copies take and return blocks, never accumulate them
        sc.view(a)[::-1].numpy()
    assert live() == before


def test_block_freed_without_gc_and_by_weakref():
    before = sc._stridecopy._live_host_results()
    r = sc.view(np.arange(10))[::-1].numpy()
    ref = weakref.ref(r)
    del r  # reference counting alone frees it: no cycle involved
    assert ref() is None
    assert sc._stridecopy._live_host_results() == before


def test_loaded_array_owns_its_block(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(12).reshape(3, 4))
    before = live()
    x = sc.load(path)
    assert live() == before + 1
    del x
    assert live() == before


def test_results_in_pinned_memory_where_cuda_is_present():
    # Without a driver the pool falls back to page-aligned pageable memory.
    r = sc.view(np.arange(4096, dtype=np.uint8))[::-1].numpy()
    assert r.ctypes.data % 4096 == 0
