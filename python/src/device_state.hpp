// python/src/device_state.hpp — a DeviceArray's memory and the CUDA events that keep it safe to
// read and free (device.cpp), apart from module.hpp so that the rest of the module needs no CUDA header.
#pragma once

#include <cuda_runtime_api.h>

#include <mutex>
#include <string>
#include <vector>

#include "cuda/resources.hpp"
#include "module.hpp"

namespace stridecopy::python {

[[noreturn]] inline void cuda_failed(const char* call, cudaError_t rc) {
  (void)cudaGetLastError();
  throw cuda_error(std::string(call) + " failed: " + cudaGetErrorName(rc) + ": " + cudaGetErrorString(rc), int(rc));
}

/// Owned device memory made by to_device, and what keeps it safe to read and free. The memory is
/// allocated and freed on a stream of the library's own (memory_stream), never on the caller's,
/// which may be gone by then: the free waits for the copy that filled it, for every DLPack
/// consumer's stream at the time it released its capsule, and, once __cuda_array_interface__ has
/// handed the pointer to consumers whose streams nobody names, for all work on the device.
struct device_state {
  device_array array;
  detail::owned_event ready;      ///< recorded on `stream` after the copy
  cudaStream_t stream = nullptr;  ///< the caller's stream the copy was queued on (reported, not used)
  int device = 0;
  nb::object stream_owner;  ///< released with the GIL (see the deleter in device.cpp)
  source_ptr pending;       ///< the source, until `ready` has fired

  /// Drops `pending` once the copy has completed.
  void settle();
  /// A consumer's last use: `e` (recorded after it) must complete before the free.
  void add_use(detail::owned_event e);
  /// __cuda_array_interface__ has handed the pointer out.
  void mark_shared();
  ~device_state();

 private:
  std::mutex mutex_;  ///< consumers release their capsules on any thread
  std::vector<detail::owned_event> uses_;
  bool shared_ = false;
};
}  // namespace stridecopy::python
