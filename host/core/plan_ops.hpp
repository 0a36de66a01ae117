// host/core/plan_ops.hpp — what executors derive from a plan (internal, pure): a narrower unit for a
// less aligned pointer, the geometry of a transpose, and the output split into chunks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// The largest power of two <= 16 that divides the address.
int alignment_of(const void* p);

/// p with units of `unit` bytes, a power of two dividing p.unit (itself when equal): for a copy
/// whose pointers are less aligned than the plan assumed. Cheap: no re-planning, no allocation.
plan narrow_unit(const plan& p, int unit);

/// A transposed plan as the tile loops see it: `planes` x A rows of M x B units, where A is the
/// unit-stride dim (plan::unit_dim), B the inner one and M the product of the dims between them.
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

}  // namespace stridecopy::detail
