// python/src/module.cpp — the extension module stridecopy._stridecopy: the exception mapping and
// the functions and classes that stridecopy/__init__.py re-exports.
#include <nanobind/nanobind.h>

#include <mutex>
#include <set>
#include <thread>

#include "cpu/thread_pool.hpp"
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

// The threads that ran pieces of CPU copies while tracing is on (for the tests of the thread setting).
std::mutex traced_mutex;
std::set<std::thread::id> traced_threads;
void trace_piece() {
  const std::lock_guard<std::mutex> lock(traced_mutex);
  traced_threads.insert(std::this_thread::get_id());
}

}  // namespace

NB_MODULE(_stridecopy, m) {
  m.doc() = "stridecopy's compiled core; import stridecopy instead.";

  cuda_error_type =
      PyErr_NewExceptionWithDoc("stridecopy.CudaError", "A CUDA runtime call failed; .code is the cudaError_t value.",
                                PyExc_RuntimeError, nullptr);
  if (!cuda_error_type) throw nb::python_error();
  m.attr("CudaError") = nb::handle(cuda_error_type);
  nb::register_exception_translator(translate);

  sp::register_view(m);
  sp::register_device_array(m);
  sp::register_npy(m);
  sp::register_copyto(m);

  m.def(
      "view", [](nb::handle obj) { return sp::view_of(obj); }, "obj"_a.none(), nb::sig("def view(obj: object) -> View"),
      "A View of `obj` without copying: anything with __dlpack__ (NumPy, PyTorch, CuPy, JAX), "
      "__cuda_array_interface__ (CuPy, Numba), __array_interface__ or the buffer protocol. Negative strides "
      "are taken as they are. The view keeps `obj` alive.");
  m.def("cuda_available", &stridecopy::cuda_available, "True when a CUDA driver and at least one device are present.");
  m.def(
      "cuda_built", [] { return STRIDECOPY_HAS_CUDA != 0; },
      "True when this build of stridecopy has its GPU paths; False for a build without CUDA (the CPU alone), whose "
      "device calls raise CudaError saying so.");
  m.def("set_num_threads", &stridecopy::set_num_threads, "n"_a,
        "Sets the most CPU threads a copy may use when it does not say (threads=0), for the whole process, as "
        "torch.set_num_threads does; 0 restores the default: the CPUs this thread may run on "
        "(os.sched_getaffinity), at most OMP_NUM_THREADS when that is set. Copies below 4 MiB run on the "
        "calling thread alone; idle copy threads sleep.");
  m.def("get_num_threads", &stridecopy::get_num_threads,
        "The most CPU threads a copy that does not say may use: set_num_threads's value, or the default.");
  m.def(
      "_trace_copy_threads",
      [](bool on) {
        stridecopy::detail::set_piece_observer(nullptr);
        const std::lock_guard<std::mutex> lock(traced_mutex);
        const auto seen = traced_threads.size();
        traced_threads.clear();
        if (on) stridecopy::detail::set_piece_observer(trace_piece);
        return seen;
      },
      "on"_a,
      "Starts (True) or stops (False) recording the threads that run CPU copy pieces; returns how many "
      "distinct threads ran pieces since the last call (for tests).");
  m.def(
      "_pool_stats",
      [] {
        const stridecopy::detail::pool_stats s = stridecopy::detail::get_pool_stats();
        nb::dict d;
        d["team_jobs"] = s.team_jobs;
        d["worker_pieces"] = s.worker_pieces;
        d["caller_waits"] = s.caller_waits;
        d["caller_wait_ns"] = s.caller_wait_ns;
        return d;
      },
      "What the CPU copy threads have done since the process started (for benchmarks): jobs run with a team, "
      "pieces run by workers, and how often and how long a caller waited at the end for a worker's piece.");
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
