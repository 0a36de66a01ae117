// host/cuda/ops.cuh — builds the kernel ops of a plan (launch preparation, host only): which family,
// with which unit and index width, over which output range, with which tile shape.
#pragma once

#include <cstdint>
#include <utility>

#include "core/plan_ops.hpp"
#include "ops/row_gather.cuh"
#include "ops/scatter.cuh"
#include "ops/transpose.cuh"
#include "ops/unit.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// An offset map over dims [first, last) of a normalised plan (extents and strides in units).
template <class Index>
kernels::offset_map<Index> make_offset_map(const std::int64_t* extents, const std::int64_t* strides, int first,
                                           int last) {
  kernels::offset_map<Index> m;
  const int n = last - first;
  m.dims = n;
  // Right-aligned: dimension last-1 sits in the last slot; unused slots keep extent 1, stride 0.
  for (int i = 0; i < n; ++i) {
    const std::size_t slot = std::size_t(kernels::max_walk_dims - n + i);
    m.extent[slot] = kernels::fast_divmod<Index>(Index(extents[first + i]));
    m.stride[slot] = Index(strides[first + i]);
  }
  return m;
}

/// Tile shape for an inner extent b: tb = min(b, 32) inner units by ta rows, ta a multiple of 32 with
/// ta * tb <= 1024; the pitch (in units) is padded so that in the write phase the ~32/tb rows a warp
/// reads for each b fall in different 4-byte banks.
struct tile_geometry {
  std::int64_t ta, tb, pitch;
};
inline tile_geometry tile_shape(std::int64_t b) {
  using policy = kernels::transpose_policy;
  const std::int64_t tb = b < policy::max_tile_b ? b : policy::max_tile_b;
  std::int64_t ta = policy::max_tile_units / tb / 32 * 32;
  if (ta < 32) ta = 32;
  const std::int64_t rows_per_warp = (32 + tb - 1) / tb;  // distinct rows a warp touches per b
  const std::int64_t pitch = ta + (rows_per_warp % 32 - ta % 32 + 32) % 32;
  return {ta, tb, pitch};
}

/// Output units [first, first + count) of p into dst, by the row family with inner step Step;
/// `src` is the view's first element.
template <int Unit, class Index, int Step>
kernels::row_gather_op<Unit, Index, Step> make_row_op(const plan& p, const std::byte* src, std::int64_t first,
                                                      std::int64_t count, void* dst) {
  using U = kernels::unit_t<Unit>;
  const std::int64_t row_units = p.walk.rank ? p.walk.extent[p.walk.rank - 1] : 1;
  return kernels::row_gather_op<Unit, Index, Step>{
      .src = reinterpret_cast<const U*>(src),
      .dst = static_cast<U*>(dst),
      .first = Index(first),
      .count = Index(count),
      .row = kernels::fast_divmod<Index>(Index(row_units)),
      .row_units = Index(row_units),
      .step = Index(p.walk.rank ? p.walk.stride[p.walk.rank - 1] : 1),
      .rows = make_offset_map<Index>(p.walk.extent.data(), p.walk.stride.data(), 0, p.walk.rank ? p.walk.rank - 1 : 0),
      .split = kernels::split_output<Unit, Index>(dst, Index(count)),
  };
}

/// Output rows [first_row, first_row + rows) of a transposed plan into dst.
template <int Unit, class Index>
kernels::transpose_op<Unit, Index> make_transpose_op(const plan& p, const std::byte* src, std::int64_t first_row,
                                                     std::int64_t rows, void* dst) {
  using U = kernels::unit_t<Unit>;
  using div_t = kernels::fast_divmod<Index>;
  const transpose_shape t = transpose_shape_of(p);
  const tile_geometry g = tile_shape(t.b);
  const std::int64_t row_tiles = (rows + g.ta - 1) / g.ta, b_tiles = (t.b + g.tb - 1) / g.tb;
  return kernels::transpose_op<Unit, Index>{
      .src = reinterpret_cast<const U*>(src),
      .dst = static_cast<U*>(dst),
      .first_row = Index(first_row),
      .rows = Index(rows),
      .a_div = div_t(Index(t.a)),
      .a_stride = Index(p.walk.stride[p.walk.unit_dim]),
      .planes = make_offset_map<Index>(p.walk.extent.data(), p.walk.stride.data(), 0, p.walk.unit_dim),
      .mids = make_offset_map<Index>(p.walk.extent.data(), p.walk.stride.data(), p.walk.unit_dim + 1, p.walk.rank - 1),
      .m_units = Index(t.m),
      .b_units = Index(t.b),
      .b_stride = Index(p.walk.inner_stride()),
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

/// Output units [first, first + count) of a plan whose destination is strided: `src` and `dst` are
/// the walks' first elements.
template <int Unit, class Index>
kernels::scatter_op<Unit, Index> make_scatter_op(const plan& p, const std::byte* src, std::int64_t first,
                                                 std::int64_t count, void* dst) {
  using U = kernels::unit_t<Unit>;
  const int outer = p.walk.rank ? p.walk.rank - 1 : 0;
  return kernels::scatter_op<Unit, Index>{
      .src = reinterpret_cast<const U*>(src),
      .dst = static_cast<U*>(dst),
      .first = Index(first),
      .count = Index(count),
      .row = kernels::fast_divmod<Index>(Index(p.walk.rank ? p.walk.extent[p.walk.rank - 1] : 1)),
      .src_step = Index(p.walk.rank ? p.walk.stride[p.walk.rank - 1] : 1),
      .dst_step = Index(p.walk.rank ? p.walk.dst_stride[p.walk.rank - 1] : 1),
      .src_rows = make_offset_map<Index>(p.walk.extent.data(), p.walk.stride.data(), 0, outer),
      .dst_rows = make_offset_map<Index>(p.walk.extent.data(), p.walk.dst_stride.data(), 0, outer),
  };
}

/// Calls f(op) with the op that writes output units [first, first + count) of p: the scatter family
/// for a strided destination; else the row family by inner step for every pattern but a transpose,
/// whose tiles need whole rows (a range that is not row-aligned falls back to the general family).
template <int Unit, class Index, class F>
void visit_op(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, void* dst, F&& f) {
  if (p.walk.scatter && p.walk.pattern != pattern::empty)
    return f(make_scatter_op<Unit, Index>(p, src, first, count, dst));
  switch (p.walk.pattern) {
    case pattern::empty: return;
    case pattern::contiguous:
    case pattern::long_runs:
    case pattern::rows: return f(make_row_op<Unit, Index, 1>(p, src, first, count, dst));
    case pattern::reversed_rows: return f(make_row_op<Unit, Index, -1>(p, src, first, count, dst));
    case pattern::transposed: {
      const std::int64_t row = transpose_shape_of(p).row_units();
      if (first % row == 0 && count % row == 0)
        return f(make_transpose_op<Unit, Index>(p, src, first / row, count / row, dst));
      return f(make_row_op<Unit, Index, 0>(p, src, first, count, dst));
    }
    case pattern::general: return f(make_row_op<Unit, Index, 0>(p, src, first, count, dst));
  }
}

/// visit_op with the plan's unit and index width (or 64-bit indexing when force64). The plan's
/// rank must be at most kernels::max_walk_dims: deeper plans go through visit_ops.
template <class F>
void visit_op(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, void* dst, bool force64,
              F&& f) {
  kernels::with_unit(p.walk.unit, [&](auto unit) {
    constexpr int U = decltype(unit)::value;
    if (p.walk.index64 || force64)
      visit_op<U, std::int64_t>(p, src, first, count, dst, f);
    else
      visit_op<U, std::int32_t>(p, src, first, count, dst, f);
  });
}

/// Calls f(op) for every op that writes output units [first, first + count) of p into dst (dst
/// receives unit `first`; for a strided destination, dst is its walk's first element): one op, or one
/// per piece of a plan deeper than an offset map walks (for_each_sub_plan), each with its own source
/// and destination pointers.
template <class F>
void visit_ops(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, void* dst, bool force64,
               F&& f) {
  for_each_sub_plan(p, kernels::max_walk_dims, first, count, [&](const sub_plan& s) {
    const std::int64_t to = p.walk.scatter ? s.dst_walk_offset : s.dst_offset;
    visit_op(s.p, src + s.src_offset * p.walk.unit, s.first, s.count, static_cast<std::byte*>(dst) + to * p.walk.unit,
             force64 || p.walk.index64, f);
  });
}

}  // namespace stridecopy::detail
