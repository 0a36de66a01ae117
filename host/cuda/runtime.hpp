// host/cuda/runtime.hpp — what the front door, the .npy writer and the Python module ask the CUDA
// runtime (internal): where a pointer lives, which device is current, a stream's identity, capture
// state and completion. Declared without CUDA's headers: host/cuda/runtime.cpp implements it on the
// CUDA runtime, host/no_cuda.cpp in a build without CUDA (no device, every pointer host memory).
#pragma once

#include <string>

#include "cuda/device_guard.hpp"  // the callers that ask which device is current also switch it
#include "stridecopy/stream.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy::detail {

/// cudaErrorNoDevice, the code of the cuda_error a call that needs a device throws without one
/// (host/cuda/runtime.cpp checks the value against CUDA's).
inline constexpr int no_device_code = 100;

/// Throws cuda_error "<what>: no CUDA device is available" (in a build without CUDA: "<what>:
/// stridecopy was built without CUDA").
[[noreturn]] void no_device(const std::string& what);

/// Where a pointer lives, as cudaPointerGetAttributes reports it.
struct pointer_info {
  memory_kind kind = memory_kind::pageable;
  int device = -1;               ///< the owning device (device memory), or -1
  void* device_alias = nullptr;  ///< pinned host memory: the address a kernel uses, when mapped
};

/// Throws cuda_error when the query fails.
pointer_info query_pointer(const void* p);

/// The current device.
int current_device();

/// The device of stream `s` (the current device for the legacy and per-thread default streams,
/// which follow it).
int stream_device(stream_handle s);

/// The legacy default stream (0 or cudaStreamLegacy), which synchronises with blocking streams.
bool is_legacy_default(stream_handle s);

/// True while `s` captures a CUDA graph.
bool is_capturing(stream_handle s);

/// The process-unique id of a stream (cudaStreamGetId): handles are reused after destruction, ids not.
unsigned long long stream_id(stream_handle s);

/// Waits until the work enqueued on `s` is complete; throws cuda_error when it failed.
void synchronize(stream_handle s);

/// synchronize for cleanup paths: waits, and ignores a failure.
void synchronize_quietly(stream_handle s) noexcept;

}  // namespace stridecopy::detail
