// host/cuda_executor.hpp — the device side of the executor (internal): device/pointer checks and
// enqueueing the gather kernels of a plan on a stream.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Knobs for tests and benchmarks; the public API uses the defaults.
struct exec_options {
  bool force_index64 = false;  ///< run 64-bit-index kernels even where 32 bits suffice
};

/// Where a pointer lives, as CUDA reports it.
struct pointer_info {
  cudaMemoryType type = cudaMemoryTypeUnregistered;
  int device = -1;
};
pointer_info query_pointer(const void* p);

/// The largest power of two <= 16 dividing the address (16 for null).
int address_alignment(const void* p);

/// Enqueues the gather kernels writing output units [first, first + count) of `p` to `dst` on the
/// current device. No checks: callers validate first. Throws cuda_error if a launch fails.
void enqueue_gather(const plan& p, std::int64_t first, std::int64_t count, void* dst, cudaStream_t stream,
                    const exec_options& options);

/// Makes `device` current for the guard's lifetime and restores the previous device after.
class device_guard {
 public:
  explicit device_guard(int device);
  ~device_guard();
  device_guard(const device_guard&) = delete;
  device_guard& operator=(const device_guard&) = delete;

 private:
  int previous_ = -1;
};

/// copy_to_device_async with options.
void copy_to_device_async(const view& v, void* dst, std::size_t dst_bytes, cudaStream_t stream,
                          const exec_options& options);

}  // namespace stridecopy::detail
