// stridecopy/plan.hpp — make_plan: validate a view and normalise it into the walk every executor
// runs. A plan is a value with no pointer inside: made once, it copies any allocation of the same
// shape, strides and dtype, as often as the caller likes, from any thread (copy.hpp: copy_async).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "stridecopy/view.hpp"

namespace stridecopy {

/// The memory pattern of the innermost (normalised) dimension; each executor specialises on it.
enum class pattern : std::uint8_t {
  empty,          ///< no elements
  contiguous,     ///< the whole view is one forward run of memory
  long_runs,      ///< inner stride +1, runs of at least plan_policy::long_run_bytes
  rows,           ///< inner stride +1, shorter runs
  reversed_rows,  ///< inner stride -1
  transposed,     ///< inner stride not +-1 while another dimension has stride +-1
  general,        ///< anything else (inner stride +-k with no unit-stride dim, zero strides)
};
const char* to_string(pattern p);

/// Tuning of make_plan, in one place.
struct plan_policy {
  /// A run this long (bytes) is worth a copy-engine transfer of its own.
  static constexpr std::size_t long_run_bytes = 64 * 1024;
  /// Largest access an executor makes; wider elements are split into units.
  static constexpr int max_unit = 16;
};

/// One dimension beyond max_rank: an element wider than its unit is split into units.
inline constexpr int max_plan_rank = max_rank + 1;

namespace detail {

/// The normalised walk of a plan: what the executors run. Internal: its fields follow the executors
/// and change without notice; a plan's public accessors say what a caller needs.
///
/// The output is the C-order walk of these dimensions (outermost first); extent-1 dims are dropped
/// and neighbours that walk memory evenly are merged, so that order is the view's own. Strides are in
/// units of `unit` bytes, a power of two <= 16 that divides the itemsize and the first element's
/// address (as the view gave it; a copy on a less aligned pointer narrows the unit itself).
struct walk {
  int unit = 1;
  int rank = 0;  ///< 0 for a single element; extents are all >= 2 otherwise
  std::array<std::int64_t, max_plan_rank> extent{};
  std::array<std::int64_t, max_plan_rank> stride{};

  // ---- what it touches: bytes [first + span_begin, first + span_end) around the first element
  std::int64_t span_begin = 0;
  std::int64_t span_end = 0;

  // ---- where the output goes. The destination's first element (the one output unit 0 lands on) is
  // `dst_origin` bytes from the pointer a copy is given. When `scatter` is false the output is
  // contiguous from there (a C-order destination, or one whose memory order the walk follows);
  // when true, output unit o lands dst_stride-walk units from it (the same extents as the source's
  // walk), within bytes [dst_span_begin, dst_span_end) around it.
  bool scatter = false;
  std::int64_t dst_origin = 0;
  std::array<std::int64_t, max_plan_rank> dst_stride{};
  std::int64_t dst_span_begin = 0;
  std::int64_t dst_span_end = 0;

  // ---- classification
  stridecopy::pattern pattern = stridecopy::pattern::empty;
  int unit_dim = -1;     ///< transposed: the (outermost-first) dim whose stride is +-1
  bool index64 = false;  ///< unit counts or offsets exceed 2^30: kernels index with 64 bits

  [[nodiscard]] std::int64_t inner_extent() const { return rank ? extent[rank - 1] : 1; }
  [[nodiscard]] std::int64_t inner_stride() const { return rank ? stride[rank - 1] : 1; }
};

}  // namespace detail

/// A validated, normalised copy: what make_plan returns and copy_async runs.
struct plan {
  // ---- what is copied, from where to where
  dtype type{};
  memory_kind source = memory_kind::pageable;       ///< the view's memory
  memory_kind destination = memory_kind::pageable;  ///< host (pageable or pinned: measured per call) or device
  std::int64_t elements = 0;                        ///< elements of the view (and of the output)
  std::size_t bytes = 0;                            ///< bytes of the output: elements * itemsize

  // ---- where the view starts: element (0, ..., 0) is `origin` bytes from the pointer a copy is
  // given (the base of the view's allocation, or its data pointer when it records none).
  std::int64_t origin = 0;
  /// The allocation's size when the view recorded one: the walk stays inside [0, *allocation_bytes).
  std::optional<std::size_t> allocation_bytes{};
  /// The destination allocation's size when its view recorded one.
  std::optional<std::size_t> dst_allocation_bytes{};

  /// The executors' walk (internal: read the accessors below).
  detail::walk walk{};

  /// The memory pattern the executors specialise on.
  [[nodiscard]] stridecopy::pattern pattern() const noexcept { return walk.pattern; }
  /// Dimensions of the walk after extent-1 dims were dropped and neighbours merged (0 for a single
  /// element): 1 for any contiguous view, however many dims it has.
  [[nodiscard]] int rank() const noexcept { return walk.rank; }
  /// True when the destination is strided (a plan of two layouts that do not walk alike).
  [[nodiscard]] bool scatters() const noexcept { return walk.scatter; }
  /// Units (the walk's access size) of the output.
  [[nodiscard]] std::int64_t units() const { return elements * (type.itemsize / walk.unit); }
};

/// Validates `v` and normalises it into a plan for copies into a C-order destination of `destination`
/// memory. Throws invalid_view naming the problem: too many dims, a negative extent, an element count
/// or byte span that overflows, an invalid dtype, or a span that leaves `v.allocation`. The view's
/// data pointer is only used for its offset from the allocation's base and its alignment: a
/// layout-only view (contiguous_view(nullptr, ...), then sliced) plans as well as one over real memory.
plan make_plan(const view& v, memory_kind destination = memory_kind::pageable);

/// A plan of two layouts: `src` copied into `dst` as np.copyto(dst, src, casting="no") does — src
/// broadcast to dst's shape, equal dtypes — walking both in the order of dst's memory (dims sorted
/// by dst's strides, reversed dims turned forward, dims merged where they merge in both). Throws
/// invalid_view for shapes that do not broadcast, different dtypes, a destination that writes an
/// element more than once (a zero stride, or strides that make elements alias; where that cannot be
/// decided within bounded work it is refused too), or either span leaving its allocation. Pointers
/// are used as make_plan uses them; a copy runs on the bases of any allocations of these layouts.
plan make_plan(const view& src, const mutable_view& dst);

}  // namespace stridecopy
