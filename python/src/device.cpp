// python/src/device.cpp — view.to_device() and stridecopy.DeviceArray: owned device memory exported
// through DLPack and __cuda_array_interface__, ordered with its consumers' streams by events.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "device_state.hpp"
#include "dlpack.hpp"
#include "module.hpp"

namespace stridecopy::python {

using namespace nb::literals;

namespace {

/// A consumer's stream argument (array API): None is the legacy default stream, -1 asks for no
/// ordering, 0 is disallowed, 1 and 2 name the legacy and per-thread default streams.
struct consumer_stream {
  bool order = true;
  cudaStream_t handle = nullptr;
};
consumer_stream parse_consumer(nb::handle stream) {
  consumer_stream c;
  if (stream.is_none()) return c;
  if (PyBool_Check(stream.ptr()) || !PyLong_Check(stream.ptr()))
    throw nb::type_error("__dlpack__: stream must be None or an int (array API)");
  const auto value = nb::cast<long long>(stream);
  if (value == -1) {
    c.order = false;
  } else if (value == 0) {
    throw nb::value_error(
        "__dlpack__: stream 0 is ambiguous and disallowed by the array API; pass 1 for the legacy "
        "default stream");
  } else if (value < -1) {
    throw nb::value_error(("__dlpack__: stream " + std::to_string(value) + " is not a stream").c_str());
  } else {
    c.handle = value == 1 ? cudaStreamLegacy : reinterpret_cast<cudaStream_t>(static_cast<std::uintptr_t>(value));
  }
  return c;
}

// ---- DLPack export

struct export_ctx {
  device_ptr st;
  std::int64_t shape[max_rank] = {};
  bool order_free = false;  ///< free only after the consumer's stream passes its last use
  cudaStream_t consumer = nullptr;
};

template <class M>
void export_deleter(M* m) {
  auto* ctx = static_cast<export_ctx*>(m->manager_ctx);
  if (ctx->order_free) {
    // The consumer has queued its last use of the memory on its stream by now: the free must wait
    // for it. On the array's device: a default stream is that device's, and an event must be
    // recorded on a stream of its own device.
    const detail::device_guard on(ctx->st->device, std::nothrow);
    try {
      detail::owned_event e = detail::owned_event::create();
      STRIDECOPY_CUDA_TRY(cudaEventRecord(e.get(), ctx->consumer));
      ctx->st->add_use(std::move(e));
    } catch (...) {
      // Nothing to order the free after: wait for the device instead (the free follows).
      (void)cudaDeviceSynchronize();
    }
    (void)cudaGetLastError();
  }
  delete ctx;
  delete m;
}

template <class M>
void capsule_destructor(PyObject* cap) {
  constexpr bool versioned = std::is_same_v<M, DLManagedTensorVersioned>;
  const char* name = versioned ? "dltensor_versioned" : "dltensor";
  // A consumer renames the capsule when it takes ownership; only an unconsumed one is ours to free.
  if (PyCapsule_IsValid(cap, name)) {
    auto* m = static_cast<M*>(PyCapsule_GetPointer(cap, name));
    if (m && m->deleter) m->deleter(m);
  }
}

DLDataType dl_type(const py_device_array& a) {
  const dtype& t = a.st->array.type();
  DLDataType d{};
  d.bits = std::uint8_t(t.itemsize * 8);
  d.lanes = 1;
  if (a.how == element::bfloat16) {
    d.code = kDLBfloat;
    return d;
  }
  if (a.how != element::plain)
    throw nb::buffer_error(
        ("DLPack has no type for " + to_descr(t) + "; read it through __cuda_array_interface__").c_str());
  switch (t.kind) {
    case 'b': d.code = kDLBool; break;
    case 'i': d.code = kDLInt; break;
    case 'u': d.code = kDLUInt; break;
    case 'f': d.code = kDLFloat; break;
    default: d.code = kDLComplex; break;
  }
  return d;
}

template <class M>
nb::object make_capsule(const py_device_array& a, const consumer_stream& c) {
  auto* ctx = new export_ctx;
  ctx->st = a.st;
  ctx->order_free = c.order;
  ctx->consumer = c.handle;
  const std::span<const std::int64_t> shape = a.st->array.shape();
  std::copy(shape.begin(), shape.end(), ctx->shape);
  auto* m = new M{};
  m->manager_ctx = ctx;
  m->deleter = export_deleter<M>;
  DLTensor& t = m->dl_tensor;
  t.data = a.st->array.data();
  t.device = DLDevice{kDLCUDA, a.st->device};
  t.ndim = std::int32_t(shape.size());
  t.dtype = dl_type(a);
  t.shape = ctx->shape;
  t.strides = nullptr;  // C-contiguous
  t.byte_offset = 0;
  constexpr bool versioned = std::is_same_v<M, DLManagedTensorVersioned>;
  if constexpr (versioned) m->version = DLPackVersion{1, 0};
  PyObject* cap = PyCapsule_New(m, versioned ? "dltensor_versioned" : "dltensor", capsule_destructor<M>);
  if (!cap) {
    m->deleter(m);
    throw nb::python_error();
  }
  return nb::steal(cap);
}

nb::object device_dlpack(const py_device_array& self, nb::handle stream, nb::handle max_version, nb::handle dl_device,
                         nb::handle copy) {
  device_state& st = *self.st;
  st.settle();
  if (!dl_device.is_none()) {
    const int type = nb::cast<int>(dl_device[0]), id = nb::cast<int>(dl_device[1]);
    if (type != kDLCUDA || id != st.device)
      throw nb::buffer_error(("__dlpack__: this array is on (2, " + std::to_string(st.device) + "); dl_device=(" +
                              std::to_string(type) + ", " + std::to_string(id) + ") would need a copy")
                                 .c_str());
  }
  if (!copy.is_none() && nb::cast<bool>(copy))
    throw nb::buffer_error("__dlpack__: copy=True is not supported (the array exports its own memory)");
  const consumer_stream c = parse_consumer(stream);
  (void)dl_type(self);  // an unsupported type fails before any ordering
  if (c.order) {
    const detail::device_guard on(st.device);  // the consumer's default stream is the array's device's
    if (cudaError_t rc = cudaStreamWaitEvent(c.handle, st.ready.get(), 0); rc != cudaSuccess)
      cuda_failed("cudaStreamWaitEvent", rc);
  }
  const bool versioned = !max_version.is_none() && nb::cast<int>(max_version[0]) >= 1;
  return versioned ? make_capsule<DLManagedTensorVersioned>(self, c) : make_capsule<DLManagedTensor>(self, c);
}

nb::dict cuda_array_interface(py_device_array& self) {
  device_state& st = *self.st;
  st.settle();
  st.mark_shared();
  const std::string typestr = self.how == element::bfloat16 ? "<V2" : to_descr(st.array.type());
  nb::dict d;
  nb::list shape;
  for (std::int64_t x : st.array.shape()) shape.append(x);
  d["shape"] = nb::tuple(shape);
  d["typestr"] = typestr;
  if (self.how == element::opaque && self.dtype.is_valid()) {
    d["descr"] = self.dtype.attr("descr");
  } else {
    nb::list descr;
    descr.append(nb::make_tuple("", typestr));
    d["descr"] = descr;
  }
  d["data"] = nb::make_tuple(reinterpret_cast<std::uintptr_t>(st.array.data()), false);
  d["strides"] = nb::none();
  d["version"] = 3;
  // The consumer synchronises on the stream the copy was queued on (1: the legacy default stream).
  d["stream"] = stream_protocol_value(st.stream);
  return d;
}

std::string device_repr(py_device_array& self) {
  std::string dt;
  try {
    dt = nb::str(numpy_dtype_of(self.st->array.type(), self.how, self.dtype)).c_str();
  } catch (nb::python_error&) {
    dt = "bfloat16";
  }
  return "stridecopy.DeviceArray(shape=" + shape_string(self.st->array.shape()) + ", dtype=" + dt +
         ", device='cuda:" + std::to_string(self.st->device) + "')";
}

}  // namespace

void device_state::settle() {
  if (!pending || !ready) return;
  if (cudaEventQuery(ready.get()) == cudaSuccess)
    pending.reset();
  else
    (void)cudaGetLastError();  // "not ready" is not an error
}

void device_state::add_use(detail::owned_event e) {
  const std::lock_guard<std::mutex> lock(mutex_);
  uses_.push_back(std::move(e));
}

void device_state::mark_shared() {
  const std::lock_guard<std::mutex> lock(mutex_);
  shared_ = true;
}

device_state::~device_state() {
  // The memory is freed on the library's stream of its device, after every use known of it.
  const detail::device_guard on(device, std::nothrow);
  cudaStream_t free_on = nullptr;
  try {
    // Made when the memory was allocated on it: looked up, not created, here.
    if (array.data()) free_on = memory_stream(device);
  } catch (...) {
    // Then the memory goes back on the stream it came from, after the work queued there alone.
  }
  if (free_on) {
    if (ready) (void)cudaStreamWaitEvent(free_on, ready.get(), 0);
    for (const detail::owned_event& e : uses_) (void)cudaStreamWaitEvent(free_on, e.get(), 0);
    // Consumers through __cuda_array_interface__ name no stream: wait for the device, as cudaFree does.
    if (shared_) (void)cudaDeviceSynchronize();
  }
  array = device_array{};
  // The events go here, not with the members: the check below then also clears what they leave.
  uses_.clear();
  ready = detail::owned_event{};
  (void)cudaGetLastError();
}

cudaStream_t memory_stream(int device) {
  static std::mutex mutex;
  static std::vector<cudaStream_t>* streams = new std::vector<cudaStream_t>;  // never destroyed
  const std::lock_guard<std::mutex> lock(mutex);
  if (device < 0) return nullptr;
  if (streams->size() <= std::size_t(device)) streams->resize(std::size_t(device) + 1, nullptr);
  cudaStream_t& s = (*streams)[std::size_t(device)];
  if (!s) {
    const detail::device_guard on(device);
    if (cudaError_t rc = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking); rc != cudaSuccess) {
      s = nullptr;
      cuda_failed("cudaStreamCreateWithFlags", rc);
    }
  }
  return s;
}

device_ptr make_device_state() {
  // DLPack consumers may drop the last reference on any thread, without the GIL.
  return device_ptr(new device_state, [](device_state* s) {
    if (!nb::is_alive()) {
      (void)s->stream_owner.release();  // the interpreter is gone: leak the reference, not crash
      delete s;
      return;
    }
    nb::gil_scoped_acquire gil;
    delete s;
  });
}

nb::object make_py_device_array(device_ptr st, element how, nb::object np_dtype) {
  py_device_array a;
  a.st = std::move(st);
  a.how = how;
  a.dtype = std::move(np_dtype);
  return nb::cast(std::move(a));
}

nb::object to_device_array(const py_view& v, const stream_arg& s, int target) {
  if (!cuda_available()) detail::no_device("to_device");
  const bool from_device = v.v.memory == memory_kind::device;
  if (from_device) v.src->order_before(s);
  device_ptr st = make_device_state();
  st->stream = s.handle;
  st->stream_owner = s.owner;
  {
    nb::gil_scoped_release unlocked;
    int device = target >= 0 ? target : v.src->device;
    if (device < 0)
      if (cudaError_t rc = cudaGetDevice(&device); rc != cudaSuccess) cuda_failed("cudaGetDevice", rc);
    const detail::device_guard on(device);
    st->device = device;
    // Allocated (and later freed) on the library's stream; the caller's stream waits for the
    // allocation before its copy.
    const cudaStream_t alloc = memory_stream(device);
    st->array = device_array(v.v.type, v.v.shape(), alloc);
    st->ready = detail::owned_event::create();
    if (cudaError_t rc = cudaEventRecord(st->ready.get(), alloc); rc != cudaSuccess) cuda_failed("cudaEventRecord", rc);
    if (cudaError_t rc = cudaStreamWaitEvent(s.handle, st->ready.get(), 0); rc != cudaSuccess)
      cuda_failed("cudaStreamWaitEvent", rc);
    (void)copy_async(v.v, st->array.data(), st->array.bytes(), s.handle);
    if (cudaError_t rc = cudaEventRecord(st->ready.get(), s.handle); rc != cudaSuccess)
      cuda_failed("cudaEventRecord", rc);
    // Host memory may change or go away once this returns (NumPy has no streams): wait for it.
    if (!from_device)
      if (cudaError_t rc = cudaStreamSynchronize(s.handle); rc != cudaSuccess) cuda_failed("cudaStreamSynchronize", rc);
  }
  // A device source must outlive the queued copy: its owner's allocator may hand the memory to other work.
  if (from_device) st->pending = v.src;
  return make_py_device_array(std::move(st), v.how, v.dtype);
}

void register_device_array(nb::module_& m) {
  nb::class_<py_device_array>(m, "DeviceArray",
                              "A C-order array in device memory owned by stridecopy (what View.to_device returns). "
                              "torch.from_dlpack and cupy.from_dlpack take it without a copy; the memory is freed, in "
                              "stream order, when the last holder lets go.")
      .def_prop_ro(
          "shape",
          [](const py_device_array& a) {
            nb::list l;
            for (std::int64_t x : a.st->array.shape()) l.append(x);
            return nb::tuple(l);
          },
          nb::sig("def shape(self) -> tuple[int, ...]"), "The shape, as a tuple.")
      .def_prop_ro(
          "strides",
          [](const py_device_array& a) {
            nb::list l;
            const layout& array_layout = a.st->array.layout();
            for (int i = 0; i < array_layout.rank; ++i) l.append(array_layout.stride[i] * a.st->array.type().itemsize);
            return nb::tuple(l);
          },
          nb::sig("def strides(self) -> tuple[int, ...]"), "The strides in bytes (C order).")
      .def_prop_ro(
          "dtype", [](const py_device_array& a) { return numpy_dtype_of(a.st->array.type(), a.how, a.dtype); },
          nb::sig("def dtype(self) -> numpy.dtype"), "The element type as a numpy.dtype.")
      .def_prop_ro(
          "device", [](const py_device_array& a) { return "cuda:" + std::to_string(a.st->device); },
          "\"cuda:N\", the device that holds the memory.")
      .def_prop_ro(
          "ndim", [](const py_device_array& a) { return a.st->array.layout().rank; }, "The number of dimensions.")
      .def_prop_ro(
          "size", [](const py_device_array& a) { return a.st->array.size(); }, "The number of elements.")
      .def_prop_ro(
          "nbytes", [](const py_device_array& a) { return a.st->array.bytes(); }, "The bytes it holds.")
      .def_prop_ro(
          "data_ptr", [](const py_device_array& a) { return reinterpret_cast<std::uintptr_t>(a.st->array.data()); },
          "The device address of the first element.")
      .def_prop_ro(
          "stream", [](const py_device_array& a) { return stream_protocol_value(a.st->stream); },
          "The stream the copy was queued on, as the array API names it (1: the legacy default stream).")
      .def("__dlpack__", &device_dlpack, nb::kw_only(), "stream"_a.none() = nb::none(),
           "max_version"_a.none() = nb::none(), "dl_device"_a.none() = nb::none(), "copy"_a.none() = nb::none(),
           nb::sig("def __dlpack__(self, *, stream: int | None = None, max_version: tuple[int, int] | None = None, "
                   "dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> object"),
           "DLPack export (array API): `stream` is the consumer's; it waits for the copy that made this array "
           "(None: the legacy default stream, -1: no ordering).")
      .def(
          "__dlpack_device__", [](const py_device_array& a) { return nb::make_tuple(int(kDLCUDA), a.st->device); },
          nb::sig("def __dlpack_device__(self) -> tuple[int, int]"), "(2, device): kDLCUDA.")
      .def_prop_ro("__cuda_array_interface__", &cuda_array_interface,
                   nb::sig("def __cuda_array_interface__(self) -> dict[str, object]"),
                   "Version 3 of Numba's CUDA array interface; 'stream' is the stream the copy was queued on.")
      .def(
          "numpy",
          [](nb::handle self, nb::handle out, nb::handle stream) {
            py_view v = view_of(self);
            return view_numpy(v, out, stream);
          },
          "out"_a.none() = nb::none(), "stream"_a.none() = nb::none(),
          nb::sig("def numpy(self, out: numpy.ndarray | None = None, stream: object = None) -> numpy.ndarray"),
          "The array copied back to host memory: stridecopy.view(self).numpy(out, stream).")
      .def(
          "view", [](nb::handle self) { return view_of(self); }, nb::sig("def view(self) -> View"),
          "A View of this array, to index lazily: stridecopy.view(self).")
      .def("__repr__", &device_repr);
}

// ---- device sources

int device_of_pointer(const void* p) {
  if (!cuda_available()) return 0;
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return a.device >= 0 ? a.device : 0;
}

namespace {

/// Makes `consumer` wait for the work queued on `producer` so far, through one event per device
/// (created on first use, never destroyed: it may be needed during teardown). Recorded and waited
/// for under a lock, the event can be reused at once: a wait takes its state when it is queued.
/// Called with the device current.
cudaError_t wait_for_producer(int device, cudaStream_t producer, cudaStream_t consumer) {
  if (producer == consumer) return cudaSuccess;  // stream order already holds
  static std::mutex mutex;
  static auto* events = new std::vector<cudaEvent_t>();
  const std::lock_guard<std::mutex> lock(mutex);
  if (events->size() <= std::size_t(device)) events->resize(std::size_t(device) + 1, nullptr);
  cudaEvent_t& e = (*events)[std::size_t(device)];
  if (!e) {
    cudaEvent_t made = nullptr;
    if (const cudaError_t rc = cudaEventCreateWithFlags(&made, cudaEventDisableTiming); rc != cudaSuccess) return rc;
    e = made;
  }
  cudaError_t rc = cudaEventRecord(e, producer);
  if (rc == cudaSuccess) rc = cudaStreamWaitEvent(consumer, e, 0);
  return rc;
}

}  // namespace

void source::order_before(const stream_arg& s) const {
  if (device < 0) return;
  // The default stream is the current device's, and PyTorch exports only on the current device.
  const detail::device_guard on(usable_device(device));
  switch (how) {
    case kind::dlpack: {
      // The producer makes our stream wait for its own pending work (array API: consumer's stream).
      const long long value = stream_protocol_value(s.handle);
      nb::object fn = owner.attr("__dlpack__");
      try {
        (void)fn("stream"_a = value);
      } catch (nb::python_error& e) {
        // PyTorch refuses the per-thread default stream, which waits for the legacy one anyway.
        if (value != 2 || !e.matches(PyExc_BufferError)) throw;
        (void)fn("stream"_a = 1);
      }
      break;
    }
    case kind::cuda_array_interface: {
      nb::dict d = nb::cast<nb::dict>(owner.attr("__cuda_array_interface__"));
      if (!d.contains("stream") || d["stream"].is_none()) break;
      const auto value = nb::cast<long long>(d["stream"]);
      if (value == 0) throw nb::value_error("__cuda_array_interface__['stream'] is 0, which the protocol disallows");
      cudaStream_t producer = value == 1   ? cudaStreamLegacy
                              : value == 2 ? cudaStreamPerThread
                                           : reinterpret_cast<cudaStream_t>(static_cast<std::uintptr_t>(value));
      nb::gil_scoped_release unlocked;
      if (const cudaError_t rc = wait_for_producer(device, producer, s.handle); rc != cudaSuccess) {
        (void)cudaGetLastError();
        throw cuda_error(std::string("ordering after the producer's stream failed: ") + cudaGetErrorString(rc),
                         int(rc));
      }
      break;
    }
    case kind::device_result: {
      result->settle();
      const cudaError_t rc = cudaStreamWaitEvent(s.handle, result->ready.get(), 0);
      if (rc != cudaSuccess) {
        (void)cudaGetLastError();
        throw cuda_error(std::string("cudaStreamWaitEvent failed: ") + cudaGetErrorString(rc), int(rc));
      }
      break;
    }
    default: break;
  }
}

bool view_of_device_array(nb::handle obj, py_view& out) {
  if (!nb::isinstance<py_device_array>(obj)) return false;
  const auto& d = nb::cast<const py_device_array&>(obj);
  source_ptr src = make_source();
  src->how = source::kind::device_result;
  src->owner = nb::borrow(obj);
  src->result = d.st;
  src->device = d.st->device;
  src->writable = true;
  out.v = d.st->array.as_view();
  out.how = d.how;
  out.dtype = d.dtype;
  out.src = std::move(src);
  return true;
}

}  // namespace stridecopy::python
