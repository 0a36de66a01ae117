// python/src/view.cpp — stridecopy.View: lazy NumPy indexing built from the library's index items,
// and the copies out of a view (.numpy, .save, .to_device) with the GIL released.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "module.hpp"

namespace stridecopy::python {

using namespace nb::literals;

std::atomic<long> live_host_results{0};

namespace {

constexpr std::int64_t int64_max = INT64_MAX;
constexpr std::int64_t int64_min = INT64_MIN;

[[noreturn]] void bad_key(nb::handle k) {
  throw nb::index_error(("only integers, slices (`:`), ellipsis (`...`), None and index strings are valid "
                         "stridecopy indices (basic indexing); got " +
                         std::string(nb::type_name(k.type()).c_str()))
                            .c_str());
}

/// A Python integer (anything with __index__) as an int64, saturating; `overflow` says it did.
std::int64_t index_value(nb::handle k, bool& overflow) {
  PyObject* i = PyNumber_Index(k.ptr());
  if (!i) throw nb::python_error();
  int sign = 0;
  const long long value = PyLong_AsLongLongAndOverflow(i, &sign);
  Py_DECREF(i);
  if (value == -1 && PyErr_Occurred()) throw nb::python_error();
  overflow = sign != 0;
  return sign > 0 ? int64_max : sign < 0 ? int64_min : value;
}

std::int64_t slice_bound(nb::handle x) {
  if (!PyLong_Check(x.ptr()) && !PyIndex_Check(x.ptr()))
    throw nb::type_error("slice indices must be integers or None or have an __index__ method");
  bool overflow = false;
  return index_value(x, overflow);  // Python's slice.indices clamps out-of-range bounds the same way
}

index_item item_of(nb::handle k) {
  index_item it;
  if (k.is_none()) {
    it.what = index_item::kind::new_axis;
  } else if (k.ptr() == Py_Ellipsis) {
    it.what = index_item::kind::ellipsis;
  } else if (PySlice_Check(k.ptr())) {
    it.what = index_item::kind::slice;
    static PyObject* const names[3] = {PyUnicode_InternFromString("start"), PyUnicode_InternFromString("stop"),
                                       PyUnicode_InternFromString("step")};  // leaked, as numpy_module
    nb::object start = nb::steal(PyObject_GetAttr(k.ptr(), names[0]));
    nb::object stop = nb::steal(PyObject_GetAttr(k.ptr(), names[1]));
    nb::object step = nb::steal(PyObject_GetAttr(k.ptr(), names[2]));
    if (!start.is_valid() || !stop.is_valid() || !step.is_valid()) throw nb::python_error();
    if ((it.has_start = !start.is_none())) it.start = slice_bound(start);
    if ((it.has_stop = !stop.is_none())) it.stop = slice_bound(stop);
    if ((it.has_step = !step.is_none())) it.step = slice_bound(step);
  } else if (PyBool_Check(k.ptr())) {
    throw nb::index_error("a bool index is NumPy's boolean (advanced) indexing, which stridecopy does not do");
  } else if (PyLong_Check(k.ptr()) || PyIndex_Check(k.ptr())) {
    it.what = index_item::kind::integer;
    it.value = index_value(k, it.overflow);
  } else {
    bad_key(k);
  }
  return it;
}

}  // namespace

std::string fs_path(nb::handle path) {
  PyObject* p = PyOS_FSPath(path.ptr());
  if (!p) throw nb::python_error();
  nb::object o = nb::steal(p);
  std::string bytes;
  if (PyBytes_Check(p)) {
    bytes.assign(PyBytes_AsString(p), std::size_t(PyBytes_Size(p)));
  } else {
    nb::object b = nb::steal(PyUnicode_EncodeFSDefault(p));
    if (!b.is_valid()) throw nb::python_error();
    bytes.assign(PyBytes_AsString(b.ptr()), std::size_t(PyBytes_Size(b.ptr())));
  }
  // The system would end the name there and open another file; open() and np.save say this.
  if (bytes.find('\0') != std::string::npos) throw nb::value_error("embedded null byte");
  return bytes;
}

namespace {

nb::dlpack::dtype nb_dtype(const dtype& t) {
  nb::dlpack::dtype d{};
  d.bits = std::uint8_t(t.itemsize * 8);
  d.lanes = 1;
  switch (t.kind) {
    case 'b': d.code = std::uint8_t(nb::dlpack::dtype_code::Bool); break;
    case 'i': d.code = std::uint8_t(nb::dlpack::dtype_code::Int); break;
    case 'u': d.code = std::uint8_t(nb::dlpack::dtype_code::UInt); break;
    case 'f': d.code = std::uint8_t(nb::dlpack::dtype_code::Float); break;
    default: d.code = std::uint8_t(nb::dlpack::dtype_code::Complex); break;
  }
  return d;
}

nb::tuple int_tuple(std::span<const std::int64_t> xs, std::int64_t scale = 1) {
  nb::object t = nb::steal(PyTuple_New(Py_ssize_t(xs.size())));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    // Wrapping, as NumPy's own byte strides do for the unused stride of a huge single step.
    const auto x =
        static_cast<long long>(static_cast<unsigned long long>(xs[i]) * static_cast<unsigned long long>(scale));
    PyTuple_SetItem(t.ptr(), Py_ssize_t(i), PyLong_FromLongLong(x));
  }
  return nb::borrow<nb::tuple>(t);
}

std::string device_name(const py_view& v) {
  if (v.v.memory != memory_kind::device) return "cpu";
  return "cuda:" + std::to_string(v.src->device < 0 ? 0 : v.src->device);
}

py_view with(const py_view& base, const view& v) {
  py_view r;
  r.v = v;
  r.src = base.src;
  r.how = base.how;
  r.dtype = base.dtype;
  return r;
}

/// `out`'s memory, checked against the view; its buffer is held (a bytearray cannot resize) until
/// the copy is done. Destroyed with the GIL held.
struct out_buffer {
  void* data = nullptr;
  std::size_t bytes = 0;
  Py_buffer buffer{};
  bool held = false;
  out_buffer() = default;
  out_buffer(const out_buffer&) = delete;
  out_buffer& operator=(const out_buffer&) = delete;
  ~out_buffer() {
    if (held) PyBuffer_Release(&buffer);
  }
};
void check_out(py_view& self, nb::handle out, out_buffer& r) {
  const auto fail_type = [&](const std::string& why) {
    throw nb::type_error(("out must be a writable, C-contiguous array of the view's shape and dtype: a "
                          "numpy.ndarray, or an object with the buffer protocol; " +
                          why)
                             .c_str());
  };
  // Types with no buffer format (bfloat16, datetime) only have NumPy's __array_interface__.
  nb::object dt = nb::getattr(out, "dtype", nb::none());
  if (!dt.is_none() && PyObject_IsInstance(dt.ptr(), numpy_module().attr("dtype").ptr()) != 1) dt = nb::none();
  nb::object mine = numpy_dtype(self);
  std::vector<std::int64_t> shape;
  bool readonly = false, c_contiguous = false;
  Py_buffer& b = r.buffer;
  if (PyObject_CheckBuffer(out.ptr()) && PyObject_GetBuffer(out.ptr(), &b, PyBUF_RECORDS_RO) == 0) {
    r.held = true;
    shape.assign(b.shape, b.shape + b.ndim);
    readonly = b.readonly != 0;
    c_contiguous = PyBuffer_IsContiguous(&b, 'C') != 0;
    r.data = b.buf;
    r.bytes = std::size_t(b.len);
    if (dt.is_none()) {
      // No NumPy dtype: the buffer's format must name the view's element type (an int32 buffer
      // does not take float32 data), as np.asarray(out).dtype would read it.
      try {
        dt = numpy_module().attr("asarray")(out).attr("dtype");
      } catch (nb::python_error&) {
        fail_type("NumPy cannot read the element type of this " + py_type_name(out) + " (format " +
                  std::string(b.format ? b.format : "B") + ")");
      }
    }
  } else {
    PyErr_Clear();
    nb::object ai = nb::getattr(out, "__array_interface__", nb::none());
    if (ai.is_none() || dt.is_none()) fail_type("got " + py_type_name(out));
    for (nb::handle x : ai["shape"]) shape.push_back(nb::cast<std::int64_t>(x));
    readonly = nb::cast<bool>(ai["data"][1]);
    c_contiguous = nb::cast<bool>(out.attr("flags").attr("c_contiguous"));
    r.data = reinterpret_cast<void*>(nb::cast<std::uintptr_t>(ai["data"][0]));
    r.bytes = nb::cast<std::size_t>(out.attr("nbytes"));
  }
  if (!dt.equal(mine))
    throw nb::type_error(("out has dtype " + std::string(nb::str(dt).c_str()) + " but the view has dtype " +
                          std::string(nb::str(mine).c_str()))
                             .c_str());
  const std::span<const std::int64_t> want = self.v.shape();
  if (shape.size() != want.size() || !std::equal(shape.begin(), shape.end(), want.begin()))
    throw nb::value_error(
        ("out has shape " + shape_string(shape) + " but the view has shape " + shape_string(want)).c_str());
  if (readonly) throw nb::value_error("out is read-only");
  if (!c_contiguous) throw nb::value_error("out is not C-contiguous");
}

}  // namespace

nb::object numpy_dtype_of(const dtype& t, element how, nb::handle known) {
  if (known.is_valid() && !known.is_none()) return nb::borrow(known);
  if (how == element::bfloat16) {
    static PyObject* bf16 = nullptr;  // leaked on purpose, as numpy_module
    if (!bf16) {
      nb::object ml;
      try {
        ml = nb::module_::import_("ml_dtypes");
      } catch (nb::python_error&) {
        throw nb::type_error("bfloat16 data has no NumPy dtype without the ml_dtypes package: pip install ml_dtypes");
      }
      bf16 = numpy_module().attr("dtype")(ml.attr("bfloat16")).release().ptr();
    }
    return nb::borrow(bf16);
  }
  static std::unordered_map<std::string, PyObject*> cache;  // one dtype object per descr, leaked
  const std::string descr = to_descr(t);
  auto it = cache.find(descr);
  if (it == cache.end()) it = cache.emplace(descr, numpy_module().attr("dtype")(descr).release().ptr()).first;
  return nb::borrow(it->second);
}

nb::object numpy_dtype(const py_view& v) { return numpy_dtype_of(v.v.type, v.how, v.dtype); }

namespace {

/// NumPy's C API, found as pybind11 finds it: the function table NumPy publishes as the capsule
/// _ARRAY_API of its _multiarray_umath module, at the indices NumPy keeps stable (its headers'
/// __multiarray_api.h). The package builds without NumPy's headers; nanobind's export (a buffer
/// object handed to numpy.asarray, which parses its format string) is the fallback, and took about
/// a microsecond more per result.
struct numpy_c_api {
  PyTypeObject* array_type = nullptr;
  PyObject* (*new_from_descr)(PyTypeObject*, PyObject*, int, const Py_intptr_t*, const Py_intptr_t*, void*, int,
                              PyObject*) = nullptr;
  int (*set_base_object)(PyObject*, PyObject*) = nullptr;
};
const numpy_c_api& numpy_api() {
  static const numpy_c_api api = [] {
    numpy_c_api a;
    for (const char* name : {"numpy._core._multiarray_umath", "numpy.core._multiarray_umath"}) {
      nb::object m = nb::steal(PyImport_ImportModule(name));
      nb::object capsule = m.is_valid() ? nb::steal(PyObject_GetAttrString(m.ptr(), "_ARRAY_API")) : nb::object();
      void** table = capsule.is_valid() ? static_cast<void**>(PyCapsule_GetPointer(capsule.ptr(), nullptr)) : nullptr;
      if (!table) {
        PyErr_Clear();
        continue;
      }
      // The module, never unloaded, keeps the table.
      a.array_type = static_cast<PyTypeObject*>(table[2]);
      a.new_from_descr = reinterpret_cast<decltype(a.new_from_descr)>(table[94]);
      a.set_base_object = reinterpret_cast<decltype(a.set_base_object)>(table[282]);
      break;
    }
    return a;
  }();
  return api;
}

/// A numpy.ndarray over `data` (C or F order as `l` says), owned by `owner`.
nb::object wrap_host(void* data, std::size_t bytes, const dtype& type, const layout& l, nb::capsule owner, element how,
                     nb::handle np_dtype) {
  static char empty[64];  // NumPy wants an address even for no bytes
  if (!data) data = empty;
  std::size_t shape[max_rank];
  for (int i = 0; i < l.rank; ++i) shape[i] = std::size_t(l.extent[i]);
  const bool c_order = is_c_contiguous(l);
  const numpy_c_api& api = numpy_api();
  if (how == element::plain && c_order && api.new_from_descr) {
    constexpr int carray = 0x0001 | 0x0100 | 0x0400;  // NPY_ARRAY_C_CONTIGUOUS | ALIGNED | WRITEABLE
    Py_intptr_t dims[max_rank];
    for (int i = 0; i < l.rank; ++i) dims[i] = Py_intptr_t(l.extent[i]);
    nb::object descr = numpy_dtype_of(type, how, np_dtype);
    // PyArray_NewFromDescr takes the descr's reference, PyArray_SetBaseObject the owner's.
    nb::object arr = nb::steal(
        api.new_from_descr(api.array_type, descr.release().ptr(), l.rank, dims, nullptr, data, carray, nullptr));
    if (!arr.is_valid()) throw nb::python_error();
    if (api.set_base_object(arr.ptr(), owner.release().ptr()) != 0) throw nb::python_error();
    return arr;
  }
  if (how == element::plain) {
    nb::ndarray<nb::numpy> arr(data, std::size_t(l.rank), shape, owner, c_order ? nullptr : l.stride.data(),
                               nb_dtype(type), nb::device::cpu::value);
    return nb::cast(arr);
  }
  // No DLPack type for it: the bytes, then NumPy's own view of them as the dtype.
  nb::ndarray<nb::numpy, std::uint8_t> raw(data, 1, &bytes, owner, nullptr, nb::dtype<std::uint8_t>(),
                                           nb::device::cpu::value);
  nb::object arr = nb::cast(raw).attr("view")(np_dtype);
  return arr.attr("reshape")(int_tuple(l.extents()), "order"_a = c_order ? "C" : "F");
}

// Host copies smaller than this keep the GIL: releasing and taking it back costs a few hundred
// nanoseconds (far more when other threads want it), as much as such a copy.
constexpr std::size_t keep_gil_bytes = std::size_t(64) << 10;

/// Releases the GIL for the scope unless `bytes` is a small host copy.
struct release_unless_small {
  explicit release_unless_small(std::size_t bytes, bool on_host) {
    if (!on_host || bytes >= keep_gil_bytes) unlocked.emplace();
  }
  std::optional<nb::gil_scoped_release> unlocked;
};

struct cached_block {
  void* data;
  std::size_t block;
};

/// A C-order result of `v`'s shape in a cached block (no CUDA present), filled on the CPU.
nb::object copy_into_cached_block(const py_view& self, nb::handle np_dtype, int threads) {
  const layout l = c_contiguous(self.v.shape());
  const std::size_t bytes = std::size_t(element_count(l)) * std::size_t(self.v.type.itemsize);
  auto* b = new cached_block{nullptr, 0};
  try {
    b->data = take_host_block(bytes, b->block);
  } catch (...) {
    delete b;
    throw;
  }
  ++live_host_results;
  nb::capsule owner(b, [](void* p) noexcept {
    auto* cb = static_cast<cached_block*>(p);
    give_host_block(cb->data, cb->block);
    delete cb;
    --live_host_results;
  });
  {
    const release_unless_small unlocked(bytes, true);
    copy(self.v, b->data, bytes, {}, {.how = strategy::cpu, .threads = threads});
  }
  return wrap_host(b->data, bytes, self.v.type, l, owner, self.how, np_dtype);
}

}  // namespace

nb::object wrap_host_array(host_array&& a, element how, nb::handle np_dtype) {
  auto* owned = new host_array(std::move(a));
  ++live_host_results;
  // The capsule owns the array from here: its block returns to the pool when NumPy lets go.
  nb::capsule owner(owned, [](void* p) noexcept {
    delete static_cast<host_array*>(p);
    --live_host_results;
  });
  return wrap_host(owned->data(), owned->bytes(), owned->type(), owned->layout(), owner, how, np_dtype);
}

namespace {

/// The key as Python spells it ("[100000000000000000000, ::-1]"), with each item's position in
/// that text: the library's messages then quote the numbers the caller gave, not their int64 clamps.
std::string spell_key(nb::handle key, std::vector<index_item>& items) {
  const auto spell = [](nb::handle x) -> std::string {
    if (x.is_none()) return "None";
    if (x.ptr() == Py_Ellipsis) return "...";
    if (PySlice_Check(x.ptr())) {
      std::string s;
      const char* parts[3] = {"start", "stop", "step"};
      for (int i = 0; i < 3; ++i) {
        nb::object v = x.attr(parts[i]);
        if (i) s += ':';
        if (!v.is_none()) s += nb::str(nb::int_(v)).c_str();
      }
      if (nb::object step = x.attr("step"); step.is_none()) s.pop_back();  // "a:b", not "a:b:"
      return s;
    }
    return nb::str(nb::int_(x)).c_str();
  };
  std::string text = "[";
  const bool tuple = PyTuple_Check(key.ptr());
  const Py_ssize_t n = tuple ? PyTuple_Size(key.ptr()) : 1;
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (i) text += ", ";
    items[std::size_t(i)].position = text.size();
    text += spell(tuple ? nb::handle(PyTuple_GetItem(key.ptr(), i)) : key);
  }
  return text + "]";
}

}  // namespace

py_view apply_key(const py_view& v, nb::handle key) {
  if (PyUnicode_Check(key.ptr())) {
    Py_ssize_t n = 0;
    const char* text = PyUnicode_AsUTF8AndSize(key.ptr(), &n);
    if (!text) throw nb::python_error();
    return with(v, slice(v.v, std::string_view(text, std::size_t(n))));
  }
  std::vector<index_item> items;
  if (PyTuple_Check(key.ptr())) {
    const Py_ssize_t n = PyTuple_Size(key.ptr());
    items.reserve(std::size_t(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
      nb::handle k = PyTuple_GetItem(key.ptr(), i);
      if (PyUnicode_Check(k.ptr()))
        throw nb::index_error("an index string must be the whole index (v[\"[:, ::-1]\"]), not one item of a tuple");
      items.push_back(item_of(k));
    }
  } else {
    items.push_back(item_of(key));
  }
  // Spelling the key for a message costs as much as the indexing: it is made only when there is a
  // message to write (slice is pure, so the second call fails as the first did).
  try {
    return with(v, slice(v.v, items, "?"));
  } catch (const invalid_index&) {
  }
  const std::string text = spell_key(key, items);
  return with(v, slice(v.v, items, text));
}

nb::object view_numpy(py_view& self, nb::handle out, nb::handle stream, int threads) {
  const stream_arg s = parse_stream(stream);
  copy_options options;
  options.threads = threads;
  const bool device = self.v.memory == memory_kind::device;
  if (!out.is_none()) {
    out_buffer o;
    check_out(self, out, o);
    if (device) self.src->order_before(s);
    {
      const release_unless_small unlocked(o.bytes, !device && !s.given);
      if (device || s.given)
        (void)copy(self.v, o.data, o.bytes, s.handle, options);
      else
        copy(self.v, o.data, o.bytes, {}, {.how = strategy::cpu, .threads = threads});
    }
    return nb::borrow(out);
  }
  // A missing dtype (bfloat16 without ml_dtypes) fails before any copy.
  nb::object dt = self.how == element::plain ? nb::object() : numpy_dtype(self);
  if (device) self.src->order_before(s);
  // A host view with no stream has nothing to wait for: a CPU copy, no CUDA call at all.
  const bool on_cpu = !device && !s.given;
  if (on_cpu && !cuda_available()) return copy_into_cached_block(self, dt, threads);
  host_array h;
  {
    const release_unless_small unlocked(std::size_t(element_count(self.v.layout)) * std::size_t(self.v.type.itemsize),
                                        on_cpu);
    if (on_cpu) {
      h = host_array(self.v.type, self.v.shape());  // pinned, from the library's pool
      copy(self.v, h.data(), h.bytes(), {}, {.how = strategy::cpu, .threads = threads});
    } else {
      h = to_host(self.v, s.handle, options);
    }
  }
  return wrap_host_array(std::move(h), self.how, dt);
}

namespace {

/// view.save(file): np.save's conventions. An open binary file (anything with write()) is written at
/// its position; a path (str, bytes, os.PathLike) gets ".npy" appended unless it ends so, and is
/// written through the library's output_file (complete or not at all).
void view_save(py_view& self, nb::handle file, nb::handle stream) {
  const stream_arg s = parse_stream(stream);
  const bool file_object = optional_attr(file, "write").is_valid();
  // Another package's dtype (bfloat16, float8, ...) is saved as np.save writes it, header and all
  // ("<V2" where the library would write "|V2"); a file object is NumPy's to write to.
  if (file_object || self.how == element::bfloat16 || self.how == element::custom) {
    nb::object arr = view_numpy(self, nb::none(), stream);
    numpy_module().attr("save")(file, arr);
    return;
  }
  std::string descr;  // the .npy descr of a type the library's dtype cannot spell
  if (self.how == element::opaque) {
    nb::object literal = numpy_module().attr("lib").attr("format").attr("dtype_to_descr")(numpy_dtype(self));
    descr = nb::cast<std::string>(nb::repr(literal));
    if (descr == "'|O'") throw nb::type_error("this type has no .npy descr np.load reads back without pickling");
  }
  std::string p = fs_path(file);
  if (p.size() < 4 || p.compare(p.size() - 4, 4, ".npy") != 0) p += ".npy";
  if (self.v.memory == memory_kind::device) self.src->order_before(s);
  nb::gil_scoped_release unlocked;
  save_npy(p, self.v, s.handle, descr);
}

[[noreturn]] void raise_axis_error(nb::handle axis, int rank) {
  // NumPy's own type: both a ValueError and an IndexError, with NumPy's message.
  static PyObject* axis_error = nullptr;  // leaked on purpose, as numpy_module
  if (!axis_error) axis_error = nb::object(numpy_module().attr("exceptions").attr("AxisError")).release().ptr();
  PyErr_SetObject(axis_error, nb::handle(axis_error)(nb::int_(axis), rank).ptr());
  throw nb::python_error();
}

/// Axes as NumPy normalises them (numpy.lib.array_utils.normalize_axis_tuple): ints (anything with
/// __index__), negative ones counted from the end; AxisError out of range, ValueError when repeated.
std::vector<int> normalized_axes(nb::handle seq, int rank, const char* repeated) {
  std::vector<int> axes;
  std::vector<bool> seen(std::size_t(rank), false);
  for (nb::handle a : seq) {
    bool overflow = false;
    const std::int64_t x = index_value(a, overflow);
    if (overflow || x < -rank || x >= rank) raise_axis_error(a, rank);
    const int axis = int(x < 0 ? x + rank : x);
    if (seen[std::size_t(axis)]) throw nb::value_error(repeated);
    seen[std::size_t(axis)] = true;
    axes.push_back(axis);
  }
  return axes;
}

/// Axes as NumPy's transpose takes them: none, ints, or one sequence (or None) of ints.
py_view transpose_axes(const py_view& self, nb::handle args) {
  nb::handle seq = args;
  nb::object none_given;
  if (nb::len(args) == 1) {
    nb::handle a = args[0];
    if (a.is_none())
      seq = none_given = nb::tuple();
    else if (!PyLong_Check(a.ptr()) && !PyIndex_Check(a.ptr()))
      seq = a;
  }
  const int rank = self.v.rank();
  if (nb::len(seq) == 0) {
    std::vector<int> reversed;
    for (int i = rank - 1; i >= 0; --i) reversed.push_back(i);
    return with(self, permute(self.v, reversed));
  }
  if (nb::len(seq) != std::size_t(rank)) throw nb::value_error("axes don't match array");
  return with(self, permute(self.v, normalized_axes(seq, rank, "repeated axis in transpose")));
}

py_view view_flip(const py_view& self, nb::handle axis) {
  view v = self.v;
  if (axis.is_none()) {
    for (int i = 0; i < v.rank(); ++i) v = flip(v, i);
    return with(self, v);
  }
  nb::handle seq = axis;
  nb::object one;
  if (PyLong_Check(axis.ptr()) || PyIndex_Check(axis.ptr())) seq = one = nb::make_tuple(axis);
  // Every axis checked before any flip: flip((0, 0)) would otherwise flip axis 0 back.
  for (const int a : normalized_axes(seq, v.rank(), "repeated axis")) v = flip(v, a);
  return with(self, v);
}

std::string view_repr(py_view& self) {
  std::string dt;
  try {
    dt = nb::str(numpy_dtype(self)).c_str();
  } catch (nb::python_error&) {
    dt = "bfloat16";
  }
  return "stridecopy.View(shape=" + shape_string(self.v.shape()) + ", dtype=" + dt +
         ", strides=" + std::string(nb::str(int_tuple(self.v.strides(), self.v.type.itemsize)).c_str()) + ", device='" +
         device_name(self) + "', memory='" + to_string(self.v.memory) + "')";
}

/// view.__dlpack__: the array API's export of a copy (a View is no array of its own): a host view's
/// C-order NumPy array, or a device view copied into a DeviceArray on the consumer's stream. This is
/// what torch.as_tensor and np.from_dlpack call.
nb::object view_dlpack(py_view& self, nb::handle stream, nb::handle max_version, nb::handle dl_device,
                       nb::handle copy) {
  if (!copy.is_none() && !nb::cast<bool>(copy))
    throw nb::buffer_error("a stridecopy View is not an array: exporting it always copies (copy=False)");
  const bool on_device = self.v.memory == memory_kind::device;
  if (!dl_device.is_none()) {
    const int type = nb::cast<int>(dl_device[0]), id = nb::cast<int>(dl_device[1]);
    const int mine = on_device ? 2 : 1, my_id = on_device ? std::max(self.src->device, 0) : 0;
    if (type != mine || id != my_id)
      throw nb::buffer_error(("__dlpack__: dl_device=(" + std::to_string(type) + ", " + std::to_string(id) +
                              ") is not where this view's copy is made (" + std::to_string(mine) + ", " +
                              std::to_string(my_id) + ")")
                                 .c_str());
  }
  nb::object result;
  nb::object passed_stream = nb::borrow(stream);
  if (on_device) {
    // Copied on the consumer's stream (None and -1: the legacy default stream), exported for it.
    const bool own_stream = !stream.is_none() && !(PyLong_Check(stream.ptr()) && nb::cast<long long>(stream) == -1);
    result = to_device_array(self, parse_stream(own_stream ? stream : nb::handle(Py_None)));
  } else {
    result = view_numpy(self, nb::none(), nb::none());
    passed_stream = nb::none();  // host memory: nothing to order
  }
  nb::object fn = result.attr("__dlpack__");
  if (max_version.is_none()) return fn("stream"_a = passed_stream);
  try {
    return fn("stream"_a = passed_stream, "max_version"_a = max_version);
  } catch (nb::python_error& e) {
    if (!e.matches(PyExc_TypeError)) throw;  // NumPy before 2.1 takes no max_version
  }
  return fn("stream"_a = passed_stream);
}

}  // namespace

void register_view(nb::module_& m) {
  nb::class_<py_view>(m, "View",
                      "A lazy strided view of an array: indexing, transposes and flips make new views without "
                      "touching data; .numpy(), .to_device() and .save() copy it once into C order.")
      .def(
          "__getitem__", [](const py_view& self, nb::handle key) { return apply_key(self, key); }, "key"_a.none(),
          nb::sig("def __getitem__(self, key: object, /) -> View"),
          "NumPy basic indexing, lazily: ints, slices (negative steps too), None, Ellipsis, or one index "
          "string such as \"[:, ::-1]\" (the CLI's parser). Raises IndexError as NumPy would.")
      .def(
          "__setitem__",
          [](const py_view& self, nb::handle key, nb::handle value) {
            copy_into(apply_key(self, key), value, nb::none(), 0, "View.__setitem__");
          },
          "key"_a.none(), "value"_a.none(), nb::sig("def __setitem__(self, key: object, value: object, /) -> None"),
          "view[key] = value: copyto(view[key], value), complete on return. The view must be of writable "
          "memory; value is any array, View or scalar of the view's dtype, broadcast as NumPy does.")
      .def(
          "transpose", [](const py_view& self, nb::args axes) { return transpose_axes(self, axes); },
          nb::sig("def transpose(self, *axes: int) -> View"),
          "NumPy's transpose: no axes reverses them; transpose(0, 2, 3, 1) or transpose((0, 2, 3, 1)).")
      .def_prop_ro(
          "T", [](const py_view& self) { return transpose_axes(self, nb::tuple()); },
          "The axes reversed, as NumPy's .T.")
      .def("flip", &view_flip, "axis"_a.none() = nb::none(),
           nb::sig("def flip(self, axis: int | tuple[int, ...] | None = None) -> View"),
           "NumPy's flip: reverses one axis, several, or (None) all of them.")
      .def_prop_ro(
          "shape", [](const py_view& self) { return int_tuple(self.v.shape()); },
          nb::sig("def shape(self) -> tuple[int, ...]"), "The shape, as a tuple.")
      .def_prop_ro(
          "strides", [](const py_view& self) { return int_tuple(self.v.strides(), self.v.type.itemsize); },
          nb::sig("def strides(self) -> tuple[int, ...]"),
          "The strides in bytes, as NumPy gives them (negative ones included).")
      .def_prop_ro(
          "dtype", [](py_view& self) { return numpy_dtype(self); }, nb::sig("def dtype(self) -> numpy.dtype"),
          "The element type as a numpy.dtype (ml_dtypes.bfloat16 for bfloat16).")
      .def_prop_ro("device", &device_name, "\"cpu\" for host memory (pinned included), \"cuda:N\" for device memory.")
      .def_prop_ro(
          "ndim", [](const py_view& self) { return self.v.rank(); }, "The number of dimensions.")
      .def_prop_ro(
          "itemsize", [](const py_view& self) { return self.v.type.itemsize; }, "The bytes of one element.")
      .def(
          "__len__",
          [](const py_view& self) {
            if (self.v.rank() == 0) throw nb::type_error("len() of unsized object");  // NumPy's words
            return self.v.layout.extent[0];
          },
          "The extent of the first axis, as len() of a NumPy array; TypeError for a 0-d view.")
      .def_prop_ro(
          "size", [](const py_view& self) { return element_count(self.v.layout); }, "The number of elements.")
      .def_prop_ro(
          "nbytes", [](const py_view& self) { return element_count(self.v.layout) * self.v.type.itemsize; },
          "The bytes of the C-order copy: size * itemsize.")
      .def_prop_ro(
          "base", [](const py_view& self) { return self.src->owner; }, nb::sig("def base(self) -> object"),
          "The object the view reads (kept alive by the view).")
      .def("numpy", &view_numpy, "out"_a.none() = nb::none(), "stream"_a.none() = nb::none(), "threads"_a = 0,
           nb::sig("def numpy(self, out: object = None, stream: object = None, threads: int = 0) -> numpy.ndarray"),
           "Copies the view into a C-order numpy.ndarray and returns it, complete.\n\n"
           "The new array lives in pinned memory from the library's caching pool where CUDA is present; "
           "the block returns to the pool when the array is garbage-collected. With `out`, fills that "
           "preallocated array instead: a numpy.ndarray or any object with the buffer protocol (bytearray, "
           "memoryview, array.array) of the view's shape and dtype, C-contiguous and writable. `stream` (None, "
           "an int handle, or a torch / CuPy stream) orders the copy after the work queued on it; device views "
           "are copied on it; a stream without a CUDA device raises CudaError. `threads`: the most CPU threads "
           "the copy may use (0: get_num_threads()). The GIL is released while copying.")
      .def(
          "to_device",
          [](const py_view& self, nb::handle stream) { return to_device_array(self, parse_stream(stream)); },
          "stream"_a.none() = nb::none(), nb::sig("def to_device(self, stream: object = None) -> DeviceArray"),
          "Copies the view into new C-order device memory on `stream` and returns a DeviceArray (DLPack and "
          "__cuda_array_interface__, for torch.from_dlpack / cupy.from_dlpack without a copy). Device views: "
          "gather kernels on the device, asynchronous on the stream. Host views: host to device, complete on return.")
      .def("save", &view_save, "file"_a, "stream"_a.none() = nb::none(),
           nb::sig("def save(self, file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | typing.BinaryIO, "
                   "stream: object = None) -> None"),
           "Writes the view as a .npy file, byte for byte what np.save writes for view.numpy(), with "
           "np.save's conventions: a path without the .npy extension gets it; an open binary file is "
           "written at its position. A path's file appears complete or not at all; device views stream "
           "through bounded pinned chunks. OSError subclasses by errno (FileNotFoundError, ...).")
      .def(
          "__array__",
          [](py_view& self, nb::handle dtype, nb::handle copy) {
            if (!copy.is_none() && !nb::cast<bool>(copy))
              throw nb::value_error("a stridecopy view is not an array: making one always copies (copy=False)");
            nb::object arr = view_numpy(self, nb::none(), nb::none());
            if (!dtype.is_none()) arr = arr.attr("astype")(dtype, "copy"_a = false);
            return arr;
          },
          "dtype"_a.none() = nb::none(), "copy"_a.none() = nb::none(),
          nb::sig("def __array__(self, dtype: object = None, copy: bool | None = None) -> numpy.ndarray"),
          "np.asarray(view): the same as view.numpy().")
      .def("__dlpack__", &view_dlpack, nb::kw_only(), "stream"_a.none() = nb::none(),
           "max_version"_a.none() = nb::none(), "dl_device"_a.none() = nb::none(), "copy"_a.none() = nb::none(),
           nb::sig("def __dlpack__(self, *, stream: object = None, max_version: tuple[int, int] | None = None, "
                   "dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> object"),
           "DLPack export of a copy (torch.as_tensor(view), np.from_dlpack(view)): a host view's C-order "
           "NumPy array, or a device view copied on the consumer's stream. copy=False raises BufferError.")
      .def(
          "__dlpack_device__",
          [](const py_view& self) {
            return self.v.memory == memory_kind::device ? nb::make_tuple(2, std::max(self.src->device, 0))
                                                        : nb::make_tuple(1, 0);
          },
          nb::sig("def __dlpack_device__(self) -> tuple[int, int]"),
          "Where __dlpack__'s copy is made: (1, 0) for host views (kDLCPU), (2, N) for device views (kDLCUDA).")
      .def("__repr__", &view_repr);
}

}  // namespace stridecopy::python
