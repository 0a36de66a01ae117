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
  host_array a;
  try {
    nb::gil_scoped_release unlocked;
    a = load_npy(p);
  } catch (const npy_error& e) {
    const std::string what = e.what();
    if (what.find(": cannot open: ") != std::string::npos || what.find(": read failed: ") != std::string::npos)
      throw os_error(what, 0);
    throw;  // malformed or truncated: ValueError
  }
  const element how = classify(a.type());
  if (index.is_none() && target == -1) return wrap_host_array(std::move(a), how, numpy_dtype_of(a.type(), how, {}));
  source_ptr src = make_source();
  src->how = source::kind::host_array;
  src->owner = nb::none();
  src->array = std::make_unique<host_array>(std::move(a));
  py_view v;
  v.v = src->array->as_view();
  v.src = std::move(src);
  v.how = how;
  if (!index.is_none()) v = apply_key(v, index);
  if (target == -1) return view_numpy(v, nb::none(), nb::none());
  return to_device_array(v, s, target >= 0 ? target : -1);
}

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
