// tests/view_classes.hpp — the view classes the transfer tests run through every strategy: the NCHW
// view family at a chosen size, and one element of each class (still strided, never out of bounds).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "stridecopy/index.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy::test {

struct view_class {
  const char* name;
  const char* index;  ///< applied to the NCHW base; "T" is transpose(0, 2, 3, 1)
};
inline constexpr view_class view_classes[] = {
    {"contiguous", ""},      {"channel_reverse", "[:, ::-1, :, :]"}, {"row_reverse", "[..., ::-1]"},
    {"step2", "[..., ::2]"}, {"crop", "[:, :, 1:-1, 2:-2]"},         {"transpose", "T"},
};

inline view apply(const view& base, const view_class& c) {
  if (std::string(c.index) == "T") return permute(base, {0, 2, 3, 1});
  return slice(base, c.index);
}

/// An NCHW shape (N = 4, C = 3) of about `bytes` of float32, H x W near 3:4; exactly 0 bytes for 0.
inline std::vector<std::int64_t> nchw_shape_for(std::size_t bytes) {
  if (bytes == 0) return {4, 3, 0, 8};
  const double pixels = double(bytes) / 4.0 / 12.0;
  const std::int64_t w = std::max<std::int64_t>(8, std::int64_t(std::sqrt(pixels * 1.34)));
  return {4, 3, std::max<std::int64_t>(4, std::int64_t(pixels / double(w))), w};
}

/// One element of v, away from its first: v[e0, e1, ...] with e_i = extent_i / 2, as a 0-d view.
inline view one_element(const view& v) {
  std::string index = "[";
  for (std::int64_t e : v.shape()) index += std::to_string(e / 2) + ", ";
  if (index.size() > 1) index.resize(index.size() - 2);
  return slice(v, index + "]");
}

}  // namespace stridecopy::test
