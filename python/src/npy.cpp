// python/src/npy.cpp — stridecopy.load: a .npy file or open binary file (optionally indexed) into NumPy
// or device memory; file-system failures become OSError subclasses by errno, malformed files ValueError.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "module.hpp"

namespace stridecopy::python {

using namespace nb::literals;

namespace {

/// A device as torch spells it: "cpu" or "cpu:N" -> -1 (the host); "cuda" -> -2 (the current device,
/// resolved later); "cuda:N", an int N, or an object with .type and .index (torch.device) -> N.
int parse_device(nb::handle device) {
  const auto bad = [&](const std::string& why) -> int {
    throw nb::value_error(("device " + std::string(nb::repr(device).c_str()) + ": " + why).c_str());
  };
  // The ordinal, from an int or the digits after "cuda:": CUDA numbers devices with C ints.
  const auto ordinal = [&](nb::handle x) -> int {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(x.ptr(), &overflow);
    if (v == -1 && PyErr_Occurred()) throw nb::python_error();
    if (overflow || v < 0 || v > INT32_MAX) return bad("the device index must be an int from 0 to 2147483647");
    return int(v);
  };
  std::string type;
  int index = -1;
  if (PyLong_Check(device.ptr()) && !PyBool_Check(device.ptr())) {
    type = "cuda";
    index = ordinal(device);
  } else if (PyUnicode_Check(device.ptr())) {
    const std::string d = nb::cast<std::string>(device);
    const auto colon = d.find(':');
    type = d.substr(0, colon);
    if (colon != std::string::npos) {
      const std::string digits = d.substr(colon + 1);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
        return bad("expected \"cpu\", \"cuda\" or \"cuda:N\" with N a device index");
      index = ordinal(nb::int_(nb::str(digits.c_str())));
    }
  } else if (nb::object t = optional_attr(device, "type"), i = optional_attr(device, "index");
             t.is_valid() && i.is_valid()) {
    type = nb::str(t).c_str();  // torch.device
    if (!i.is_none()) index = ordinal(i);
  } else {
    throw nb::type_error(
        ("device must be a str (\"cpu\", \"cuda\", \"cuda:1\"), an int or a torch.device, not " + py_type_name(device))
            .c_str());
  }
  if (type == "cpu") return -1;
  if (type == "cuda") return index >= 0 ? index : -2;
  return bad("stridecopy copies to \"cpu\" or \"cuda[:N]\"");
}

/// Up to `n` bytes from a binary file object (read() until n or the end), appended to `out`.
void read_from(nb::handle f, std::string& out, std::size_t n) {
  while (n > 0) {
    nb::object chunk = f.attr("read")(n);
    if (!PyBytes_Check(chunk.ptr()))
      throw nb::type_error(
          ("the file's read() returned " + py_type_name(chunk) + ", not bytes: open it in binary mode (\"rb\")")
              .c_str());
    const auto got = std::size_t(PyBytes_Size(chunk.ptr()));
    if (got == 0) return;
    out.append(PyBytes_AsString(chunk.ptr()), got);
    n -= std::min(n, got);
  }
}

/// A .npy from an open binary file at its position (np.load's file objects), read to the array's
/// last byte and no further. Malformed or short: npy_error (ValueError).
host_array read_file_object(nb::handle f, npy_header& h) {
  std::string head;
  read_from(f, head, 8);  // magic and version
  if (head.size() == 8 && head[6] >= 1 && head[6] <= 3) {
    read_from(f, head, head[6] == 1 ? 2 : 4);
    if (head.size() == std::size_t(head[6] == 1 ? 10 : 12)) {
      std::size_t length = 0;
      for (std::size_t i = head.size(); i-- > 8;) length = length * 256 + static_cast<unsigned char>(head[i]);
      read_from(f, head, length);
    }
  }
  h = parse_npy_header(head);
  std::size_t bytes = 1;
  for (const std::int64_t e : h.shape) bytes *= std::size_t(e);  // parse_npy_header bounds it
  bytes *= std::size_t(h.type.itemsize);
  // A file that can say how much is left is checked before the array is allocated: a header that
  // claims more than the file holds costs no memory.
  if (nb::object seekable = optional_attr(f, "seekable"); seekable.is_valid() && nb::cast<bool>(seekable())) {
    const auto at = nb::cast<long long>(f.attr("tell")());
    const auto end = nb::cast<long long>(f.attr("seek")(0, 2));
    f.attr("seek")(at);
    if (end - at < 0 || std::size_t(end - at) < bytes)
      throw npy_error("truncated .npy data in the file object: expected " + std::to_string(bytes) +
                      " bytes of data, the file has " + std::to_string(end > at ? end - at : 0));
  }
  host_array a(h.type, h.shape, h.fortran_order ? order::f : order::c, memory_kind::pageable);
  std::size_t done = 0;
  const bool readinto = optional_attr(f, "readinto").is_valid();
  while (done < a.bytes()) {
    std::size_t got = 0;
    if (readinto) {
      nb::object view = nb::steal(
          PyMemoryView_FromMemory(static_cast<char*>(a.data()) + done, Py_ssize_t(a.bytes() - done), PyBUF_WRITE));
      if (!view.is_valid()) throw nb::python_error();
      nb::object n = f.attr("readinto")(view);
      got = n.is_none() ? 0 : nb::cast<std::size_t>(n);
    } else {
      std::string chunk;
      read_from(f, chunk, a.bytes() - done);
      std::memcpy(static_cast<char*>(a.data()) + done, chunk.data(), chunk.size());
      got = chunk.size();
    }
    if (got == 0)
      throw npy_error("truncated .npy data in the file object: expected " + std::to_string(a.bytes()) +
                      " bytes of data, read " + std::to_string(done));
    done += got;
  }
  return a;
}

nb::object load(nb::handle file, nb::handle index, nb::handle device, nb::handle stream) {
  const int target = parse_device(device);
  if (!stream.is_none() && target == -1)
    throw nb::value_error("stream= orders a copy to a CUDA device; load(device=\"cpu\") makes none");
  const stream_arg s = parse_stream(stream);
  // np.load's conventions: an open binary file (anything with read()) is read from its position,
  // anything else is a path (str, bytes, os.PathLike).
  const bool file_object = optional_attr(file, "read").is_valid();
  const std::string p = file_object ? std::string() : fs_path(file);
  // A whole array to the host is read into memory of its own (what np.load returns), header and
  // data from one open file; anything else reads a mapping of the file, so an index reads only the
  // pages its view touches. A file object is read whole.
  const bool whole = file_object || (index.is_none() && target == -1);
  npy_header header;
  host_array a;
  std::unique_ptr<mapped_npy> mapped;
  if (file_object) {
    a = read_file_object(file, header);
  } else {
    nb::gil_scoped_release unlocked;
    if (whole)
      a = load_npy(p, &header);
    else
      mapped = std::make_unique<mapped_npy>(p);
  }
  if (mapped) header = mapped->header();
  // Records and datetimes: NumPy names them from the header's descr, and they travel as bytes.
  const bool named = header.descr.front() == '[' || needs_numpy_name(header.type);
  const element how = named ? element::opaque : classify(header.type);
  nb::object np_dtype = named ? numpy_dtype_of_descr(header.descr) : numpy_dtype_of(header.type, how, {});
  if (whole && index.is_none() && target == -1) return wrap_host_array(std::move(a), how, np_dtype);
  source_ptr src = make_source();
  src->owner = nb::none();
  py_view v;
  const mapped_npy* file_map = mapped.get();
  if (mapped) {
    src->how = source::kind::mapped_file;
    v.v = mapped->as_view();
    src->mapped = std::move(mapped);
  } else {
    src->how = source::kind::host_array;
    v.v = a.as_view();
    src->array = std::make_unique<host_array>(std::move(a));
  }
  v.src = std::move(src);
  v.how = how;
  if (named) v.dtype = np_dtype;
  if (!index.is_none()) v = apply_key(v, index);
  nb::object result =
      target == -1 ? view_numpy(v, nb::none(), nb::none()) : to_device_array(v, s, target >= 0 ? target : -1);
  // A file truncated while mapped read as zeros where its pages went: that copy is not the file's.
  if (file_map) file_map->check_intact();
  return result;
}

}  // namespace

nb::object numpy_dtype_of_descr(const std::string& descr) {
  // The descr is a Python literal (a type string or a list of fields): NumPy's own reader names it.
  nb::object literal = nb::module_::import_("ast").attr("literal_eval")(descr);
  return numpy_module().attr("lib").attr("format").attr("descr_to_dtype")(literal);
}

void register_npy(nb::module_& m) {
  m.def("load", &load, "file"_a, "index"_a.none() = nb::none(), "device"_a.none() = "cpu",
        "stream"_a.none() = nb::none(),
        nb::sig("def load(file: object, index: object = None, device: object = 'cpu', "
                "stream: object = None) -> numpy.ndarray | DeviceArray"),
        "The compiled stridecopy.load (see there).");
}

}  // namespace stridecopy::python
