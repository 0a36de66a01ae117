// python/src/module.cpp — the extension module stridecopy._stridecopy: the exception mapping and
// the functions and classes that stridecopy/__init__.py re-exports.
#include <nanobind/nanobind.h>

#include "module.hpp"

namespace nb = nanobind;
using namespace nb::literals;
namespace sp = stridecopy::python;

namespace {

// A raw reference, never released: a static nb::object would be decref'd after Python finalised.
PyObject* cuda_error_type = nullptr;

void translate(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const stridecopy::cuda_error& e) {
    nb::object exc = nb::handle(cuda_error_type)(e.what());
    exc.attr("code") = e.code();
    PyErr_SetObject(cuda_error_type, exc.ptr());
  } catch (const stridecopy::zero_step& e) {
    PyErr_SetString(PyExc_ValueError, e.what());  // NumPy: ValueError: slice step cannot be zero
  } catch (const stridecopy::invalid_index& e) {
    PyErr_SetString(PyExc_IndexError, e.what());
  } catch (const stridecopy::invalid_view& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const stridecopy::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const stridecopy::file_error& e) {
    // OSError(errno, message) is the subclass for that errno (FileNotFoundError, PermissionError, ...).
    nb::object exc = nb::handle(PyExc_OSError)(e.code(), e.what());
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  } catch (const stridecopy::npy_error& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const stridecopy::error& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  // Anything else propagates to nanobind's own translators (std exceptions, python_error).
}

}  // namespace

NB_MODULE(_stridecopy, m) {
  m.doc() = "stridecopy's compiled core; import stridecopy instead.";

  cuda_error_type = PyErr_NewExceptionWithDoc(
      "stridecopy.CudaError", "A CUDA runtime call failed; .code is the cudaError_t value.", PyExc_RuntimeError, nullptr);
  if (!cuda_error_type) throw nb::python_error();
  m.attr("CudaError") = nb::handle(cuda_error_type);
  nb::register_exception_translator(translate);

  sp::register_view(m);
  sp::register_device_array(m);
  sp::register_npy(m);

  m.def(
      "view", [](nb::handle obj) { return sp::view_of(obj); }, "obj"_a.none(),
      nb::sig("def view(obj: object) -> View"),
      "A View of `obj` without copying: anything with __dlpack__ (NumPy, PyTorch, CuPy, JAX), "
      "__cuda_array_interface__ (CuPy, Numba), __array_interface__ or the buffer protocol. Negative strides "
      "are taken as they are. The view keeps `obj` alive.");
  m.def("cuda_available", &stridecopy::cuda_available, "True when a CUDA driver and at least one device are present.");
  m.def(
      "release_cached_memory",
      [] {
        nb::gil_scoped_release unlocked;
        stridecopy::release_cached_memory();
        sp::trim_host_blocks();
      },
      "Frees the cached blocks results are made in (pinned where CUDA is present) and the library's staging "
      "rings; blocks held by live arrays stay theirs.");
  m.def(
      "_live_host_results", [] { return sp::live_host_results.load(); },
      "How many arrays returned by numpy()/load() still hold their host block (for tests).");
}
