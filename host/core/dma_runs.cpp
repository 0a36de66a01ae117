// host/core/dma_runs.cpp — the contiguous runs of a plan and its 2D-copy form.
#include "core/dma_runs.hpp"

#include <limits>

namespace stridecopy::detail {

void for_each_run(const plan& p, const std::function<void(const dma_run&)>& fn) {
  if (p.walk.pattern == pattern::empty) return;
  if (p.walk.rank == 0) return fn({0, 0, p.bytes});
  const std::int64_t n = p.units() / p.walk.inner_extent(), row_bytes = p.walk.inner_extent() * p.walk.unit;
  std::int64_t idx[max_plan_rank] = {};
  std::int64_t off = 0, to = 0;  // the row's offsets in the source walk and the destination's
  for (std::int64_t r = 0; r < n; ++r) {
    fn({off * p.walk.unit, p.walk.scatter ? to * p.walk.unit : r * row_bytes, std::size_t(row_bytes)});
    for (int d = p.walk.rank - 2; d >= 0; --d) {  // odometer over the outer dims
      off += p.walk.stride[d];
      to += p.walk.dst_stride[d];
      if (++idx[d] < p.walk.extent[d]) break;
      off -= idx[d] * p.walk.stride[d];
      to -= idx[d] * p.walk.dst_stride[d];
      idx[d] = 0;
    }
  }
}

std::vector<dma_run> dma_runs(const plan& p) {
  std::vector<dma_run> runs;
  if (p.walk.pattern != pattern::empty && p.walk.rank > 0) runs.reserve(std::size_t(p.units() / p.walk.inner_extent()));
  for_each_run(p, [&](const dma_run& r) { runs.push_back(r); });
  return runs;
}

bool as_2d_copy(const plan& p, dma_2d& out) {
  if (p.walk.rank != 2 || p.walk.inner_stride() != 1 || (p.walk.scatter && p.walk.dst_stride[1] != 1)) return false;
  const std::int64_t width = p.walk.inner_extent() * p.walk.unit, pitch = p.walk.stride[0] * p.walk.unit;
  const std::int64_t dst_pitch = p.walk.scatter ? p.walk.dst_stride[0] * p.walk.unit : width;
  // Negative or overlapping rows are not a 2D copy; nor are pitches beyond cudaMemcpy2D's limit.
  if (pitch < width || pitch > std::numeric_limits<int>::max() || dst_pitch > std::numeric_limits<int>::max())
    return false;
  out = {std::size_t(pitch), std::size_t(width), std::size_t(p.walk.extent[0]), std::size_t(dst_pitch)};
  return true;
}

}  // namespace stridecopy::detail
