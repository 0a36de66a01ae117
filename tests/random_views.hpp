// tests/random_views.hpp — random strided views over fresh random bytes: a C-contiguous parent,
// sliced with random starts and steps, flipped, broadcast (zero strides) and permuted.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "stridecopy/layout.hpp"
#include "stridecopy/view.hpp"
#include "test_util.hpp"

namespace stridecopy::test {

using shape_t = std::vector<std::int64_t>;

// A random strided view over fresh random bytes that it owns.
struct random_view {
  std::vector<std::byte> storage;
  stridecopy::view v;
  std::string description;
};

inline random_view make_random_view(std::mt19937_64& g, int max_rank, std::int64_t max_extent) {
  static const int itemsizes[] = {1, 2, 3, 4, 8, 12, 16, 32};
  random_view r;
  const int item = itemsizes[g() % 8];
  const int rank = int(g() % std::uint64_t(max_rank + 1));
  shape_t shape(rank), stride(rank);
  // Start from a C-contiguous parent, then slice, flip, broadcast and permute it.
  // The parent stays under 64 MiB whatever max_extent and rank ask for: redraw until it does.
  shape_t parent(rank);
  for (;;) {
    std::int64_t bytes = item;
    for (auto& e : parent) bytes *= (e = 1 + std::int64_t(g() % std::uint64_t(max_extent)));
    if (bytes <= (std::int64_t(64) << 20)) break;
  }
  std::int64_t s = 1;
  for (int d = rank - 1; d >= 0; --d) {
    stride[d] = s;
    s *= parent[d];
  }
  std::int64_t offset = 0;
  for (int d = 0; d < rank; ++d) {
    const std::int64_t step = std::int64_t(g() % 3) + 1;
    const std::int64_t start = std::int64_t(g() % std::uint64_t(parent[d]));
    shape[d] = (g() % 8 == 0) ? 0 : (parent[d] - start + step - 1) / step;
    if (g() % 2) {  // walk backwards from the far end
      offset += (parent[d] - 1 - start) * stride[d];
      stride[d] *= -step;
    } else {
      offset += start * stride[d];
      stride[d] *= step;
    }
    if (g() % 10 == 0) stride[d] = 0;
  }
  std::vector<int> perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  if (g() % 2) std::shuffle(perm.begin(), perm.end(), g);
  shape_t pshape(rank), pstride(rank);
  for (int d = 0; d < rank; ++d) {
    pshape[d] = shape[perm[d]];
    pstride[d] = stride[perm[d]];
  }
  const std::size_t misalign = std::size_t(g() % 3) * std::size_t(item > 1 ? item / 2 : 1);
  r.storage = stridecopy::test::random_bytes(std::size_t(s) * std::size_t(item) + misalign);
  r.v = stridecopy::make_view(r.storage.data() + misalign + offset * item, {'V', item, '|'}, pshape, pstride);
  r.v.allocation = stridecopy::byte_range{r.storage.data(), r.storage.size()};
  r.description = "shape " + stridecopy::shape_string(pshape) + " strides " + stridecopy::shape_string(pstride) +
                  " itemsize " + std::to_string(item) + " misalign " + std::to_string(misalign);
  return r;
}

}  // namespace stridecopy::test
