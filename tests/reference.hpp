// tests/reference.hpp — the one slow, obvious reference: walk the view's elements in C order and
// copy each one's bytes. Every executor is checked against this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "stridecopy/layout.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy::test {

/// The C-order bytes of host view `v`: element i (C order) is read from
/// data + sum(index[d] * stride[d]) * itemsize.
inline std::vector<std::byte> reference_copy(const view& v) {
  const std::int64_t n = element_count(v.lay);
  const std::size_t item = std::size_t(v.type.itemsize);
  std::vector<std::byte> out(std::size_t(n) * item);
  std::int64_t index[max_rank] = {};
  const auto* base = static_cast<const std::byte*>(v.data);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t offset = 0;
    for (int d = 0; d < v.lay.rank; ++d) offset += index[d] * v.lay.stride[d];
    std::memcpy(out.data() + std::size_t(i) * item, base + offset * std::int64_t(item), item);
    for (int d = v.lay.rank - 1; d >= 0; --d) {
      if (++index[d] < v.lay.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace stridecopy::test
