// host/cuda/dma.hpp — the dma strategy, both ways (internal): a view's contiguous runs handed to the
// copy engine as they are, no kernel, no scratch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <vector>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// The runs of p (inner stride +1) from `src` (the first element) to `dst`, in direction `kind`
/// (cudaMemcpyDeviceToHost or cudaMemcpyHostToDevice): one copy, one 2D copy, one batched copy
/// (pinned host memory, on a stream that takes it), or one copy per run.
void run_dma(const plan& p, const std::byte* src, std::byte* dst, cudaMemcpyKind kind, bool pinned_host,
             cudaStream_t stream);

/// One contiguous copy for the copy engine.
struct dma_copy {
  void* dst;
  const void* src;
  std::size_t bytes;
};
/// Appends the runs of p (as run_dma moves them) to `out`.
void add_dma_copies(const plan& p, const std::byte* src, std::byte* dst, std::vector<dma_copy>& out);
/// Enqueues `copies` in direction `kind`: one cudaMemcpyBatchAsync where `batchable` (no pageable
/// memory involved) and the stream takes it, else one copy each.
void run_dma_copies(const std::vector<dma_copy>& copies, cudaMemcpyKind kind, bool batchable, cudaStream_t stream);

}  // namespace stridecopy::detail
