// python/src/no_cuda.cpp — the module's device side in a build without CUDA (device.cpp's
// counterpart): no DeviceArray can be made (to_device throws cuda_error saying how stridecopy was
// built), device sources are read like the others and their copies refused by the library, and
// nothing waits on a stream.
#include <nanobind/nanobind.h>

#include "module.hpp"

namespace stridecopy::python {

// Empty: no DeviceArray is made in this build (py_device_array holds only a pointer to one).
struct device_state {};

void register_device_array(nb::module_& m) {
  nb::class_<py_device_array>(m, "DeviceArray",
                              "A C-order array in device memory owned by stridecopy (what View.to_device returns). "
                              "This build of stridecopy has no CUDA: none is ever made.");
}

nb::object make_py_device_array(device_ptr /*st*/, element /*how*/, nb::object /*np_dtype*/) {
  detail::no_device("a DeviceArray");
}

nb::object to_device_array(const py_view& /*v*/, const stream_arg& /*s*/, int /*target*/) {
  detail::no_device("to_device");
}

stream_handle memory_stream(int /*device*/) { detail::no_device("a DeviceArray's stream"); }

int device_of_pointer(const void* /*p*/) { return 0; }

bool view_of_device_array(nb::handle /*obj*/, py_view& /*out*/) { return false; }

// A device source's copy is refused by the library before any work; there is no stream to order.
void source::order_before(const stream_arg& /*s*/) const {}

}  // namespace stridecopy::python
