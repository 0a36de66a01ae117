// python/src/copyto.cpp — stridecopy.copyto(dst, src) and View.__setitem__: one copy from any view
// into any writable view, as np.copyto(dst, src, casting="no") and torch's copy_ do, with the
// library's copy(view, mutable_view) underneath (host or device on either side).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <optional>
#include <string>

#include "module.hpp"

namespace stridecopy::python {

using namespace nb::literals;

namespace {

/// True for what view_of reads as it is; anything else (a Python scalar, a list) goes through
/// numpy.asarray first, as np.copyto takes it.
bool array_like(nb::handle obj) {
  return nb::isinstance<py_view>(obj) || nb::isinstance<py_device_array>(obj) || PyObject_CheckBuffer(obj.ptr()) ||
         nb::hasattr(obj, "__dlpack__") || nb::hasattr(obj, "__cuda_array_interface__") ||
         nb::hasattr(obj, "__array_interface__");
}

std::string dtype_name(const py_view& v) {
  try {
    return nb::str(numpy_dtype(v)).c_str();
  } catch (nb::python_error&) {
    return to_descr(v.v.type);  // bfloat16 without ml_dtypes
  }
}

/// The same element type on both sides: the library's (size and kind) and, for the types NumPy
/// names more fully (records, datetimes, other packages' dtypes), NumPy's.
bool same_type(const py_view& a, const py_view& b) {
  if (!(a.v.type == b.v.type) || a.how != b.how) return false;
  if (a.how == element::plain || a.how == element::bfloat16) return true;
  return numpy_dtype(a).equal(numpy_dtype(b));
}

}  // namespace

void copy_into(const py_view& dst, nb::handle value, nb::handle stream, int threads, const char* who) {
  const std::string caller = who;
  if (!dst.src->writable)
    throw nb::value_error((caller + ": the destination (" + py_type_name(dst.src->owner) +
                           ") is read-only; NumPy says: assignment destination is read-only")
                              .c_str());
  py_view src;
  if (array_like(value)) {
    src = view_of(value);
  } else {
    // A scalar or a nested sequence: NumPy makes it an array of the destination's type.
    nb::object arr;
    try {
      arr = numpy_module().attr("asarray")(value, "dtype"_a = numpy_dtype(dst));
    } catch (nb::python_error& e) {
      nb::raise_from(
          e, PyExc_TypeError, "%s",
          (caller + ": cannot make an array of " + dtype_name(dst) + " from a " + py_type_name(value)).c_str());
    }
    src = view_of(arr);
  }
  if (!same_type(src, dst))
    throw nb::type_error((caller + ": the source has dtype " + dtype_name(src) + " and the destination " +
                          dtype_name(dst) +
                          "; stridecopy copies bytes and converts nothing (cast the source with .astype first)")
                             .c_str());
  const bool src_device = src.v.memory == memory_kind::device, dst_device = dst.v.memory == memory_kind::device;
  if (src_device && dst_device && std::max(src.src->device, 0) != std::max(dst.src->device, 0))
    throw nb::value_error((caller + ": the source is on cuda:" + std::to_string(src.src->device) +
                           " and the destination on cuda:" + std::to_string(dst.src->device) +
                           "; a copy runs on one device")
                              .c_str());
  const stream_arg s = parse_stream(stream);
  const int device = dst_device ? dst.src->device : src_device ? src.src->device : -1;
  const detail::device_guard on(usable_device(device));
  // Device memory is written and read after the producers' pending work on it, on the copy's stream.
  if (dst_device) dst.src->order_before(s);
  if (src_device) src.src->order_before(s);
  const mutable_view into = assume_writable(dst.v);
  const std::size_t bytes = std::size_t(element_count(dst.v.layout)) * std::size_t(dst.v.type.itemsize);
  // Both sides on the host and no stream to follow: a CPU copy, with no CUDA call at all.
  const bool on_cpu = !src_device && !dst_device && !s.given;
  std::optional<nb::gil_scoped_release> unlocked;
  if (!on_cpu || bytes >= (std::size_t(64) << 10)) unlocked.emplace();
  // Complete on return: both objects are only borrowed for the call.
  if (on_cpu)
    copy(src.v, into, {}, {.how = strategy::cpu, .threads = threads});
  else
    copy(src.v, into, s.handle, {.threads = threads});
}

void register_copyto(nb::module_& m) {
  m.def(
      "copyto",
      [](nb::handle dst, nb::handle src, nb::handle stream, int threads) {
        copy_into(view_of(dst), src, stream, threads, "copyto");
      },
      "dst"_a, "src"_a.none(), nb::kw_only(), "stream"_a.none() = nb::none(), "threads"_a = 0,
      nb::sig("def copyto(dst: object, src: object, *, stream: object = None, threads: int = 0) -> None"),
      "Copies src into dst as np.copyto(dst, src, casting=\"no\") does, in one pass, complete on return.\n\n"
      "dst: any writable array (numpy.ndarray, torch / CuPy tensor, DeviceArray, a View of one), host or "
      "device memory, strided or not. src: any array or View (host or device), or a scalar / sequence, "
      "broadcast to dst's shape by NumPy's rules. The dtypes must be equal (no conversion). Views of the "
      "same memory give NumPy's result, as if through a temporary. `stream` orders the copy after the work "
      "queued on it (device memory is copied on it); `threads` bounds a CPU copy's threads (0: "
      "get_num_threads()). Raises ValueError for a read-only dst or shapes that do not broadcast, TypeError "
      "for different dtypes, before anything is written. The GIL is released while copying.");
}

}  // namespace stridecopy::python
