// host/cuda/gather_launch.hpp — enqueueing the gather kernels of a plan on a stream (internal).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Enqueues the gather kernels writing output units [first, first + count) of p to `dst` on the
/// current device; `src` is the view's first element (device memory, or a mapped alias), `dst` is
/// unit-aligned. No checks: the front door validates first. A launch failure throws cuda_error
/// naming this launch, never an earlier failure of the thread.
void enqueue_gather(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, void* dst,
                    cudaStream_t stream, bool force_index64 = false);

}  // namespace stridecopy::detail
