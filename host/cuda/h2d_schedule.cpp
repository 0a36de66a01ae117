// host/cuda/h2d_schedule.cpp — the source span of an output range, and the device-gather schedule.
#include "cuda/h2d_schedule.hpp"

#include <algorithm>

#include "core/plan_ops.hpp"

namespace stridecopy::detail {

namespace {

/// Lowest and highest offset over linear indices [lo, hi) of the C-order walk of dims [d, n).
struct reach {
  std::int64_t min = 0, max = 0;
};

reach full(const plan& p, int d, int n) {
  reach r;
  for (int k = d; k < n; ++k) {
    const std::int64_t far = (p.walk.extent[k] - 1) * p.walk.stride[k];
    (far < 0 ? r.min : r.max) += far;
  }
  return r;
}

/// [lo, hi) is non-empty. Peels dim d: a partial first index (a suffix of it), whole indices in
/// between (their offsets are linear in the index: the extremes are at the ends), a partial last one
/// (a prefix): each partial recursion is a suffix or a prefix again, so the work is O(n^2).
reach range(const plan& p, int d, int n, std::int64_t lo, std::int64_t hi) {
  if (d == n) return {};
  std::int64_t inner = 1;
  for (int k = d + 1; k < n; ++k) inner *= p.walk.extent[k];
  if (lo == 0 && hi == inner * p.walk.extent[d]) return full(p, d, n);
  const std::int64_t i0 = lo / inner, i1 = (hi - 1) / inner, s = p.walk.stride[d];
  const auto shift = [&](reach r, std::int64_t i) { return reach{r.min + i * s, r.max + i * s}; };
  if (i0 == i1) return shift(range(p, d + 1, n, lo - i0 * inner, hi - i0 * inner), i0);
  reach r = shift(range(p, d + 1, n, lo - i0 * inner, inner), i0);
  const auto join = [&](reach x) {
    r.min = std::min(r.min, x.min);
    r.max = std::max(r.max, x.max);
  };
  if (i1 - i0 > 1) {
    const reach whole = full(p, d + 1, n);
    join(shift(whole, i0 + 1));
    join(shift(whole, i1 - 1));
  }
  join(shift(range(p, d + 1, n, 0, hi - i1 * inner), i1));
  return r;
}

}  // namespace

byte_span output_range_span(const plan& p, std::int64_t first, std::int64_t count) {
  if (count <= 0 || p.walk.pattern == pattern::empty) return {};
  if (p.walk.rank == 0) return {0, p.walk.unit};
  const std::int64_t row = p.walk.inner_extent();
  const std::int64_t r0 = first / row, r1 = (first + count - 1) / row + 1;
  const reach rows = range(p, 0, p.walk.rank - 1, r0, r1);
  const std::int64_t far = (row - 1) * p.walk.inner_stride();
  return {(rows.min + std::min<std::int64_t>(0, far)) * p.walk.unit,
          (rows.max + std::max<std::int64_t>(0, far) + 1) * p.walk.unit};
}

h2d_schedule device_gather_schedule(const plan& p, std::size_t chunk_bytes, std::size_t max_slot_bytes,
                                    double max_traffic) {
  h2d_schedule s;
  const chunking c = chunk_output(p, chunk_bytes);
  std::int64_t largest = 0;
  for (std::int64_t k = 0; k < c.count; ++k) {
    h2d_chunk chunk;
    chunk.first = k * c.chunk_units;
    chunk.count = std::min(c.chunk_units, p.units() - chunk.first);
    chunk.span = output_range_span(p, chunk.first, chunk.count);
    largest = std::max(largest, chunk.span.bytes());
    s.sent_bytes += chunk.span.bytes();
    if (std::size_t(largest) > max_slot_bytes || double(s.sent_bytes) > max_traffic * double(p.bytes)) return {};
    s.chunks.push_back(chunk);
  }
  s.slot_bytes = std::size_t(largest + 15) / 16 * 16;
  return s;
}

}  // namespace stridecopy::detail
