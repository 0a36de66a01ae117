# python/stridecopy/__init__.py — the Python package: strided views of NumPy, PyTorch, CuPy or any
# DLPack / buffer-protocol array, copied once into C order on the CPU or the GPU.
"""Copy any strided view — NumPy basic indexing with negative steps included — into a contiguous
C-order array in one pass.

    import stridecopy as sc
    bgr = sc.view(imgs)[:, ::-1].numpy()     # NumPy, PyTorch (CPU or CUDA), CuPy, JAX, ...

``view(obj)`` wraps an array without copying; indexing, ``transpose``, ``.T`` and ``flip`` make new
views without touching data; ``.numpy()``, ``.to_device()`` and ``.save()`` copy; ``copyto(dst, src)``
and ``view[key] = value`` copy any view into any writable one, host or device, as ``np.copyto`` does. Errors: IndexError
for indices (numpy.exceptions.AxisError for axes), ValueError / TypeError for views, types and
arguments, OSError subclasses by errno and ValueError for .npy files, and :class:`CudaError` (a
RuntimeError) for CUDA failures.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, BinaryIO, Literal, Union, overload

from . import _stridecopy
from ._version import __version__ as __version__
from ._stridecopy import (
    CudaError as CudaError,
    DeviceArray as DeviceArray,
    View as View,
    copyto as copyto,
    cuda_available as cuda_available,
    cuda_built as cuda_built,
    get_num_threads as get_num_threads,
    release_cached_memory as release_cached_memory,
    set_num_threads as set_num_threads,
    view as view,
)

if TYPE_CHECKING:
    import numpy


__all__ = [
    "CudaError",
    "DeviceArray",
    "View",
    "copyto",
    "cuda_available",
    "cuda_built",
    "get_num_threads",
    "load",
    "release_cached_memory",
    "set_num_threads",
    "view",
]

#: What ``load`` reads: a path, or a binary file open for reading (np.load's conventions).
_File = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]", BinaryIO]


# The result's type follows the device: a NumPy array on the host, a DeviceArray on a GPU.
@overload
def load(file: _File, index: object = None, device: Literal["cpu"] = "cpu",
         stream: None = None) -> numpy.ndarray: ...
@overload
def load(file: _File, index: object = None, *, device: Literal["cuda"], stream: object = None) -> DeviceArray: ...
@overload
def load(file: _File, index: object, device: Literal["cuda"], stream: object = None) -> DeviceArray: ...
@overload
def load(file: _File, index: object = None, device: object = "cpu",
         stream: object = None) -> numpy.ndarray | DeviceArray: ...


def load(file, index=None, device="cpu", stream=None):
    """Reads a .npy file (what np.save or View.save wrote), as np.load does.

    ``file`` is a path (str, bytes, os.PathLike) or a binary file open for reading, read from its
    position. Without ``index`` the whole array comes back as np.load gives it; with ``index`` (a key
    or an index string, as View indexing takes) its C-order copy, reading only what the index touches.
    ``device`` is "cpu" (a numpy.ndarray) or a CUDA device as torch spells it ("cuda", "cuda:1", an int,
    a torch.device): a DeviceArray, copied host to device on ``stream``. Missing or unreadable files
    raise OSError subclasses by errno (FileNotFoundError, ...); malformed ones, and files truncated
    while read, ValueError.
    """
    return _stridecopy.load(file, index, device, stream)
