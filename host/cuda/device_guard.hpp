// host/cuda/device_guard.hpp — the one device guard of the library and the Python module (internal):
// a device made current for a scope, the previous one restored after; throwing and non-throwing forms.
#pragma once

#include <cuda_runtime_api.h>

#include <new>

#include "cuda/check.hpp"

namespace stridecopy::detail {

/// Makes `device` current for the guard's lifetime and restores the previous device after. Neither
/// touches the runtime when `device` is already current; a negative `device` switches nothing.
/// `device_guard on(d)` throws cuda_error when the runtime refuses. `device_guard on(d, std::nothrow)`
/// is the form for destructors and cleanup paths, as STRIDECOPY_CUDA_TRY_NOEXCEPT is for a call: a
/// refusal leaves the current device as it was, and the work that follows runs there. Either form
/// clears the error a refusal leaves behind: another library's next launch check would report it as
/// its own.
class device_guard {
 public:
  explicit device_guard(int device) {
    if (device < 0) return;
    if (const cudaError_t e = cudaGetDevice(&previous_); e != cudaSuccess) failed(e, "cudaGetDevice");
    if (previous_ == device) return;
    if (const cudaError_t e = cudaSetDevice(device); e != cudaSuccess) failed(e, "cudaSetDevice");
    switched_ = true;
  }
  device_guard(int device, std::nothrow_t /*unused*/) noexcept {
    if (device < 0) return;
    if (cudaGetDevice(&previous_) != cudaSuccess) {
      (void)cudaGetLastError();
      return;
    }
    if (previous_ == device) return;
    switched_ = cudaSetDevice(device) == cudaSuccess;
    if (!switched_) (void)cudaGetLastError();
  }
  ~device_guard() {
    if (switched_ && cudaSetDevice(previous_) != cudaSuccess) (void)cudaGetLastError();
  }
  device_guard(const device_guard&) = delete;
  device_guard& operator=(const device_guard&) = delete;
  device_guard(device_guard&&) = delete;
  device_guard& operator=(device_guard&&) = delete;

 private:
  [[noreturn]] static void failed(cudaError_t e, const char* call) {
    (void)cudaGetLastError();
    throw_cuda_error(e, call);
  }

  int previous_ = -1;
  bool switched_ = false;
};

}  // namespace stridecopy::detail
