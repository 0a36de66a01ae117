// kernels/ops/scatter.cuh — the family of plans whose destination is strided (plans of
// two layouts): each output unit read at its place in the source walk and written at its place in
// the destination walk. Consecutive threads take consecutive output units, which the walk orders as
// the destination's memory, so writes along a contiguous destination row are coalesced.
#pragma once

#include "ops/config.cuh"
#include "ops/divmod.cuh"
#include "ops/offset_map.cuh"
#include "ops/policy.cuh"
#include "ops/unit.hpp"

namespace stridecopy::kernels {

/// The tuning of the scatter family.
struct scatter_policy {
  static constexpr int threads = 256;
  /// Units each thread loads before it stores any: loads in flight hide latency.
  static constexpr int units_per_thread = 8;
};

/// Output units [first, first + count) of a plan of two layouts: unit o is read from
/// src + src_rows(row) + col * src_step and written to dst + dst_rows(row) + col * dst_step, where
/// (row, col) = divmod(o, row_units); src and dst are the walks' first units.
template <int Unit, class Index, class Policy = scatter_policy>
struct scatter_op {
  using index_type = Index;
  using U = unit_t<Unit>;
  static constexpr int threads = Policy::threads;
  static constexpr int per_thread = Policy::units_per_thread;
  static constexpr int phases = 1;
  static constexpr int shared_bytes = 0;

  const U* src;
  U* dst;
  Index first;
  Index count;
  fast_divmod<Index> row;  ///< divides by the units per row (the inner extent)
  Index src_step, dst_step;
  offset_map<Index> src_rows, dst_rows;  ///< row index -> offset of the row's first unit

  [[nodiscard]] STRIDECOPY_HD Index blocks() const {
    const Index per_block = Index(threads) * per_thread;
    return (count + per_block - 1) / per_block;
  }

  // Instantiated with the CPU replay's host-only accessor too.
#pragma nv_exec_check_disable
  template <class Mem>
  STRIDECOPY_HD void operator()(const Mem& mem, Index block, int thread, int /*phase*/) const {
    const Index base = block * (Index(threads) * per_thread);
    U buf[per_thread] = {};
    Index to[per_thread] = {};
    STRIDECOPY_UNROLL
    for (int j = 0; j < per_thread; ++j) {
      const Index o = base + Index(j) * threads + thread;
      if (o < count) {
        const auto qr = row(first + o);
        buf[j] = mem.load(src + src_rows.offset(qr.quotient) + qr.remainder * src_step);
        to[j] = dst_rows.offset(qr.quotient) + qr.remainder * dst_step;
      }
    }
    STRIDECOPY_UNROLL
    for (int j = 0; j < per_thread; ++j) {
      const Index o = base + Index(j) * threads + thread;
      if (o < count) mem.store(dst + to[j], buf[j]);
    }
  }
};

}  // namespace stridecopy::kernels
