// host/cuda/runtime.hpp — what the executors ask the CUDA runtime (internal): where a pointer lives,
// which device is current, a stream's identity and capture state.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/device_guard.hpp"  // the callers that ask which device is current also switch it
#include "stridecopy/view.hpp"

namespace stridecopy::detail {

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
int stream_device(cudaStream_t s);

/// The legacy default stream (0 or cudaStreamLegacy), which synchronises with blocking streams.
bool is_legacy_default(cudaStream_t s);
/// True while `s` captures a CUDA graph.
bool is_capturing(cudaStream_t s);
/// The process-unique id of a stream (cudaStreamGetId): handles are reused after destruction, ids not.
unsigned long long stream_id(cudaStream_t s);

}  // namespace stridecopy::detail
