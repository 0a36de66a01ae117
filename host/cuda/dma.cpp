// host/cuda/dma.cpp — run_dma: contiguous runs to the copy engine, either way.
#include "cuda/dma.hpp"

#include <vector>

#include "core/dma_runs.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace stridecopy::detail {

void run_dma_copies(const std::vector<dma_copy>& copies, cudaMemcpyKind kind, bool batchable, cudaStream_t stream) {
  // cudaMemcpyBatchAsync takes no legacy default stream and cannot be captured, and its location
  // hints are not meant for pageable memory: copy run by run then.
  if (copies.size() == 1 || !batchable || is_legacy_default(stream) || is_capturing(stream)) {
    for (const dma_copy& c : copies) STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(c.dst, c.src, c.bytes, kind, stream));
    return;
  }
  if (copies.empty()) return;
  std::vector<void*> dsts(copies.size());
  std::vector<const void*> srcs(copies.size());
  std::vector<std::size_t> sizes(copies.size());
  for (std::size_t i = 0; i < copies.size(); ++i) {
    dsts[i] = copies[i].dst;
    srcs[i] = copies[i].src;
    sizes[i] = copies[i].bytes;
  }
  cudaMemcpyAttributes attr{};
  attr.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  std::size_t first = 0;
  STRIDECOPY_CUDA_TRY(
      cudaMemcpyBatchAsync(dsts.data(), srcs.data(), sizes.data(), copies.size(), &attr, &first, 1, stream));
}

void add_dma_copies(const plan& p, const std::byte* src, std::byte* dst, std::vector<dma_copy>& out) {
  if (p.walk.pattern == pattern::contiguous && !p.walk.scatter) {
    out.push_back({dst, src, p.bytes});
    return;
  }
  for_each_run(p, [&](const dma_run& r) { out.push_back({dst + r.dst_offset, src + r.src_offset, r.bytes}); });
}

void run_dma(const plan& p, const std::byte* src, std::byte* dst, cudaMemcpyKind kind, bool pinned_host,
             cudaStream_t stream) {
  if (p.walk.pattern == pattern::contiguous && !p.walk.scatter) {
    STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(dst, src, p.bytes, kind, stream));
    return;
  }
  if (dma_2d d; as_2d_copy(p, d)) {
    STRIDECOPY_CUDA_TRY(cudaMemcpy2DAsync(dst, d.dst_pitch, src, d.src_pitch, d.width, d.height, kind, stream));
    return;
  }
  std::vector<dma_copy> copies;
  add_dma_copies(p, src, dst, copies);
  run_dma_copies(copies, kind, pinned_host, stream);
}

}  // namespace stridecopy::detail
