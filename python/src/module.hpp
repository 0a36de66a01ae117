// python/src/module.hpp — what the parts of the extension module share: views as Python sees them,
// the sources they read, owned device results, streams and element types.
#pragma once

#include <nanobind/nanobind.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <stridecopy/stridecopy.hpp>

#include "cuda/device_guard.hpp"
#include "cuda/runtime.hpp"

namespace stridecopy::python {

namespace nb = nanobind;

/// How an element type travels between NumPy and the library, which only needs its size.
enum class element : std::uint8_t {
  plain,     ///< bool, ints, little-endian floats and complex: a DLPack type NumPy takes as is
  viewed,    ///< S, U, V, big-endian or long double: bytes, then .view(dtype); .npy header as np.save
  opaque,    ///< structured, datetime and the like: bytes ('V'); .npy written by np.save itself
  bfloat16,  ///< bytes ('V2'); ml_dtypes.bfloat16 in NumPy, DLPack's bfloat for device results
  custom,    ///< another package's NumPy dtype (ml_dtypes' float8, int4, ...): bytes, NumPy's dtype
             ///< kept beside; .npy written by np.save itself
};

/// `device` where a CUDA device is present, else -1, which a device_guard leaves alone: without a
/// device there is nothing to make current, and the copy itself says so in its own words.
inline int usable_device(int device) { return cuda_available() ? device : -1; }

/// A stream argument: None, an int handle, or an object naming a CUDA stream.
struct stream_arg {
  stream_handle handle = nullptr;  ///< nullptr: the legacy default stream
  bool given = false;              ///< false for None
  nb::object owner;                ///< the stream object, kept alive while work is queued on it
};
stream_arg parse_stream(nb::handle s);
/// The array-API integer for a stream (1 for the legacy default stream, never 0).
long long stream_protocol_value(stream_handle s);

/// Owned device memory made by to_device (device_state.hpp: it holds CUDA events).
struct device_state;

/// What a view reads: the Python object it was made from and whatever keeps its memory valid.
/// Shared by every view sliced from it; destroyed with the GIL held.
struct source {
  enum class kind { buffer, dlpack, cuda_array_interface, array_interface, host_array, mapped_file, device_result };
  kind how = kind::buffer;
  nb::object owner;
  Py_buffer buffer{};
  bool has_buffer = false;
  void* managed = nullptr;  ///< DLManagedTensor(Versioned)* we consumed, deleted with the source
  bool versioned = false;
  std::unique_ptr<host_array> array;     ///< an owned array (sc.load)
  std::unique_ptr<mapped_npy> mapped;    ///< a mapped .npy file (sc.load with an index)
  std::shared_ptr<device_state> result;  ///< a DeviceArray's memory
  int device = -1;                       ///< CUDA device of device memory, -1 for host memory
  /// The producer lets us write (a writable buffer, a DLPack tensor not flagged read-only, an
  /// interface whose read_only is False, a DeviceArray): what copyto's destination must be.
  bool writable = false;

  source() = default;
  source(const source&) = delete;
  source& operator=(const source&) = delete;
  ~source();

  /// Makes `s` wait for the producer's pending writes (device memory only); needs the GIL.
  void order_before(const stream_arg& s) const;
};
using source_ptr = std::shared_ptr<source>;
source_ptr make_source();

/// A lazily indexed view, as Python holds it.
struct py_view {
  view v;
  source_ptr src;
  element how = element::plain;
  nb::object dtype;  ///< numpy.dtype; empty until first needed for plain and viewed types
};

using device_ptr = std::shared_ptr<device_state>;
device_ptr make_device_state();

/// What Python holds for a DeviceArray.
struct py_device_array {
  device_ptr st;
  element how = element::plain;
  nb::object dtype;
};

/// The numpy module, imported once.
nb::object numpy_module();

// ---- views (view.cpp)
py_view view_of(nb::handle obj);
nb::object numpy_dtype(const py_view& v);
nb::object numpy_dtype_of(const dtype& t, element how, nb::handle known);
/// The result of a copy, owned by a capsule: a numpy.ndarray over a host_array.
nb::object wrap_host_array(host_array&& a, element how, nb::handle np_dtype);

// ---- results without CUDA (host_blocks.cpp): cached page-aligned blocks, sizes rounded up to a
// power of two (in `block`), as the pinned pool does where CUDA is present.
void* take_host_block(std::size_t bytes, std::size_t& block);
void give_host_block(void* p, std::size_t block) noexcept;
void trim_host_blocks() noexcept;
/// The library's own stream of `device` for allocating and freeing DeviceArray memory: never
/// destroyed, so a free never runs on a stream its caller may have destroyed.
stream_handle memory_stream(int device);
/// view.to_device(stream): a DeviceArray on device `target` (-1: the source's device, or the current one).
nb::object to_device_array(const py_view& v, const stream_arg& s, int target = -1);
/// How an element type the library names travels to NumPy.
element classify(const dtype& t);
/// Types NumPy names more fully than a dtype value does (a datetime's unit, a record's fields).
inline bool needs_numpy_name(const dtype& t) { return t.kind == 'M' || t.kind == 'm'; }
/// NumPy's dtype for a .npy descr literal (npy_header::descr).
nb::object numpy_dtype_of_descr(const std::string& descr);
/// os.fspath(path) as the bytes the file system takes; ValueError for a NUL byte, as open() says.
std::string fs_path(nb::handle path);
/// A Python attribute, or an empty object where it is missing (AttributeError); any other error the
/// object raises propagates, as NumPy lets it.
nb::object optional_attr(nb::handle obj, const char* name);
/// "int" for an int, "tuple" for a tuple: what Python's messages call a value's type.
std::string py_type_name(nb::handle obj);
py_view apply_key(const py_view& v, nb::handle key);
/// dst[...] = value as np.copyto does it, complete on return: `value` is a view or anything view_of
/// (or, failing that, numpy.asarray) reads, broadcast to dst's shape; dtypes must match.
void copy_into(const py_view& dst, nb::handle value, nb::handle stream, int threads, const char* who);
void register_copyto(nb::module_& m);
/// view.numpy(out, stream, threads): the copy into host memory.
nb::object view_numpy(py_view& self, nb::handle out, nb::handle stream, int threads = 0);
void register_view(nb::module_& m);

// ---- device results and device sources (device.cpp; no_cuda.cpp in a build without CUDA)
void register_device_array(nb::module_& m);
nb::object make_py_device_array(device_ptr st, element how, nb::object np_dtype);
/// The device that holds device pointer `p` (0 where CUDA cannot tell).
int device_of_pointer(const void* p);
/// A view of a DeviceArray `obj` into `out`; false when `obj` is none.
bool view_of_device_array(nb::handle obj, py_view& out);

// ---- .npy (npy.cpp)
void register_npy(nb::module_& m);

/// Live results handed to NumPy (host arrays not yet returned to their pool), for the tests.
extern std::atomic<long> live_host_results;

}  // namespace stridecopy::python
