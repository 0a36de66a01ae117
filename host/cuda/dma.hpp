// host/cuda/dma.hpp — the dma strategy, both ways (internal): a view's contiguous runs handed to the
// copy engine as they are, no kernel, no scratch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// The runs of p (inner stride +1) from `src` (the first element) to `dst`, in direction `kind`
/// (cudaMemcpyDeviceToHost or cudaMemcpyHostToDevice): one copy, one 2D copy, one batched copy
/// (pinned host memory, on a stream that takes it), or one copy per run.
void run_dma(const plan& p, const std::byte* src, std::byte* dst, cudaMemcpyKind kind, bool pinned_host,
             cudaStream_t stream);

}  // namespace stridecopy::detail
