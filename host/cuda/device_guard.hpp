// host/cuda/device_guard.hpp — the one device guard of the library and the Python module (internal):
// a device made current for a scope, the previous one restored after; throwing and non-throwing forms.
// Declared without CUDA's headers (host/cuda/runtime.cpp defines it; host/no_cuda.cpp too, where a
// non-negative device cannot be made current).
#pragma once

#include <new>

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
  explicit device_guard(int device);
  device_guard(int device, std::nothrow_t /*unused*/) noexcept;
  ~device_guard();
  device_guard(const device_guard&) = delete;
  device_guard& operator=(const device_guard&) = delete;
  device_guard(device_guard&&) = delete;
  device_guard& operator=(device_guard&&) = delete;

 private:
  int previous_ = -1;
  bool switched_ = false;
};

}  // namespace stridecopy::detail
