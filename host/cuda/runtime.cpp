// host/cuda/runtime.cpp — pointer queries, the current device, stream identity and completion, the
// device guard; cuda_available().
#include "cuda/runtime.hpp"

#include <cuda_runtime_api.h>

#include "cuda/check.hpp"
#include "stridecopy/copy.hpp"

static_assert(stridecopy::detail::no_device_code == int(cudaErrorNoDevice));

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

void no_device(const std::string& what) { throw cuda_error(what + ": no CUDA device is available", no_device_code); }

device_guard::device_guard(int device) {
  if (device < 0) return;
  const auto failed = [](cudaError_t e, const char* call) {
    (void)cudaGetLastError();
    throw_cuda_error(e, call);
  };
  if (const cudaError_t e = cudaGetDevice(&previous_); e != cudaSuccess) failed(e, "cudaGetDevice");
  if (previous_ == device) return;
  if (const cudaError_t e = cudaSetDevice(device); e != cudaSuccess) failed(e, "cudaSetDevice");
  switched_ = true;
}

device_guard::device_guard(int device, std::nothrow_t /*unused*/) noexcept {
  if (device < 0) return;
  if (cudaGetDevice(&previous_) != cudaSuccess) {
    (void)cudaGetLastError();
    return;
  }
  if (previous_ == device) return;
  switched_ = cudaSetDevice(device) == cudaSuccess;
  if (!switched_) (void)cudaGetLastError();
}

device_guard::~device_guard() {
  if (switched_ && cudaSetDevice(previous_) != cudaSuccess) (void)cudaGetLastError();
}

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

int stream_device(stream_handle s) {
  if (is_legacy_default(s) || s == cudaStreamPerThread) return current_device();
  int device = -1;
  STRIDECOPY_CUDA_TRY(cudaStreamGetDevice(s, &device));
  return device;
}

bool is_legacy_default(stream_handle s) { return s == nullptr || s == cudaStreamLegacy; }

bool is_capturing(stream_handle s) {
  // The legacy stream is never captured itself (and asking it fails while another stream captures).
  if (is_legacy_default(s)) return false;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  STRIDECOPY_CUDA_TRY(cudaStreamIsCapturing(s, &capture));
  return capture != cudaStreamCaptureStatusNone;
}

unsigned long long stream_id(stream_handle s) {
  unsigned long long id = 0;
  STRIDECOPY_CUDA_TRY(cudaStreamGetId(s, &id));
  return id;
}

void synchronize(stream_handle s) { STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(s)); }

void synchronize_quietly(stream_handle s) noexcept { (void)cudaStreamSynchronize(s); }

}  // namespace detail
}  // namespace stridecopy
