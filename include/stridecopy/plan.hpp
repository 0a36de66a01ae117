// stridecopy/plan.hpp — make_plan: validate a view and normalise it into the walk every executor runs.
// Host-only and pure: no memory is touched. Every check of user input happens here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "stridecopy/view.hpp"

namespace stridecopy {

/// The memory pattern of the innermost (normalised) dimension; each executor specialises on it.
enum class pattern : std::uint8_t {
  empty,          ///< no elements
  contiguous,     ///< the whole view is one forward run of memory
  long_runs,      ///< inner stride +1, runs of at least plan_policy::long_run_bytes
  rows,           ///< inner stride +1, shorter runs
  reversed_rows,  ///< inner stride -1
  transposed,     ///< inner stride not ±1 while another dimension has stride ±1
  general,        ///< anything else (inner stride ±k with no unit-stride dim, zero strides)
};
const char* to_string(pattern p);

/// Tuning of make_plan, in one place.
struct plan_policy {
  /// A run this long (bytes) is worth a copy-engine transfer of its own.
  static constexpr std::size_t long_run_bytes = 64 * 1024;
  /// Largest element access an executor makes; wider types are split into units.
  static constexpr int max_unit = 16;
};

/// One extra dimension beyond max_rank: an element wider than its alignment is split into units.
inline constexpr int max_plan_rank = max_rank + 1;

struct plan {
  // ---- what was asked
  dtype type{};
  memory_space space = memory_space::host;
  std::int64_t elements = 0;  ///< elements of the view (and of the output)
  std::size_t bytes = 0;      ///< bytes of the output: elements * itemsize

  // ---- the normalised walk. The output is the C-order walk of these dimensions (outermost first);
  // extent-1 dims are dropped and neighbours that walk memory evenly are merged, so that order is
  // the view's own. Strides are in units of `unit` bytes, a power of two <= 16 that divides the
  // itemsize and the source address.
  const std::byte* src = nullptr;  ///< address of the first output element
  int unit = 1;
  int rank = 0;  ///< 0 for a single element; extents are all >= 2 otherwise
  std::array<std::int64_t, max_plan_rank> extent{};
  std::array<std::int64_t, max_plan_rank> stride{};

  // ---- what it touches: bytes [src + span_begin, src + span_end) (empty for an empty view)
  std::int64_t span_begin = 0;
  std::int64_t span_end = 0;

  // ---- classification
  pattern pat = pattern::empty;
  int unit_dim = -1;     ///< transposed: the (outermost-first) dim whose stride is ±1
  bool index64 = false;  ///< unit counts or offsets exceed 2^30: kernels index with 64 bits

  [[nodiscard]] std::int64_t units() const { return elements * (type.itemsize / unit); }
  [[nodiscard]] std::int64_t inner_extent() const { return rank ? extent[rank - 1] : 1; }
  [[nodiscard]] std::int64_t inner_stride() const { return rank ? stride[rank - 1] : 1; }
};

/// Validates `v` and normalises it. Throws invalid_view naming the problem: rank above 8, a
/// negative extent, an element count or byte span that overflows, a null pointer with elements to
/// read, an invalid dtype, or a span that leaves `v.allocation`.
plan make_plan(const view& v);
/// make_plan with units of at most `max_unit` bytes (a power of two): for a destination aligned to
/// less than 16 bytes, since kernels store whole units.
plan make_plan(const view& v, int max_unit);

/// Throws invalid_view unless `dst_bytes` holds the output and [dst, dst + bytes) does not overlap
/// what the plan reads (`what` names the destination in the message).
void check_destination(const plan& p, const void* dst, std::size_t dst_bytes, const char* what = "destination");

/// The output split for parallel or pipelined work, in units (plan::unit bytes each): chunk i covers
/// units [i * chunk_units, min((i + 1) * chunk_units, units())). Chunks hold whole inner rows when a
/// row fits the requested size, and are otherwise a multiple of 16 bytes of output.
struct chunking {
  std::int64_t chunk_units = 0;
  std::int64_t count = 0;
};
chunking split(const plan& p, std::size_t max_chunk_bytes);

}  // namespace stridecopy
