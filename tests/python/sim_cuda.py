# tests/python/sim_cuda.py — device arrays over the CUDA runtime simulator (tests/sim), for the
# package's GPU paths on machines without a GPU: the simulator's runtime through ctypes, a producer
# exposing __cuda_array_interface__ (version 3, with its stream) and __dlpack__ / __dlpack_device__
# (kDLCUDA), and a DLPack consumer that reads on a stream of its own. STRIDECOPY_SIM_LIBRARY names the
# simulator's library (the package under test must be built against it).
import ctypes
import os

import numpy as np

from fake_dlpack import DELETER, DLDataType, DLDevice, DLManagedTensor, DLManagedTensorVersioned, DLPackVersion, DLTensor

KDL_CUDA = 2
H2D, D2H = 1, 2
_lib = None


def runtime():
    """The simulator's library, or None where the package is not built against it."""
    global _lib
    path = os.environ.get("STRIDECOPY_SIM_LIBRARY")
    if not path:
        return None
    if _lib is None:
        lib = ctypes.CDLL(path)
        p, sz, i, u = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_uint
        signatures = {
            "cudaMalloc": [ctypes.POINTER(p), sz],
            "cudaFree": [p],
            "cudaHostAlloc": [ctypes.POINTER(p), sz, u],
            "cudaFreeHost": [p],
            "cudaMemcpy": [p, p, sz, i],
            "cudaMemcpyAsync": [p, p, sz, i, p],
            "cudaStreamCreateWithFlags": [ctypes.POINTER(p), u],
            "cudaStreamDestroy": [p],
            "cudaStreamSynchronize": [p],
            "cudaStreamWaitEvent": [p, p, u],
            "cudaEventCreateWithFlags": [ctypes.POINTER(p), u],
            "cudaEventRecord": [p, p],
            "cudaEventDestroy": [p],
            "cudaDeviceSynchronize": [],
            "cudaGetDeviceCount": [ctypes.POINTER(i)],
            "cudaSetDevice": [i],
            "cudaGetDevice": [ctypes.POINTER(i)],
            "cudaGetLastError": [],
            "stridecopy_sim_sleep": [p, u],
            "stridecopy_sim_take_reports": [ctypes.c_char_p, sz],
            "stridecopy_sim_calls": [ctypes.c_char_p],
        }
        for name, args in signatures.items():
            f = getattr(lib, name)
            f.argtypes = args
            f.restype = ctypes.c_long if name.startswith("stridecopy_sim_") and name != "stridecopy_sim_sleep" else ctypes.c_int
        _lib = lib
    return _lib


def check(rc, what):
    if rc != 0:
        raise RuntimeError(f"{what} failed with CUDA error {rc}")


def stream(device=0):
    """A new non-blocking stream of `device`, as an int handle (leaked: tests make few)."""
    rt = runtime()
    with on_device(device):
        s = ctypes.c_void_p()
        check(rt.cudaStreamCreateWithFlags(ctypes.byref(s), 1), "cudaStreamCreateWithFlags")
    return s.value


def sleep(stream_handle, microseconds):
    """Queues work that takes `microseconds` on the stream, as a spinning kernel would."""
    check(runtime().stridecopy_sim_sleep(stream_handle, microseconds), "stridecopy_sim_sleep")


def synchronize(stream_handle=None):
    rt = runtime()
    if stream_handle is None:
        check(rt.cudaDeviceSynchronize(), "cudaDeviceSynchronize")
    else:
        check(rt.cudaStreamSynchronize(stream_handle), "cudaStreamSynchronize")


def take_reports():
    """The simulator's reports since the last call (what CUDA leaves undefined), as text."""
    buf = ctypes.create_string_buffer(1 << 16)
    runtime().stridecopy_sim_take_reports(buf, len(buf))
    return buf.value.decode()


def calls(api):
    """How many times host code has called the CUDA function `api` so far."""
    return runtime().stridecopy_sim_calls(api.encode())


def device_count():
    n = ctypes.c_int()
    check(runtime().cudaGetDeviceCount(ctypes.byref(n)), "cudaGetDeviceCount")
    return n.value


class on_device:
    """Makes `device` current for a with-block."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        d = ctypes.c_int()
        check(runtime().cudaGetDevice(ctypes.byref(d)), "cudaGetDevice")
        self.previous = d.value
        check(runtime().cudaSetDevice(self.device), "cudaSetDevice")

    def __exit__(self, *exc):
        runtime().cudaSetDevice(self.previous)


def wait_for(consumer, producer):
    """Makes stream `consumer` wait for the work queued on `producer` so far."""
    rt = runtime()
    e = ctypes.c_void_p()
    check(rt.cudaEventCreateWithFlags(ctypes.byref(e), 2), "cudaEventCreateWithFlags")
    check(rt.cudaEventRecord(e, producer), "cudaEventRecord")
    check(rt.cudaStreamWaitEvent(consumer, e, 0), "cudaStreamWaitEvent")
    rt.cudaEventDestroy(e)


_DL_CODES = {"b": 6, "i": 0, "u": 1, "f": 2, "c": 5}


class DeviceProducer:
    """`values` (a NumPy array) in simulated device memory, written on the producer's stream after
    `delay_us`, exported as a view with `index` applied (negative strides kept): through
    __cuda_array_interface__ with its stream, and through __dlpack__, which makes the consumer's
    stream wait for the producer's."""

    def __init__(self, values, index=(), delay_us=0, device=0, producer_stream=None):
        rt = runtime()
        self.base = np.ascontiguousarray(values)
        self.device = device
        self.stream = producer_stream if producer_stream is not None else stream(device)
        nbytes = max(self.base.nbytes, 1)
        with on_device(device):
            self.ptr = ctypes.c_void_p()
            check(rt.cudaMalloc(ctypes.byref(self.ptr), nbytes), "cudaMalloc")
            self.staging = ctypes.c_void_p()
            check(rt.cudaHostAlloc(ctypes.byref(self.staging), nbytes, 0), "cudaHostAlloc")
        ctypes.memmove(self.staging, self.base.ctypes.data, self.base.nbytes)
        if delay_us:
            sleep(self.stream, delay_us)
        check(rt.cudaMemcpyAsync(self.ptr, self.staging, self.base.nbytes, H2D, self.stream), "cudaMemcpyAsync")
        # The exported view: NumPy's layout of base[index], moved onto the device memory.
        host_view = self.base[index]
        self.expected = host_view
        self.shape = host_view.shape
        self.strides = host_view.strides
        offset = host_view.__array_interface__["data"][0] - self.base.__array_interface__["data"][0]
        self.data = self.ptr.value + offset
        self.exports = 0
        self._keep = []

    def rewrite(self, values, delay_us=0):
        """Writes `values` (the base's shape) on the producer's stream after `delay_us`; `expected`
        follows. Call it once earlier reads of the array have completed."""
        rt = runtime()
        check(rt.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")  # the staging copy is read
        self.base[...] = values
        ctypes.memmove(self.staging, self.base.ctypes.data, self.base.nbytes)
        if delay_us:
            sleep(self.stream, delay_us)
        check(rt.cudaMemcpyAsync(self.ptr, self.staging, self.base.nbytes, H2D, self.stream), "cudaMemcpyAsync")

    def close(self):
        rt = runtime()
        synchronize()
        rt.cudaFree(self.ptr)
        rt.cudaFreeHost(self.staging)

    @property
    def __cuda_array_interface__(self):
        return {
            "shape": self.shape,
            "typestr": self.base.dtype.str,
            "data": (self.data, False),
            "strides": self.strides,
            "version": 3,
            "stream": self.stream,
        }

    def __dlpack_device__(self):
        return (KDL_CUDA, self.device)

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        if stream is not None and stream != -1:
            wait_for(None if stream == 1 else stream, self.stream)
        itemsize = self.base.dtype.itemsize
        ndim = len(self.shape)
        shape = (ctypes.c_int64 * max(ndim, 1))(*self.shape)
        strides = (ctypes.c_int64 * max(ndim, 1))(*[s // itemsize for s in self.strides])
        tensor = DLTensor(
            data=self.data,
            device=DLDevice(KDL_CUDA, self.device),
            ndim=ndim,
            dtype=DLDataType(_DL_CODES[self.base.dtype.kind], itemsize * 8, 1),
            shape=ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64)),
            strides=ctypes.cast(strides, ctypes.POINTER(ctypes.c_int64)),
            byte_offset=0,
        )
        deleter = DELETER(lambda _: None)
        if max_version is not None and max_version[0] >= 1:
            managed = DLManagedTensorVersioned(version=DLPackVersion(1, 0), deleter=deleter, dl_tensor=tensor)
            name = b"dltensor_versioned"
        else:
            managed = DLManagedTensor(dl_tensor=tensor, deleter=deleter)
            name = b"dltensor"
        self._keep.append((shape, strides, managed, deleter))
        self.exports += 1
        new_capsule = ctypes.pythonapi.PyCapsule_New
        new_capsule.restype = ctypes.py_object
        new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        return new_capsule(ctypes.addressof(managed), name, None)


_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_set_name = ctypes.pythonapi.PyCapsule_SetName
_set_name.restype = ctypes.c_int
_set_name.argtypes = [ctypes.py_object, ctypes.c_char_p]


class DLPackConsumer:
    """Takes `obj` through DLPack as a consumer does: asks for it on its own stream, reads it there
    (after `delay_us`) into pinned memory, and releases the capsule (the producer's deleter) once it
    has queued that read, as a framework drops a tensor whose last use is still queued."""

    def __init__(self, obj, nbytes, delay_us=0, device=0):
        rt = runtime()
        self.stream = stream(device)
        capsule = obj.__dlpack__(stream=self.stream, max_version=(1, 0))
        managed = ctypes.cast(_get_pointer(capsule, b"dltensor_versioned"), ctypes.POINTER(DLManagedTensorVersioned))
        _set_name(capsule, b"used_dltensor_versioned")  # ours now: the capsule no longer frees it
        t = managed.contents.dl_tensor
        self.device = (t.device.device_type, t.device.device_id)
        self.shape = tuple(t.shape[k] for k in range(t.ndim))
        with on_device(device):
            self.out = ctypes.c_void_p()
            check(rt.cudaHostAlloc(ctypes.byref(self.out), max(nbytes, 1), 0), "cudaHostAlloc")
        if delay_us:
            sleep(self.stream, delay_us)
        check(rt.cudaMemcpyAsync(self.out, t.data, nbytes, D2H, self.stream), "cudaMemcpyAsync")
        self.nbytes = nbytes
        managed.contents.deleter(ctypes.cast(managed, ctypes.c_void_p))

    def result(self, dtype, shape):
        synchronize(self.stream)
        buf = (ctypes.c_char * self.nbytes).from_address(self.out.value)
        return np.frombuffer(bytes(buf), dtype=dtype).reshape(shape)
