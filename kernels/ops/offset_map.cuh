// kernels/ops/offset_map.cuh — the source offset of a linear index over up to
// max_walk_dims dimensions: offset(i) = sum_d index_d(i) * stride[d], the coordinates split off by
// fast division by the extents.
#pragma once

#include <cuda/std/array>

#include "ops/config.cuh"
#include "ops/divmod.cuh"

namespace stridecopy::kernels {

/// Right-aligned: the innermost walked dimension sits in the last slot. Unused leading slots keep
/// extent 1, so the loop unrolls fully with static indices (no local memory) and skips them by the
/// runtime `dims`.
template <class Index>
struct offset_map {
  int dims = 0;
  ::cuda::std::array<fast_divmod<Index>, max_walk_dims> extent{};
  ::cuda::std::array<Index, max_walk_dims> stride{};

  [[nodiscard]] STRIDECOPY_HD Index offset(Index linear) const {
    Index off = 0;
    STRIDECOPY_UNROLL
    for (int d = max_walk_dims - 1; d >= 0; --d) {
      if (max_walk_dims - 1 - d < dims) {
        const auto qr = extent[d](linear);
        off += qr.remainder * stride[d];
        linear = qr.quotient;
      }
    }
    return off;
  }
};

}  // namespace stridecopy::kernels
