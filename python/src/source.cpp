// python/src/source.cpp — sc.view(obj): a view of anything with the buffer protocol, __dlpack__,
// __cuda_array_interface__ or __array_interface__, without copying; stream arguments.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "dlpack.hpp"
#include "module.hpp"

namespace stridecopy::python {

using namespace nb::literals;

std::string py_type_name(nb::handle obj) { return nb::type_name(obj.type()).c_str(); }

nb::object optional_attr(nb::handle obj, const char* name) {
  PyObject* r = PyObject_GetAttrString(obj.ptr(), name);
  if (r) return nb::steal(r);
  if (!PyErr_ExceptionMatches(PyExc_AttributeError)) throw nb::python_error();
  PyErr_Clear();
  return {};
}

element classify(const dtype& t) {
  if (t.byteorder == '>') return element::viewed;
  switch (t.kind) {
    case 'b':
    case 'i':
    case 'u': return element::plain;
    case 'f': return t.itemsize <= 8 ? element::plain : element::viewed;
    case 'c': return t.itemsize <= 16 ? element::plain : element::viewed;
    default: return element::viewed;
  }
}

namespace {

/// PEP 3118 format of one element → dtype. False when the format names something the library has
/// no kind for (structs, sub-arrays, pointers): the caller then copies it as opaque bytes.
bool parse_format(const char* format, Py_ssize_t itemsize, dtype& t) {
  const char* f = format ? format : "B";
  bool big = false;
  if (*f == '@' || *f == '=' || *f == '<' || *f == '>' || *f == '!') big = (*f == '>' || *f == '!'), ++f;
  long count = -1;
  if (*f >= '0' && *f <= '9') {
    count = 0;
    while (*f >= '0' && *f <= '9') count = count * 10 + (*f++ - '0');
  }
  char kind = 0;
  const char code = *f++;
  const bool complex = code == 'Z';
  const char c = complex ? *f++ : code;
  if (*f != '\0') return false;  // more than one item per element
  if (complex) {
    if (c == 'f' || c == 'd' || c == 'g') kind = 'c';
  } else if (c == '?') {
    kind = 'b';
  } else if (std::strchr("bhilqn", c)) {
    kind = 'i';
  } else if (std::strchr("BHILQN", c)) {
    kind = 'u';
  } else if (c == 'e' || c == 'f' || c == 'd' || c == 'g') {
    kind = 'f';
  } else if (c == 's' || c == 'c') {
    kind = 'S';
  } else if (c == 'w') {
    kind = 'U';
  } else if (c == 'x') {
    kind = 'V';
  }
  if (!kind || itemsize < 1 || itemsize > 1 << 30) return false;
  if (count > 1 && kind != 'S' && kind != 'U' && kind != 'V') return false;
  const bool unordered = kind == 'b' || kind == 'S' || kind == 'V' || itemsize == 1;
  t = dtype{kind, int(itemsize), unordered ? '|' : (big ? '>' : '<')};
  try {
    validate(t);
  } catch (const error&) {
    return false;
  }
  return true;
}

bool is_numpy_dtype(nb::handle d) {
  return d.is_valid() && !d.is_none() && PyObject_IsInstance(d.ptr(), numpy_module().attr("dtype").ptr()) == 1;
}

/// A dtype another package registered with NumPy (ml_dtypes' bfloat16, float8_*, int4, ...): its
/// scalar type lives outside NumPy. Their typestr ('<V1', '<f1') does not name them.
bool is_custom_dtype(nb::handle d) {
  const std::string module = nb::cast<std::string>(nb::getattr(d.attr("type"), "__module__", nb::str("numpy")));
  return module != "numpy" && module.rfind("numpy.", 0) != 0;
}

/// A dtype the library copies as opaque bytes, named by NumPy's dtype `d`.
void set_opaque(py_view& v, nb::handle d) {
  const int itemsize = nb::cast<int>(d.attr("itemsize"));
  if (itemsize < 1) throw nb::type_error(("dtype " + std::string(nb::str(d).c_str()) + " has no fixed size").c_str());
  v.v.type = dtype{'V', itemsize, '|'};
  const std::string name = nb::cast<std::string>(d.attr("name"));
  const std::string kind = nb::cast<std::string>(d.attr("kind"));
  if (kind == "O") throw nb::type_error("object arrays hold Python pointers, which cannot be copied as data");
  v.how = (name == "bfloat16" && itemsize == 2) ? element::bfloat16
          : is_custom_dtype(d)                  ? element::custom
                                                : element::opaque;
  v.dtype = nb::borrow(d);
}

/// NumPy's dtype for a buffer whose PEP 3118 format the library does not read (a struct: a record
/// through a memoryview), or an empty object where NumPy cannot read it either.
nb::object numpy_dtype_of_buffer(nb::handle obj, Py_ssize_t itemsize) {
  try {
    nb::object d = numpy_module().attr("asarray")(obj).attr("dtype");
    if (is_numpy_dtype(d) && nb::cast<Py_ssize_t>(d.attr("itemsize")) == itemsize) return d;
  } catch (nb::python_error&) {
  }
  return {};
}

/// Byte strides → element strides. Extents of 0 or 1 never use theirs; any other must be whole elements.
std::vector<std::int64_t> element_strides(const std::vector<std::int64_t>& bytes,
                                          const std::vector<std::int64_t>& shape, int itemsize) {
  std::vector<std::int64_t> out(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] % itemsize == 0) {
      out[i] = bytes[i] / itemsize;
    } else if (shape[i] <= 1) {
      out[i] = 0;
    } else {
      std::string s = "(";
      for (std::size_t k = 0; k < bytes.size(); ++k) s += (k ? ", " : "") + std::to_string(bytes[k]);
      throw nb::value_error(("strides " + s + (bytes.size() == 1 ? ",)" : ")") +
                             " (bytes) are not multiples of the itemsize " + std::to_string(itemsize) +
                             "; stridecopy walks whole elements (copy a packed field with "
                             "np.ascontiguousarray first)")
                                .c_str());
    }
  }
  return out;
}

// ---- the buffer protocol

bool from_buffer(nb::handle obj, py_view& out) {
  source_ptr src = make_source();
  if (PyObject_GetBuffer(obj.ptr(), &src->buffer, PyBUF_RECORDS_RO) != 0) {
    PyErr_Clear();
    return false;
  }
  src->has_buffer = true;
  src->how = source::kind::buffer;
  src->writable = src->buffer.readonly == 0;
  src->owner = nb::borrow(obj);
  const Py_buffer& b = src->buffer;
  if (b.suboffsets) throw nb::value_error("buffers with suboffsets (arrays of pointers) are not strided views");
  const int ndim = b.ndim;
  std::vector<std::int64_t> shape(b.shape, b.shape + ndim), bytes(static_cast<std::size_t>(ndim));
  if (b.strides) {
    std::copy(b.strides, b.strides + ndim, bytes.begin());
  } else {
    // No strides (ctypes arrays, among others): the buffer protocol's word for C-contiguous.
    // (Unsigned: a buffer that lies about its shape wraps here and is refused by make_view.)
    std::uint64_t step = std::uint64_t(b.itemsize);
    for (int i = ndim - 1; i >= 0; --i) {
      bytes[std::size_t(i)] = static_cast<std::int64_t>(step);
      step *= static_cast<std::uint64_t>(shape[std::size_t(i)]);
    }
  }
  dtype t;
  if (b.format && std::strcmp(b.format, "O") == 0)
    throw nb::type_error("object arrays hold Python pointers, which cannot be copied as data");
  if (parse_format(b.format, b.itemsize, t)) {
    out.v.type = t;
    out.how = classify(t);
  } else {
    // A record or other layout NumPy describes: bytes, typed by the owner's dtype where it has one,
    // else by NumPy's reading of the format (a memoryview of a record array names its fields there).
    nb::object d = nb::getattr(obj, "dtype", nb::none());
    if (!is_numpy_dtype(d) || nb::cast<Py_ssize_t>(d.attr("itemsize")) != b.itemsize)
      d = numpy_dtype_of_buffer(obj, b.itemsize);
    if (is_numpy_dtype(d)) {
      set_opaque(out, d);
    } else {
      out.v.type = dtype{'V', int(b.itemsize), '|'};
      out.how = element::viewed;
    }
  }
  const std::vector<std::int64_t> strides = element_strides(bytes, shape, out.v.type.itemsize);
  out.v = make_view(b.buf, out.v.type, shape, strides, memory_kind::pageable);
  out.src = std::move(src);
  return true;
}

// ---- DLPack

void delete_managed(void* managed, bool versioned) {
  if (versioned) {
    auto* m = static_cast<DLManagedTensorVersioned*>(managed);
    if (m->deleter) m->deleter(m);
  } else {
    auto* m = static_cast<DLManagedTensor*>(managed);
    if (m->deleter) m->deleter(m);
  }
}

nb::object call_dlpack(nb::handle obj, bool device) {
  nb::object fn = obj.attr("__dlpack__");
  try {
    if (device) return fn("stream"_a = -1, "max_version"_a = nb::make_tuple(1, 0));
    return fn("max_version"_a = nb::make_tuple(1, 0));
  } catch (nb::python_error& e) {
    if (!e.matches(PyExc_TypeError)) throw;  // a producer from before max_version takes only stream
  }
  if (device) return fn("stream"_a = -1);
  return fn();
}

void dlpack_type(const DLDataType& d, py_view& out) {
  const std::string what = "DLPack type (code " + std::to_string(d.code) + ", " + std::to_string(d.bits) + " bits, " +
                           std::to_string(d.lanes) + " lanes)";
  if (d.lanes != 1) throw nb::type_error((what + ": vector lanes are not supported").c_str());
  const int bytes = d.bits / 8;
  const bool whole = d.bits % 8 == 0;
  char kind = 0;
  switch (d.code) {
    case kDLInt: kind = 'i'; break;
    case kDLUInt: kind = 'u'; break;
    case kDLFloat: kind = (bytes == 2 || bytes == 4 || bytes == 8) ? 'f' : 0; break;
    case kDLComplex: kind = (bytes == 8 || bytes == 16) ? 'c' : 0; break;
    case kDLBool: kind = bytes == 1 ? 'b' : 0; break;
    case kDLBfloat:
      if (d.bits == 16) {
        out.v.type = dtype{'V', 2, '|'};
        out.how = element::bfloat16;
        return;
      }
      break;
    default: break;
  }
  if ((kind == 'i' || kind == 'u') && !(bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8)) kind = 0;
  if (!kind || !whole) throw nb::type_error((what + " has no NumPy equivalent stridecopy supports").c_str());
  out.v.type = dtype{kind, bytes, (bytes == 1 || kind == 'b') ? '|' : '<'};
  out.how = element::plain;
}

/// False when the producer refused the export (kept in `failure`): another protocol may do.
bool from_dlpack(nb::handle obj, py_view& out, std::optional<nb::python_error>& failure) {
  int device_type = kDLCPU, device_id = 0;
  if (nb::hasattr(obj, "__dlpack_device__")) {
    nb::object d = obj.attr("__dlpack_device__")();
    device_type = nb::cast<int>(d[0]);
    device_id = nb::cast<int>(d[1]);
  }
  const bool on_device = device_type == kDLCUDA || device_type == kDLCUDAManaged;
  nb::object capsule;
  try {
    // PyTorch exports a tensor only while its device is the current one.
    const detail::device_guard on(usable_device(on_device ? device_id : -1));
    capsule = call_dlpack(obj, on_device);
  } catch (nb::python_error& e) {
    // NumPy refuses types DLPack has no code for (bfloat16, datetime), PyTorch tensors that need
    // a gradient: another protocol may still do, else the producer's reason is the message.
    if (!e.matches(PyExc_BufferError) && !e.matches(PyExc_ValueError) && !e.matches(PyExc_TypeError) &&
        !e.matches(PyExc_RuntimeError))
      throw;
    failure.emplace(std::move(e));
    return false;
  }
  source_ptr src = make_source();
  src->how = source::kind::dlpack;
  src->owner = nb::borrow(obj);
  PyObject* cap = capsule.ptr();
  DLTensor* t = nullptr;
  if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, "dltensor_versioned"));
    if (PyCapsule_SetName(cap, "used_dltensor_versioned") != 0) throw nb::python_error();
    if (m->version.major != 1) {
      delete_managed(m, true);
      throw nb::buffer_error(("DLPack version " + std::to_string(m->version.major) + "." +
                              std::to_string(m->version.minor) + " is not supported (stridecopy reads 1.x)")
                                 .c_str());
    }
    src->managed = m;
    src->versioned = true;
    src->writable = (m->flags & DLPACK_FLAG_BITMASK_READ_ONLY) == 0;
    t = &m->dl_tensor;
  } else if (PyCapsule_IsValid(cap, "dltensor")) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
    if (PyCapsule_SetName(cap, "used_dltensor") != 0) throw nb::python_error();
    src->managed = m;
    src->writable = true;  // DLPack before 1.0 has no read-only flag: producers export writable memory
    t = &m->dl_tensor;
  } else {
    PyErr_Clear();
    throw nb::type_error(
        (py_type_name(obj) + ".__dlpack__() returned something other than an unused DLPack capsule").c_str());
  }
  memory_kind memory = memory_kind::pageable;
  switch (t->device.device_type) {
    case kDLCPU: break;
    case kDLCUDAHost: memory = memory_kind::pinned; break;
    case kDLCUDA:
    case kDLCUDAManaged:
      memory = memory_kind::device;
      src->device = t->device.device_id;
      break;
    default:
      throw nb::value_error(("the " + py_type_name(obj) + " lives on DLPack device type " +
                             std::to_string(t->device.device_type) + "; stridecopy reads host (CPU) and CUDA memory")
                                .c_str());
  }
  dlpack_type(t->dtype, out);
  const int ndim = t->ndim;
  if (ndim < 0) throw nb::value_error("DLPack tensor with a negative ndim");
  std::vector<std::int64_t> shape(t->shape, t->shape + ndim), strides;
  if (t->strides) strides.assign(t->strides, t->strides + ndim);
  const void* data = static_cast<const char*>(t->data) + t->byte_offset;
  out.v = make_view(data, out.v.type, shape,
                    ndim ? std::span<const std::int64_t>(strides) : std::span<const std::int64_t>{}, memory);
  out.src = std::move(src);
  return true;
}

// ---- __cuda_array_interface__ and __array_interface__

/// Reads the values of an array interface, each checked as NumPy checks it, with a message naming
/// the entry: `where` is "__array_interface__" or "__cuda_array_interface__".
class interface_reader {
 public:
  interface_reader(const char* where, nb::dict d) : where_(where), d_(std::move(d)) {}

  /// d[key] or an empty object when it is absent.
  [[nodiscard]] nb::object get(const char* key) const { return d_.contains(key) ? nb::object(d_[key]) : nb::object(); }
  [[nodiscard]] nb::object required(const char* key) const {
    nb::object v = get(key);
    if (!v.is_valid()) throw nb::key_error((where_ + " has no '" + key + "'").c_str());
    return v;
  }
  /// An int: TypeError for anything else (bools included), ValueError for a negative one where
  /// none may be, OverflowError beyond what the C type holds (as NumPy's own conversions raise it).
  template <class T>
  T integer(nb::handle x, const std::string& what, bool may_be_negative = false) const {
    if (!PyLong_Check(x.ptr()) || PyBool_Check(x.ptr()))
      throw nb::type_error((where_ + what + " must be an integer, not " + py_type_name(x)).c_str());
    const std::string said = where_ + what + " is " + std::string(nb::str(x).c_str());
    if (!may_be_negative && PyObject_RichCompareBool(x.ptr(), nb::int_(0).ptr(), Py_LT) == 1)
      throw nb::value_error((said + ", which is negative").c_str());
    if constexpr (std::is_unsigned_v<T>) {
      const unsigned long long v = PyLong_AsUnsignedLongLong(x.ptr());
      if (!PyErr_Occurred() && v <= std::numeric_limits<T>::max()) return T(v);
    } else {
      int overflow = 0;
      const long long v = PyLong_AsLongLongAndOverflow(x.ptr(), &overflow);
      if (!overflow && !PyErr_Occurred()) return T(v);
    }
    PyErr_Clear();
    PyErr_SetString(PyExc_OverflowError,
                    (said + ", which does not fit " + std::to_string(8 * sizeof(T)) + " bits").c_str());
    throw nb::python_error();
  }
  /// A tuple of ints (shape, strides).
  std::vector<std::int64_t> int_tuple(const char* key, bool non_negative) const {
    nb::object t = required(key);
    if (!nb::isinstance<nb::tuple>(t))
      throw nb::type_error((where_ + "['" + key + "'] must be a tuple, not " + py_type_name(t)).c_str());
    std::vector<std::int64_t> out;
    std::size_t i = 0;
    for (nb::handle x : t)
      out.push_back(
          integer<std::int64_t>(x, std::string("['") + key + "'][" + std::to_string(i++) + "]", !non_negative));
    return out;
  }
  [[nodiscard]] const std::string& where() const { return where_; }

 private:
  std::string where_;
  nb::dict d_;
};

void interface_type(nb::handle obj, const interface_reader& r, py_view& out) {
  nb::object typestr_obj = r.required("typestr");
  if (!PyUnicode_Check(typestr_obj.ptr()))
    throw nb::type_error((r.where() + "['typestr'] must be a string, not " + py_type_name(typestr_obj)).c_str());
  const std::string typestr = nb::cast<std::string>(typestr_obj);
  // NumPy's own dtype where the owner has one (bfloat16, records, datetime), else the typestr's.
  nb::object owner_dtype = nb::getattr(obj, "dtype", nb::none());
  if (is_numpy_dtype(owner_dtype) && nb::cast<std::string>(owner_dtype.attr("str")) == typestr) {
    dtype t;
    try {
      t = parse_descr(typestr);
    } catch (const error&) {
      set_opaque(out, owner_dtype);
      return;
    }
    if (needs_numpy_name(t) || is_custom_dtype(owner_dtype) ||
        (t.kind == 'V' && !owner_dtype.attr("fields").is_none())) {
      set_opaque(out, owner_dtype);
      return;
    }
    out.v.type = t;
    out.how = classify(t);
    return;
  }
  try {
    out.v.type = parse_descr(typestr);
  } catch (const error& e) {
    throw nb::type_error(("typestr " + typestr + " of " + py_type_name(obj) + ": " + e.what()).c_str());
  }
  out.how = classify(out.v.type);
  if (needs_numpy_name(out.v.type)) return set_opaque(out, numpy_module().attr("dtype")(typestr));
  nb::object descr = r.get("descr");
  if (out.v.type.kind == 'V' && descr.is_valid() && nb::isinstance<nb::list>(descr) && nb::len(descr) > 0) {
    // A record type: NumPy names it from the descr list (a lone unnamed field is the typestr again).
    nb::object first = descr[0];
    const bool lone_unnamed = nb::len(descr) == 1 && nb::isinstance<nb::tuple>(first) && nb::len(first) >= 1 &&
                              nb::isinstance<nb::str>(first[0]) && nb::cast<std::string>(first[0]).empty();
    if (lone_unnamed) return;
    nb::object named;
    try {
      named = numpy_module().attr("dtype")(descr);
    } catch (nb::python_error& e) {
      nb::raise_from(e, PyExc_TypeError, "%s", (r.where() + "['descr'] is not a record type NumPy reads").c_str());
    }
    if (nb::cast<int>(named.attr("itemsize")) != out.v.type.itemsize)
      throw nb::value_error((r.where() + "['descr'] describes " +
                             std::to_string(nb::cast<int>(named.attr("itemsize"))) + "-byte records but 'typestr' " +
                             typestr + " says " + std::to_string(out.v.type.itemsize))
                                .c_str());
    set_opaque(out, named);
  }
}

bool from_interface(nb::handle obj, py_view& out, bool cuda) {
  const char* name = cuda ? "__cuda_array_interface__" : "__array_interface__";
  // An interface that raises is the producer's error, as NumPy reports it; only a missing one is
  // "no such protocol".
  nb::object found = optional_attr(obj, name);
  if (!found.is_valid() || found.is_none()) return false;
  if (!nb::isinstance<nb::dict>(found))
    throw nb::type_error((std::string(name) + " must be a dict, not " + py_type_name(found)).c_str());
  const interface_reader r(name, nb::borrow<nb::dict>(found));
  nb::object mask = r.get("mask");
  if (mask.is_valid() && !mask.is_none())
    throw nb::value_error((std::string(name) + " has a mask; masked arrays are not supported").c_str());
  nb::object data = r.required("data");
  if (!nb::isinstance<nb::tuple>(data) || nb::len(data) != 2)
    throw nb::type_error((std::string(name) + "['data'] must be a (pointer, read_only) tuple, not " +
                          std::string(nb::repr(data).c_str()))
                             .c_str());
  interface_type(obj, r, out);
  const std::vector<std::int64_t> shape = r.int_tuple("shape", true);
  std::vector<std::int64_t> strides;
  if (nb::object st = r.get("strides"); st.is_valid() && !st.is_none())
    strides = element_strides(r.int_tuple("strides", false), shape, out.v.type.itemsize);
  if (!strides.empty() && strides.size() != shape.size())
    throw nb::value_error((std::string(name) + "['strides'] has " + std::to_string(strides.size()) +
                           " entries for a shape of " + std::to_string(shape.size()))
                              .c_str());
  const auto ptr = r.integer<std::uintptr_t>(data[0], "['data'][0] (the pointer)");
  source_ptr src = make_source();
  src->how = cuda ? source::kind::cuda_array_interface : source::kind::array_interface;
  src->owner = nb::borrow(obj);
  src->writable = !PyObject_IsTrue(nb::object(data[1]).ptr());
  const void* p = reinterpret_cast<const void*>(ptr);
  if (cuda) src->device = device_of_pointer(p);
  out.v = make_view(p, out.v.type, shape, strides, cuda ? memory_kind::device : memory_kind::pageable);
  out.src = std::move(src);
  return true;
}

/// The version of obj's __cuda_array_interface__, 0 where it has none (or cannot give one now).
int cuda_interface_version(nb::handle obj) {
  if (!nb::hasattr(obj.type(), "__cuda_array_interface__")) return 0;
  try {
    nb::object d = obj.attr("__cuda_array_interface__");
    if (!nb::isinstance<nb::dict>(d)) return 0;
    nb::dict dd = nb::borrow<nb::dict>(d);
    return dd.contains("version") ? nb::cast<int>(dd["version"]) : 0;
  } catch (nb::python_error&) {
    return 0;  // PyTorch refuses tensors that need a gradient here; DLPack gives the reason
  }
}

}  // namespace

// ---- sources

source::~source() {
  if (has_buffer) PyBuffer_Release(&buffer);
  if (managed) delete_managed(managed, versioned);
}

source_ptr make_source() {
  // Views die with the GIL held; a DeviceArray's pending source may die on a consumer's thread.
  return source_ptr(new source, [](source* s) {
    if (!nb::is_alive()) return;  // the interpreter is gone: nothing left to release into
    nb::gil_scoped_acquire gil;
    delete s;
  });
}

py_view view_of(nb::handle obj) {
  if (nb::isinstance<py_view>(obj)) return nb::cast<py_view>(obj);  // already a view: the same one
  py_view out;
  if (view_of_device_array(obj, out)) return out;
  if (PyObject_CheckBuffer(obj.ptr()) && from_buffer(obj, out)) return out;
  // A CUDA array interface of version 3 names the producer's stream, so it is as good as DLPack; and
  // CuPy's DLPack export garbled negative strides (cupy/cupy#10172) where its interface never did.
  if (cuda_interface_version(obj) >= 3 && from_interface(obj, out, true)) return out;
  std::optional<nb::python_error> dlpack_failure;
  if (nb::hasattr(obj, "__dlpack__") && from_dlpack(obj, out, dlpack_failure)) return out;
  if (from_interface(obj, out, true)) return out;
  if (from_interface(obj, out, false)) return out;
  if (dlpack_failure) {
    // The producer's reason in one line; its traceback stays on the chained exception.
    const std::string reason = std::string(nb::type_name(dlpack_failure->type()).c_str()) + ": " +
                               std::string(nb::str(dlpack_failure->value()).c_str());
    nb::raise_from(*dlpack_failure, PyExc_TypeError, "%s",
                   ("cannot view " + py_type_name(obj) + ": its __dlpack__ refused the export (" + reason +
                    ") and it has no other array protocol")
                       .c_str());
  }
  throw nb::type_error(("cannot view " + py_type_name(obj) +
                        ": stridecopy.view takes an object with __dlpack__, __cuda_array_interface__, "
                        "__array_interface__ or the buffer protocol")
                           .c_str());
}

// ---- streams

namespace {

/// A stream handle given as a Python int (directly or by a stream object): a pointer's bits.
std::uintptr_t stream_bits(nb::handle x, const std::string& what) {
  if (!PyLong_Check(x.ptr()) || PyBool_Check(x.ptr()))
    throw nb::type_error((what + " must be an int, not " + py_type_name(x)).c_str());
  const std::string said = what + " " + std::string(nb::str(x).c_str());
  if (PyObject_RichCompareBool(x.ptr(), nb::int_(0).ptr(), Py_LT) == 1)
    throw nb::value_error((said + " is negative").c_str());
  const unsigned long long v = PyLong_AsUnsignedLongLong(x.ptr());
  if (PyErr_Occurred() || v > UINTPTR_MAX) {
    PyErr_Clear();
    throw nb::value_error((said + " does not fit a pointer").c_str());
  }
  return std::uintptr_t(v);
}

}  // namespace

stream_arg parse_stream(nb::handle s) {
  stream_arg out;
  if (s.is_none()) return out;
  out.given = true;
  std::uintptr_t value = 0;
  if (PyBool_Check(s.ptr())) {
    throw nb::type_error("stream must be None, an int handle or a CUDA stream object, not a bool");
  } else if (PyLong_Check(s.ptr())) {
    value = stream_bits(s, "stream handle");
  } else if (nb::hasattr(s, "__cuda_stream__")) {
    nb::object t = s.attr("__cuda_stream__")();
    value = stream_bits(t[1], "stream.__cuda_stream__()[1]");
    out.owner = nb::borrow(s);
  } else if (nb::hasattr(s, "cuda_stream")) {  // torch.cuda.Stream before __cuda_stream__
    value = stream_bits(s.attr("cuda_stream"), "stream.cuda_stream");
    out.owner = nb::borrow(s);
  } else if (nb::hasattr(s, "ptr")) {  // cupy.cuda.Stream
    value = stream_bits(s.attr("ptr"), "stream.ptr");
    out.owner = nb::borrow(s);
  } else {
    throw nb::type_error(("stream must be None, an int handle or an object with __cuda_stream__ "
                          "(torch.cuda.Stream, cupy.cuda.Stream), not " +
                          py_type_name(s))
                             .c_str());
  }
  // 0 is the legacy default stream here (as in CUDA); 1 and 2 are the protocol's names for the
  // legacy and per-thread default streams, which CUDA's own handles happen to equal.
  out.handle = value == 0 ? nullptr : reinterpret_cast<stream_handle>(value);
  // A stream orders work on a GPU; without one, saying nothing would pretend it did.
  if (!cuda_available())
    detail::no_device("stream=" + std::string(nb::repr(s).c_str()) + " orders a copy on a CUDA device");
  return out;
}

long long stream_protocol_value(stream_handle s) {
  // 1 is the protocol's name for the legacy default stream, and CUDA's own handle for it (cudaStreamLegacy).
  if (s == nullptr || reinterpret_cast<std::uintptr_t>(s) == 1) return 1;
  return static_cast<long long>(reinterpret_cast<std::uintptr_t>(s));
}

nb::object numpy_module() {
  static PyObject* np = nullptr;  // leaked on purpose: no decref after the interpreter is gone
  if (!np) np = nb::module_::import_("numpy").release().ptr();
  return nb::borrow(np);
}

}  // namespace stridecopy::python
