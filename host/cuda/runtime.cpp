// host/cuda/runtime.cpp — pointer queries, the current device, stream identity; cuda_available().
#include "cuda/runtime.hpp"

#include "cuda/check.hpp"
#include "stridecopy/copy.hpp"

namespace stridecopy {

bool cuda_available() noexcept {
  static const bool available = [] {
    int n = 0;
    const bool ok = cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
    (void)cudaGetLastError();
    return ok;
  }();
  return available;
}

namespace detail {

pointer_info query_pointer(const void* p) {
  cudaPointerAttributes a{};
  STRIDECOPY_CUDA_TRY(cudaPointerGetAttributes(&a, p));
  pointer_info info;
  switch (a.type) {
    case cudaMemoryTypeDevice:
    case cudaMemoryTypeManaged:
      info.kind = memory_kind::device;
      info.device = a.device;
      break;
    case cudaMemoryTypeHost:
      info.kind = memory_kind::pinned;
      info.device_alias = a.devicePointer;
      break;
    default: break;
  }
  return info;
}

int current_device() {
  int device = 0;
  STRIDECOPY_CUDA_TRY(cudaGetDevice(&device));
  return device;
}

int stream_device(cudaStream_t s) {
  if (is_legacy_default(s) || s == cudaStreamPerThread) return current_device();
  int device = -1;
  STRIDECOPY_CUDA_TRY(cudaStreamGetDevice(s, &device));
  return device;
}

bool is_legacy_default(cudaStream_t s) { return s == nullptr || s == cudaStreamLegacy; }

bool is_capturing(cudaStream_t s) {
  // The legacy stream is never captured itself (and asking it fails while another stream captures).
  if (is_legacy_default(s)) return false;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  STRIDECOPY_CUDA_TRY(cudaStreamIsCapturing(s, &capture));
  return capture != cudaStreamCaptureStatusNone;
}

unsigned long long stream_id(cudaStream_t s) {
  unsigned long long id = 0;
  STRIDECOPY_CUDA_TRY(cudaStreamGetId(s, &id));
  return id;
}

}  // namespace detail
}  // namespace stridecopy
