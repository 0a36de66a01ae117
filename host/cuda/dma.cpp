// host/cuda/dma.cpp — run_dma: contiguous runs to the copy engine, either way.
#include "cuda/dma.hpp"

#include <vector>

#include "cuda/check.hpp"
#include "cuda/dma_runs.hpp"
#include "cuda/runtime.hpp"

namespace stridecopy::detail {

void run_dma(const plan& p, const std::byte* src, std::byte* dst, cudaMemcpyKind kind, bool pinned_host,
             cudaStream_t stream) {
  if (p.pat == pattern::contiguous) {
    STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(dst, src, p.bytes, kind, stream));
    return;
  }
  if (dma_2d d; as_2d_copy(p, d)) {
    STRIDECOPY_CUDA_TRY(cudaMemcpy2DAsync(dst, d.width, src, d.src_pitch, d.width, d.height, kind, stream));
    return;
  }
  const std::vector<dma_run> runs = dma_runs(p);
  // cudaMemcpyBatchAsync takes no legacy default stream and cannot be captured, and its location
  // hints are not meant for pageable memory: copy run by run then.
  if (is_legacy_default(stream) || is_capturing(stream) || runs.size() == 1 || !pinned_host) {
    for (const dma_run& r : runs)
      STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(dst + r.dst_offset, src + r.src_offset, r.bytes, kind, stream));
    return;
  }
  std::vector<void*> dsts(runs.size());
  std::vector<const void*> srcs(runs.size());
  std::vector<std::size_t> sizes(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    dsts[i] = dst + runs[i].dst_offset;
    srcs[i] = src + runs[i].src_offset;
    sizes[i] = runs[i].bytes;
  }
  cudaMemcpyAttributes attr{};
  attr.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  std::size_t first = 0;
  STRIDECOPY_CUDA_TRY(cudaMemcpyBatchAsync(dsts.data(), srcs.data(), sizes.data(), runs.size(), &attr, &first, 1, stream));
}

}  // namespace stridecopy::detail
