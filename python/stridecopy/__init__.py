# python/stridecopy/__init__.py — the Python package: strided views of NumPy, PyTorch, CuPy or any
# DLPack / buffer-protocol array, copied once into C order on the CPU or the GPU.
"""Copy any strided view — NumPy basic indexing with negative steps included — into a contiguous
C-order array in one pass.

    import stridecopy as sc
    bgr = sc.view(imgs)[:, ::-1].numpy()     # NumPy, PyTorch (CPU or CUDA), CuPy, JAX, ...

``view(obj)`` wraps an array without copying; indexing, ``transpose``, ``.T`` and ``flip`` make new
views without touching data; ``.numpy()``, ``.to_device()`` and ``.save()`` copy. Errors: IndexError
for indices, ValueError / TypeError for views and types, OSError / ValueError for .npy files, and
:class:`CudaError` (a RuntimeError) for CUDA failures.
"""

from ._stridecopy import (
    CudaError as CudaError,
    DeviceArray as DeviceArray,
    View as View,
    cuda_available as cuda_available,
    get_num_threads as get_num_threads,
    load as load,
    release_cached_memory as release_cached_memory,
    set_num_threads as set_num_threads,
    view as view,
)

__version__ = "0.1.0"

__all__ = [
    "CudaError",
    "DeviceArray",
    "View",
    "cuda_available",
    "get_num_threads",
    "load",
    "release_cached_memory",
    "set_num_threads",
    "view",
]
