// host/core/plan_ops.hpp — what executors derive from a plan (internal, pure): a narrower unit for a
// less aligned pointer, the geometry of a transpose, and the output split into chunks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// The largest power of two <= 16 that divides the address.
int alignment_of(const void* p);

/// p with units of `unit` bytes, a power of two dividing p.walk.unit (itself when equal): for a copy
/// whose pointers are less aligned than the plan assumed. Cheap: no re-planning, no allocation.
plan narrow_unit(const plan& p, int unit);

/// A transposed plan as the tile loops see it: `planes` x A rows of M x B units, where A is the
/// unit-stride dim (walk::unit_dim), B the inner one and M the product of the dims between them.
struct transpose_shape {
  std::int64_t planes = 1, a = 1, m = 1, b = 1;
  [[nodiscard]] std::int64_t rows() const { return planes * a; }
  [[nodiscard]] std::int64_t row_units() const { return m * b; }
};
transpose_shape transpose_shape_of(const plan& p);

/// The output split for parallel or pipelined work, in units: chunk i covers units
/// [i * chunk_units, min((i + 1) * chunk_units, units())). Chunks hold whole output rows of a
/// transposed plan, else whole inner rows, when one fits the requested size, and are otherwise a
/// multiple of 16 bytes of output.
struct chunking {
  std::int64_t chunk_units = 0;
  std::int64_t count = 0;
};
chunking chunk_output(const plan& p, std::size_t max_chunk_bytes);

/// One piece of a plan deeper than an executor walks at once: the plan of its inner dims, where its
/// first element lies (units from the whole plan's first element), and which of its output units
/// land where.
struct sub_plan {
  plan p;                     ///< the inner dims [rank - max_dims, rank), re-classified
  std::int64_t src_offset;    ///< units from the whole plan's first element to this piece's
  std::int64_t first, count;  ///< output units of the piece, in its own numbering
  std::int64_t dst_offset;    ///< units from the caller's destination to where unit `first` lands
  /// A scatter plan's piece: units from the whole destination walk's first element to this piece's.
  std::int64_t dst_walk_offset;
};
/// Calls f(sub_plan) for output units [first, first + count) of p, in output order: once with p
/// itself when p.walk.rank <= max_dims, else once per index of the outer dims the range touches, each
/// piece a plan of max_dims dims. The kernels walk at most kernels::max_walk_dims dims at once.
template <class F>
void for_each_sub_plan(const plan& p, int max_dims, std::int64_t first, std::int64_t count, F&& f);

/// Pattern, transpose dim and index width of a normalised walk (make_plan's last step).
void classify(plan& p);
/// The destination walk of a C-order output from the plan's first element: dst strides of the
/// extents, scatter false, span [0, bytes).
void fill_c_order_destination(plan& p);

/// p as a gather into a contiguous destination: its source walk, a C-order output (the first half
/// of a copy staged through a contiguous chunk).
plan into_contiguous(const plan& p);
/// p reading a source that is contiguous in output order (output unit o at unit o of a chunk
/// gathered elsewhere): its destination walk, the source's C-order strides (the second half).
plan from_contiguous(const plan& p);

template <class F>
void for_each_sub_plan(const plan& p, int max_dims, std::int64_t first, std::int64_t count, F&& f) {
  if (count <= 0) return;
  if (p.walk.rank <= max_dims) return f(sub_plan{p, 0, first, count, 0, 0});
  const int outer = p.walk.rank - max_dims;
  sub_plan s{p, 0, 0, 0, 0, 0};
  plan& q = s.p;
  q.walk.rank = max_dims;
  std::int64_t inner_units = 1, lo = 0, hi = 0, dst_hi = 0;
  for (int d = 0; d < max_dims; ++d) {
    q.walk.extent[d] = p.walk.extent[outer + d];
    q.walk.stride[d] = p.walk.stride[outer + d];
    q.walk.dst_stride[d] = p.walk.dst_stride[outer + d];
    inner_units *= q.walk.extent[d];
    const std::int64_t reach = (q.walk.extent[d] - 1) * q.walk.stride[d];  // within the whole plan's span: fits
    (reach < 0 ? lo : hi) += reach;
    dst_hi += (q.walk.extent[d] - 1) * q.walk.dst_stride[d];
  }
  q.elements = inner_units / (p.type.itemsize / p.walk.unit);
  q.bytes = std::size_t(q.elements) * std::size_t(p.type.itemsize);
  q.walk.span_begin = lo * p.walk.unit;
  q.walk.span_end = (hi + 1) * p.walk.unit;
  if (p.walk.scatter) {
    q.walk.dst_span_begin = 0;
    q.walk.dst_span_end = (dst_hi + 1) * p.walk.unit;
  } else {
    fill_c_order_destination(q);
  }
  classify(q);
  // Outer index o covers output units [o * inner_units, (o + 1) * inner_units).
  std::int64_t o = first / inner_units;
  const std::int64_t last = (first + count - 1) / inner_units;
  std::int64_t idx[max_plan_rank] = {};
  std::int64_t offset = 0, dst_walk = 0;
  {  // the outer coordinates of o, and their offsets
    std::int64_t rem = o;
    for (int d = outer - 1; d >= 0; --d) {
      idx[d] = rem % p.walk.extent[d];
      rem /= p.walk.extent[d];
      offset += idx[d] * p.walk.stride[d];
      dst_walk += idx[d] * p.walk.dst_stride[d];
    }
  }
  for (; o <= last; ++o) {
    const std::int64_t begin = std::max(first, o * inner_units), end = std::min(first + count, (o + 1) * inner_units);
    s.src_offset = offset;
    s.first = begin - o * inner_units;
    s.count = end - begin;
    s.dst_offset = begin - first;
    s.dst_walk_offset = dst_walk;
    f(s);
    for (int d = outer - 1; d >= 0; --d) {  // next outer index
      offset += p.walk.stride[d];
      dst_walk += p.walk.dst_stride[d];
      if (++idx[d] < p.walk.extent[d]) break;
      offset -= idx[d] * p.walk.stride[d];
      dst_walk -= idx[d] * p.walk.dst_stride[d];
      idx[d] = 0;
    }
  }
}

}  // namespace stridecopy::detail
