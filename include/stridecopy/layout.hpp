// stridecopy/layout.hpp — shape and signed strides (in elements) of an n-d view.
// Pure value algebra: nothing here touches memory.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace stridecopy {

/// Most dimensions a view, a layout or a .npy file may have: NumPy's own limit.
inline constexpr int max_rank = 64;

struct layout {
  int rank = 0;
  /// Extents, outermost first; only the first `rank` entries are meaningful.
  std::array<std::int64_t, max_rank> extent{};
  /// Signed strides in elements (not bytes); zero repeats an element, negative walks backwards.
  std::array<std::int64_t, max_rank> stride{};

  [[nodiscard]] std::span<const std::int64_t> extents() const { return {extent.data(), std::size_t(rank)}; }
  [[nodiscard]] std::span<const std::int64_t> strides() const { return {stride.data(), std::size_t(rank)}; }

  friend bool operator==(const layout& a, const layout& b) {
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; ++i)
      if (a.extent[i] != b.extent[i] || a.stride[i] != b.stride[i]) return false;
    return true;
  }
};

/// Row-major (C order) layout of `shape`. Throws invalid_view for too many dims or a negative extent.
layout c_contiguous(std::span<const std::int64_t> shape);
layout c_contiguous(std::initializer_list<std::int64_t> shape);
/// Column-major (Fortran order) layout of `shape`.
layout f_contiguous(std::span<const std::int64_t> shape);
/// Layout with explicit strides (elements). Throws invalid_view when the ranks differ.
layout make_layout(std::span<const std::int64_t> shape, std::span<const std::int64_t> stride);

/// Number of elements. Throws invalid_view if the product overflows int64.
std::int64_t element_count(const layout& l);
/// True when every element is at its C-order position (extent-1 and empty dims ignored as NumPy does).
bool is_c_contiguous(const layout& l);

/// "(4, 3, 966, 1296)" — NumPy's repr of a shape tuple; used in messages and .npy headers.
std::string shape_string(std::span<const std::int64_t> shape);

}  // namespace stridecopy
