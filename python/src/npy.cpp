// python/src/npy.cpp — stridecopy.load: a .npy file (optionally indexed) into NumPy or device memory;
// file-system failures become OSError with their errno, malformed files ValueError.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "module.hpp"

namespace stridecopy::python {

using namespace nb::literals;

namespace {

[[noreturn]] void raise_errno(int err, nb::handle path) {
  errno = err;
  PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path.ptr());
  throw nb::python_error();
}

/// "cpu" → -1; "cuda" → the current device (-2 here, resolved later); "cuda:N" → N.
int parse_device(nb::handle device) {
  const std::string d = nb::str(device).c_str();
  if (d == "cpu") return -1;
  if (d == "cuda") return -2;
  if (d.rfind("cuda:", 0) == 0 && d.size() > 5 && d.find_first_not_of("0123456789", 5) == std::string::npos)
    return std::stoi(d.substr(5));
  throw nb::value_error(("device must be \"cpu\", \"cuda\" or \"cuda:N\", not " + d).c_str());
}

nb::object load(nb::handle path, nb::handle index, nb::handle device, nb::handle stream) {
  const std::string p = fs_path(path);
  const int target = parse_device(device);
  const stream_arg s = parse_stream(stream);
  // The file system's failures keep their errno (FileNotFoundError, PermissionError, ...).
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) raise_errno(errno, path);
  if (S_ISDIR(st.st_mode)) raise_errno(EISDIR, path);
  // A whole array to the host is read into memory of its own (what np.load returns); anything else
  // reads a mapping of the file, so an index reads only the pages its view touches.
  const bool whole = index.is_none() && target == -1;
  host_array a;
  std::unique_ptr<mapped_npy> mapped;
  try {
    nb::gil_scoped_release unlocked;
    if (whole)
      a = load_npy(p);
    else
      mapped = std::make_unique<mapped_npy>(p);
  } catch (const npy_error& e) {
    const std::string what = e.what();
    if (what.find(": cannot open: ") != std::string::npos || what.find(": read failed: ") != std::string::npos)
      throw os_error(what, 0);
    throw;  // malformed or truncated: ValueError
  }
  const dtype type = whole ? a.type() : mapped->header().type;
  const std::string descr = whole ? read_npy_header(p).descr : mapped->header().descr;
  // Records and datetimes: NumPy names them from the header's descr, and they travel as bytes.
  const bool named = descr.front() == '[' || needs_numpy_name(type);
  const element how = named ? element::opaque : classify(type);
  nb::object np_dtype = named ? numpy_dtype_of_descr(descr) : numpy_dtype_of(type, how, {});
  if (whole) return wrap_host_array(std::move(a), how, np_dtype);
  source_ptr src = make_source();
  src->how = source::kind::mapped_file;
  src->owner = nb::none();
  py_view v;
  v.v = mapped->as_view();
  src->mapped = std::move(mapped);
  v.src = std::move(src);
  v.how = how;
  if (named) v.dtype = np_dtype;
  if (!index.is_none()) v = apply_key(v, index);
  if (target == -1) return view_numpy(v, nb::none(), nb::none());
  return to_device_array(v, s, target >= 0 ? target : -1);
}

}  // namespace

nb::object numpy_dtype_of_descr(const std::string& descr) {
  // The descr is a Python literal (a type string or a list of fields): NumPy's own reader names it.
  nb::object literal = nb::module_::import_("ast").attr("literal_eval")(descr);
  return numpy_module().attr("lib").attr("format").attr("descr_to_dtype")(literal);
}

namespace {

}  // namespace

void register_npy(nb::module_& m) {
  m.def("load", &load, "path"_a, "index"_a.none() = nb::none(), "device"_a = "cpu", "stream"_a.none() = nb::none(),
        nb::sig("def load(path: str | os.PathLike[str], index: object = None, device: str = 'cpu', "
                "stream: object = None) -> numpy.ndarray | DeviceArray"),
        "Reads a .npy file (what np.save or View.save wrote): the whole array as np.load gives it, or with "
        "`index` (a key or an index string, as View indexing) its C-order copy. device=\"cuda\" or \"cuda:N\" "
        "returns a DeviceArray (a host-to-device copy). Missing or unreadable files raise OSError; malformed "
        "ones ValueError.");
}

}  // namespace stridecopy::python
