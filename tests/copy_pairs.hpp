// tests/copy_pairs.hpp — random (source, destination) view pairs for copy(src, dst): a writable
// destination view over one buffer (a slice of a larger parent, walked forwards or backwards, its
// dims permuted; never writing an element twice), and a source of a shape that broadcasts to it, over
// other bytes of the buffer, over the same bytes (then the two overlap), or the destination's own
// walk shifted by a few elements. The reference is np.copyto (reference.hpp).
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

/// Where a view lies in its buffer: its first element's byte offset and its element strides.
struct placed_layout {
  std::int64_t offset = 0;
  std::vector<std::int64_t> shape, strides;
  std::int64_t end = 0;  ///< one past the last byte of the parent it was cut from
};

/// A view of `shape` cut from a C-contiguous parent that starts at byte `at`: each dim a slice of a
/// parent dim (a random start, step 1 to 3, sometimes a little slack after it), walked forwards or
/// backwards, the dims in a random order. Distinct elements never share bytes.
inline placed_layout random_placement(std::mt19937_64& g, std::int64_t at, int itemsize,
                                      const std::vector<std::int64_t>& shape) {
  const std::size_t rank = shape.size();
  std::vector<std::size_t> perm(rank);  // view dim perm[i] is parent dim i
  std::iota(perm.begin(), perm.end(), std::size_t(0));
  if (g() % 2) std::shuffle(perm.begin(), perm.end(), g);
  std::vector<std::int64_t> pshape(rank), step(rank), start(rank);
  // Gaps, offsets and slack while the parent stays small: at most 2^20 elements, counting the
  // extents of the dims still to place (views of many dims are mostly 1s).
  std::int64_t parent = 1, rest = 1;
  for (std::int64_t e : shape) rest *= std::max<std::int64_t>(e, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t e = shape[perm[i]], e1 = std::max<std::int64_t>(e, 1);
    rest /= e1;
    const bool roomy = parent * (3 * e1 + 3) * rest <= (std::int64_t(1) << 20);
    step[i] = roomy ? 1 + std::int64_t(g() % 3) : 1;
    start[i] = roomy ? std::int64_t(g() % 3) : 0;
    pshape[i] = start[i] + (e > 0 ? (e - 1) * step[i] + 1 : 0) + (roomy ? std::int64_t(g() % 2) : 0);
    pshape[i] = std::max<std::int64_t>(pshape[i], 1);
    parent *= pshape[i];
  }
  std::vector<std::int64_t> pstride(rank);  // the parent's C-order strides, in elements
  std::int64_t elements = 1;
  for (std::size_t i = rank; i-- > 0;) {
    pstride[i] = elements;
    elements *= pshape[i];
  }
  placed_layout out;
  out.shape = shape;
  out.strides.assign(rank, 0);
  out.offset = at;
  out.end = at + elements * itemsize;
  bool empty = false;
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t e = shape[perm[i]];
    empty = empty || e == 0;
    const bool backwards = g() % 2 == 1;
    out.strides[perm[i]] = (backwards ? -step[i] : step[i]) * pstride[i];
    const std::int64_t first = backwards && e > 0 ? start[i] + (e - 1) * step[i] : start[i];
    out.offset += first * pstride[i] * itemsize;
  }
  if (empty) out.offset = at;
  return out;
}

/// A shape that broadcasts to `shape`: sometimes a few leading dims dropped, some dims made 1, and
/// sometimes an extra leading dim of extent 1 (which NumPy's assignment ignores).
inline std::vector<std::int64_t> broadcastable_to(std::mt19937_64& g, const std::vector<std::int64_t>& shape) {
  const std::size_t drop = g() % 4 == 0 ? std::min<std::size_t>(shape.size(), g() % 3) : 0;
  std::vector<std::int64_t> s(shape.begin() + std::ptrdiff_t(drop), shape.end());
  for (auto& e : s)
    if (g() % 5 == 0) e = 1;
  if (g() % 10 == 0 && s.size() < std::size_t(max_rank)) s.insert(s.begin(), 1);
  return s;
}

/// One random pair over one buffer, and the buffer (random bytes).
struct random_pair {
  std::vector<std::byte> memory;
  mutable_view dst;
  view src;
  std::string description;
};

/// How a pair's source relates to its destination.
enum class pair_way { shifted, same_bytes, separate };

/// A random pair: rank 0 to max_rank, extents 0 to max_extent (at most 2^16 elements), element
/// sizes 1 to 32 bytes.
inline random_pair make_random_pair(std::mt19937_64& g, int max_rank_, std::int64_t max_extent) {
  static const int itemsizes[] = {1, 2, 3, 4, 8, 12, 16, 32};
  const int itemsize = itemsizes[g() % 8];
  const dtype type{'V', itemsize, '|'};
  const int rank = int(g() % std::uint64_t(max_rank_ + 1));
  std::vector<std::int64_t> shape(static_cast<std::size_t>(rank));
  std::int64_t elements = 1;
  for (auto& e : shape) {
    e = g() % 16 == 0 ? 0 : 1 + std::int64_t(g() % std::uint64_t(max_extent));
    if (elements * std::max<std::int64_t>(e, 1) > (1 << 16)) e = 1;
    elements *= std::max<std::int64_t>(e, 1);
  }
  const auto way = pair_way(g() % 3);
  const std::int64_t misalign = std::int64_t(g() % 3) * std::max(1, itemsize / 2);
  const placed_layout d = random_placement(g, misalign + 4 * itemsize, itemsize, shape);
  placed_layout s;
  switch (way) {
    case pair_way::shifted:  // the same walk, a few elements away: a shift within one array
      s = d;
      s.offset += (std::int64_t(g() % 7) - 3) * itemsize;
      break;
    case pair_way::same_bytes:
      s = random_placement(g, std::int64_t(g() % 5) * itemsize, itemsize, broadcastable_to(g, shape));
      break;
    case pair_way::separate: s = random_placement(g, d.end + 64, itemsize, broadcastable_to(g, shape)); break;
  }
  random_pair r;
  r.memory = random_bytes(std::size_t(std::max(d.end, s.end) + 8 * itemsize + 64));
  r.dst = make_view(static_cast<void*>(r.memory.data() + d.offset), type, d.shape, d.strides);
  r.src = make_view(static_cast<const void*>(r.memory.data() + s.offset), type, s.shape, s.strides);
  static const char* ways[] = {"shifted", "same bytes", "separate"};
  r.description = "dst shape " + shape_string(d.shape) + " strides " + shape_string(d.strides) + " at " +
                  std::to_string(d.offset) + ", src shape " + shape_string(s.shape) + " strides " +
                  shape_string(s.strides) + " at " + std::to_string(s.offset) + ", itemsize " +
                  std::to_string(itemsize) + ", " + ways[int(way)];
  return r;
}

}  // namespace stridecopy::test
