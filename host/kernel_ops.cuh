// host/kernel_ops.cuh — builds the kernel ops of a plan (launch preparation, host only): which
// family, with which unit and index width, over which output range.
#pragma once

#include <cstdint>

#include "kernel_ops_shape.hpp"
#include "stridecopy/kernels/row_gather.cuh"
#include "stridecopy/kernels/transpose_copy.cuh"
#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Output units [first, first + count) of p into dst, by the row family with inner step Step.
template <int Unit, class Index, int Step>
kernels::row_gather_op<Unit, Index, Step> make_row_op(const plan& p, std::int64_t first, std::int64_t count, void* dst) {
  using U = kernels::unit_t<Unit>;
  const std::int64_t row_units = p.rank ? p.extent[p.rank - 1] : 1;
  return kernels::row_gather_op<Unit, Index, Step>{
      .src = reinterpret_cast<const U*>(p.src),
      .dst = static_cast<U*>(dst),
      .first = Index(first),
      .count = Index(count),
      .row = cub::detail::fast_div_mod<Index>(Index(row_units)),
      .row_units = Index(row_units),
      .step = Index(p.rank ? p.stride[p.rank - 1] : 1),
      .rows = kernels::make_offset_map<Index>(p.extent.data(), p.stride.data(), 0, p.rank ? p.rank - 1 : 0),
      .split = kernels::split_output<Unit, Index>(dst, Index(count)),
  };
}

/// Output rows [first_row, first_row + rows) of a transposed plan into dst.
template <int Unit, class Index>
kernels::transpose_op<Unit, Index> make_transpose_op(const plan& p, std::int64_t first_row, std::int64_t rows, void* dst) {
  using U = kernels::unit_t<Unit>;
  using div_t = cub::detail::fast_div_mod<Index>;
  const transpose_rows t = transpose_rows_of(p);
  const kernels::tile_geometry g = kernels::tile_shape(t.b);
  const std::int64_t row_tiles = (rows + g.ta - 1) / g.ta, b_tiles = (t.b + g.tb - 1) / g.tb;
  return kernels::transpose_op<Unit, Index>{
      .src = reinterpret_cast<const U*>(p.src),
      .dst = static_cast<U*>(dst),
      .first_row = Index(first_row),
      .rows = Index(rows),
      .a_div = div_t(Index(t.a)),
      .a_stride = Index(p.stride[p.unit_dim]),
      .planes = kernels::make_offset_map<Index>(p.extent.data(), p.stride.data(), 0, p.unit_dim),
      .mids = kernels::make_offset_map<Index>(p.extent.data(), p.stride.data(), p.unit_dim + 1, p.rank - 1),
      .m_units = Index(t.m),
      .b_units = Index(t.b),
      .b_stride = Index(p.inner_stride()),
      .ta = Index(g.ta),
      .tb = Index(g.tb),
      .pitch = Index(g.pitch),
      .ta_div = div_t(Index(g.ta)),
      .tb_div = div_t(Index(g.tb)),
      .row_tiles_div = div_t(Index(row_tiles > 0 ? row_tiles : 1)),
      .b_tiles_div = div_t(Index(b_tiles)),
      .row_tiles = Index(row_tiles),
      .b_tiles = Index(b_tiles),
  };
}

/// Calls f(op) with the op the executor runs for output units [first, first + count) of p:
/// the row family by inner step for every pattern but a transpose, whose tiles need whole rows
/// (a range that is not row-aligned falls back to the general family).
template <int Unit, class Index, class F>
void visit_op(const plan& p, std::int64_t first, std::int64_t count, void* dst, F&& f) {
  switch (p.pat) {
    case pattern::empty: return;
    case pattern::contiguous:
    case pattern::long_runs:
    case pattern::rows: return f(make_row_op<Unit, Index, 1>(p, first, count, dst));
    case pattern::reversed_rows: return f(make_row_op<Unit, Index, -1>(p, first, count, dst));
    case pattern::transposed: {
      const std::int64_t row = transpose_rows_of(p).row_units();
      if (first % row == 0 && count % row == 0)
        return f(make_transpose_op<Unit, Index>(p, first / row, count / row, dst));
      return f(make_row_op<Unit, Index, 0>(p, first, count, dst));
    }
    case pattern::general: return f(make_row_op<Unit, Index, 0>(p, first, count, dst));
  }
}

/// visit_op with the plan's unit and index width (or 64-bit indexing when force64).
template <class F>
void visit_op(const plan& p, std::int64_t first, std::int64_t count, void* dst, bool force64, F&& f) {
  auto with_index = [&](auto unit) {
    constexpr int U = decltype(unit)::value;
    if (p.index64 || force64)
      visit_op<U, std::int64_t>(p, first, count, dst, f);
    else
      visit_op<U, std::int32_t>(p, first, count, dst, f);
  };
  switch (p.unit) {
    case 1: return with_index(std::integral_constant<int, 1>{});
    case 2: return with_index(std::integral_constant<int, 2>{});
    case 4: return with_index(std::integral_constant<int, 4>{});
    case 8: return with_index(std::integral_constant<int, 8>{});
    default: return with_index(std::integral_constant<int, 16>{});
  }
}

}  // namespace stridecopy::detail
