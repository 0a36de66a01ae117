// host/kernel_ops_shape.hpp — the geometry of a transposed plan as the tile kernel sees it (internal,
// plain C++): planes x A rows of M x B units, where A is the unit-stride dim and B the inner one.
#pragma once

#include <cstdint>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

struct transpose_rows {
  std::int64_t a, m, b, rows;
  [[nodiscard]] std::int64_t row_units() const { return m * b; }
};

inline transpose_rows transpose_rows_of(const plan& p) {
  transpose_rows t{p.extent[p.unit_dim], 1, p.inner_extent(), 1};
  for (int d = 0; d <= p.unit_dim; ++d) t.rows *= p.extent[d];
  for (int d = p.unit_dim + 1; d < p.rank - 1; ++d) t.m *= p.extent[d];
  return t;
}

/// Units of one output row of a transposed plan: chunks of whole rows keep the tile kernel usable.
inline std::int64_t transpose_row_units(const plan& p) { return transpose_rows_of(p).row_units(); }

}  // namespace stridecopy::detail
