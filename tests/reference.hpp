// tests/reference.hpp — the one slow, obvious reference: walk the view's elements in C order and
// copy each one's bytes. Every executor is checked against this.
#pragma once

#include <algorithm>
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
  const std::int64_t n = element_count(v.layout);
  const std::size_t item = std::size_t(v.type.itemsize);
  std::vector<std::byte> out(std::size_t(n) * item);
  std::int64_t index[max_rank] = {};
  const auto* base = static_cast<const std::byte*>(v.data);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t offset = 0;
    for (int d = 0; d < v.layout.rank; ++d) offset += index[d] * v.layout.stride[d];
    std::memcpy(out.data() + std::size_t(i) * item, base + offset * std::int64_t(item), item);
    for (int d = v.layout.rank - 1; d >= 0; --d) {
      if (++index[d] < v.layout.extent[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/// np.copyto(dst, src) on a byte image: `memory` holds the bytes both host views point into (at
/// `base`). src is broadcast to dst's shape by NumPy's rule (dims aligned on the right; a dim of
/// extent 1, or a missing one, repeats; src's extra leading dims, all of extent 1, are ignored);
/// every value is read before any is written, so overlapping views give the result of copying
/// through a temporary.
inline void reference_copyto(std::vector<std::byte>& memory, const std::byte* base, const view& src, const view& dst) {
  const int rank = dst.layout.rank, lead = rank - src.layout.rank;
  std::int64_t src_stride[max_rank] = {};
  for (int d = std::max(0, -lead); d < src.layout.rank; ++d)
    src_stride[lead + d] = src.layout.extent[d] == 1 ? 0 : src.layout.stride[d];
  const std::int64_t n = element_count(dst.layout);
  const std::int64_t item = dst.type.itemsize;
  const std::vector<std::byte> before = memory;
  const std::int64_t src_at = static_cast<const std::byte*>(src.data) - base;
  const std::int64_t dst_at = static_cast<const std::byte*>(dst.data) - base;
  std::int64_t index[max_rank] = {};
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t from = src_at, to = dst_at;
    for (int d = 0; d < rank; ++d) {
      from += index[d] * src_stride[d] * item;
      to += index[d] * dst.layout.stride[d] * item;
    }
    std::memcpy(memory.data() + to, before.data() + from, std::size_t(item));
    for (int d = rank - 1; d >= 0; --d) {
      if (++index[d] < dst.layout.extent[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace stridecopy::test
