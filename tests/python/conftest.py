# tests/python/conftest.py — fixtures of the Python tests: a reproducible generator per test, and the
# PyTorch / CuPy devices that GPU tests skip without.
import zlib

import numpy as np
import pytest

import stridecopy as sc


def _torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def _cupy_cuda():
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # no CuPy, or CuPy without a driver
        return None
    return None


def has_gpu():
    return sc.cuda_available()


@pytest.fixture
def torch_cuda():
    torch = _torch_cuda()
    if torch is None or not sc.cuda_available():
        pytest.skip("needs PyTorch with a CUDA device")
    return torch


@pytest.fixture
def cupy_cuda():
    cupy = _cupy_cuda()
    if cupy is None or not sc.cuda_available():
        pytest.skip("needs CuPy with a CUDA device")
    return cupy


@pytest.fixture
def rng(request):
    # One seed per test, from its name: reproducible across runs, independent between tests.
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
