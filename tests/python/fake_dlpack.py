# tests/python/fake_dlpack.py — a DLPack producer written with ctypes: capsules of any type code,
# device label and version over NumPy memory, counting deleter calls, for what NumPy cannot export.
import ctypes

import numpy as np


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensor(ctypes.Structure):
    pass


DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", DELETER)]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [
        ("version", DLPackVersion),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", DELETER),
        ("flags", ctypes.c_uint64),
        ("dl_tensor", DLTensor),
    ]


_new_capsule = ctypes.pythonapi.PyCapsule_New
_new_capsule.restype = ctypes.py_object
_new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class Producer:
    """Exports `array`'s memory (element strides as given) with a chosen DLPack type and device.

    `deleted` counts deleter calls; everything a capsule points at is kept alive by this object.
    """

    def __init__(self, array, code, bits, device_type=1, lanes=1, versioned=True, major=1, strides=None):
        self.array = array
        self.code, self.bits, self.lanes = code, bits, lanes
        self.device_type = device_type
        self.versioned, self.major = versioned, major
        self.strides = strides
        self.deleted = 0
        self.exported = 0
        self._keep = []

        def on_delete(_):
            self.deleted += 1

        self._deleter = DELETER(on_delete)

    def __dlpack_device__(self):
        return (self.device_type, 0)

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        a = self.array
        itemsize = a.dtype.itemsize
        shape = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
        strides_elems = self.strides if self.strides is not None else [s // itemsize for s in a.strides]
        strides = (ctypes.c_int64 * max(a.ndim, 1))(*strides_elems)
        tensor = DLTensor(
            data=a.ctypes.data,
            device=DLDevice(self.device_type, 0),
            ndim=a.ndim,
            dtype=DLDataType(self.code, self.bits, self.lanes),
            shape=ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64)),
            strides=ctypes.cast(strides, ctypes.POINTER(ctypes.c_int64)),
            byte_offset=0,
        )
        use_versioned = self.versioned and max_version is not None and max_version[0] >= 1
        if use_versioned:
            managed = DLManagedTensorVersioned(version=DLPackVersion(self.major, 0), deleter=self._deleter, dl_tensor=tensor)
            name = b"dltensor_versioned"
        else:
            managed = DLManagedTensor(dl_tensor=tensor, deleter=self._deleter)
            name = b"dltensor"
        self._keep.append((shape, strides, managed))
        self.exported += 1
        # No capsule destructor: the deleter is the consumer's to call (and counted).
        return _new_capsule(ctypes.addressof(managed), name, None)


def bfloat16_producer(values):
    """float32 values exported as DLPack bfloat16 (code 4): their top 16 bits."""
    a = np.ascontiguousarray(np.asarray(values, np.float32)).view(np.uint32)
    top = (a >> 16).astype(np.uint16)
    return Producer(top, code=4, bits=16), top
