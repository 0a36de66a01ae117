# tests/python/test_threads.py — the CPU copy threads: sc.set_num_threads / get_num_threads, threads=
# on .numpy(), OMP_NUM_THREADS and the affinity mask, seen through the threads that do the work.
import os
import subprocess
import sys

import numpy as np
import pytest

import stridecopy as sc
from stridecopy import _stridecopy


@pytest.fixture
def restore_threads():
    yield
    sc.set_num_threads(0)


def large(rng):
    # 16 MiB: a copy large enough for a team of any size.
    return rng.random((1024, 2048), dtype=np.float64)


def threads_that_copied(fn):
    _stridecopy._trace_copy_threads(True)
    try:
        result = fn()
    finally:
        seen = _stridecopy._trace_copy_threads(False)
    return seen, result


def test_one_thread_set_means_one_thread_does_the_work(rng, restore_threads):
    a = large(rng)
    sc.set_num_threads(1)
    assert sc.get_num_threads() == 1
    seen, got = threads_that_copied(lambda: sc.view(a)[:, ::-1].numpy())
    assert seen == 1
    np.testing.assert_array_equal(got, a[:, ::-1])


def test_threads_argument_overrides_the_setting(rng, restore_threads):
    a = large(rng)
    out = np.empty_like(a)
    sc.set_num_threads(4)
    assert sc.get_num_threads() == 4
    seen, _ = threads_that_copied(lambda: sc.view(a)[::-1].numpy(out=out, threads=1))
    assert seen == 1
    np.testing.assert_array_equal(out, a[::-1])
    seen, _ = threads_that_copied(lambda: sc.view(a)[::-1].numpy(out=out, threads=2))
    assert 1 <= seen <= 2
    np.testing.assert_array_equal(out, a[::-1])


def test_small_copies_stay_on_the_calling_thread(rng):
    a = rng.random((32, 32))
    seen, got = threads_that_copied(lambda: sc.view(a).T.numpy(threads=8))
    assert seen == 1
    np.testing.assert_array_equal(got, a.T)


def test_bad_thread_counts_are_refused(restore_threads):
    with pytest.raises(ValueError):
        sc.set_num_threads(-1)
    with pytest.raises(ValueError):
        sc.set_num_threads(100000)
    with pytest.raises(ValueError):
        sc.view(np.zeros(4))[::-1].numpy(threads=-2)
    sc.set_num_threads(0)
    assert 1 <= sc.get_num_threads() <= len(os.sched_getaffinity(0))


def run_python(code, env=None, cpus=None):
    preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    full_env = dict(os.environ)
    full_env.pop("OMP_NUM_THREADS", None)
    full_env.update(env or {})
    r = subprocess.run([sys.executable, "-c", code], env=full_env, preexec_fn=preexec, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


DEFAULT_AND_WORKERS = """
import numpy as np, stridecopy as sc
from stridecopy import _stridecopy
a = np.random.default_rng(0).random((1024, 2048))
_stridecopy._trace_copy_threads(True)
got = sc.view(a)[:, ::-1].numpy()
seen = _stridecopy._trace_copy_threads(False)
assert (got == a[:, ::-1]).all()
print(sc.get_num_threads(), seen)
"""


def test_omp_num_threads_bounds_the_default():
    threads, seen = map(int, run_python(DEFAULT_AND_WORKERS, env={"OMP_NUM_THREADS": "1"}).split())
    assert threads == 1 and seen == 1


def test_a_process_given_one_cpu_copies_on_one_thread():
    cpu = min(os.sched_getaffinity(0))
    threads, seen = map(int, run_python(DEFAULT_AND_WORKERS, cpus={cpu}).split())
    assert threads == 1 and seen == 1
