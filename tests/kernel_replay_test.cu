// tests/kernel_replay_test.cu — every kernel op replayed on the CPU over its whole grid (tests/replay.hpp):
// each family x unit (1, 2, 4, 8, 16 bytes) x index width (32, 64 bits), on random views, the NCHW
// view family, the edge cases and output sub-ranges; every destination byte must be written exactly
// once, with the reference's value, by in-bounds, aligned accesses. A mutation run (40 broken index
// expressions, one at a time) left no behavioural mutant alive; the last tests here close the gaps it
// found. The fast divmod every op divides with is proven against / and % on edge values.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "copy_pairs.hpp"
#include "core/plan_ops.hpp"
#include "cuda/h2d_schedule.hpp"
#include "cuda/ops.cuh"
#include "ops/batch.cuh"
#include "random_views.hpp"
#include "reference.hpp"
#include "replay.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/plan.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
namespace sk = stridecopy::kernels;
using shape_t = std::vector<std::int64_t>;

namespace {

template <class Op>
struct family_of;
template <int U, class I, int S>
struct family_of<sk::row_gather_op<U, I, S>> {
  static std::string name() { return S == 1 ? "rows+1" : S == -1 ? "rows-1" : "general"; }
};
template <int U, class I>
struct family_of<sk::transpose_op<U, I>> {
  static std::string name() { return "transpose"; }
};
template <int U, class I>
struct family_of<sk::scatter_op<U, I>> {
  static std::string name() { return "scatter"; }
};
template <class Op, int N>
struct family_of<sk::batch_op<Op, N>> {
  static std::string name() { return "batch of " + family_of<Op>::name(); }
};

// Replays `op` writing output units [first, first + count) of p into a guarded destination and
// compares with the reference bytes `expected` (the whole output).
template <class Op>
void replay_and_check(const Op& op, const sc::plan& p, const std::byte* src, std::int64_t first, std::int64_t count,
                      const std::vector<std::byte>& expected, sc::test::guarded_buffer& dst) {
  using Index = typename Op::index_type;
  sc::test::replay_memory mem(src + p.walk.span_begin, src + p.walk.span_end, dst.data(), dst.size(),
                              std::size_t(Op::shared_bytes));
  mem.run(op);
  SCOPED_TRACE("family " + family_of<Op>::name() + " unit " + std::to_string(p.walk.unit) + " index" +
               std::to_string(sizeof(Index) * 8) + " range " + std::to_string(first) + "+" + std::to_string(count));
  ASSERT_TRUE(mem.access_errors().empty()) << mem.access_errors().front();
  const auto writes = mem.write_errors();
  ASSERT_TRUE(writes.empty()) << writes.front();
  ASSERT_TRUE(dst.canaries_intact());
  const auto got = dst.contents();
  const auto want_begin = expected.begin() + first * p.walk.unit;
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i], want_begin[std::ptrdiff_t(i)]) << "output byte " << (first * p.walk.unit + std::int64_t(i));
}

// The executor's own choice of op, and the general family (valid for every plan), both index widths.
// `src` is the view's first element.
void check_plan(const sc::plan& p, const void* first_element, const std::vector<std::byte>& expected,
                std::mt19937_64& g, bool subrange) {
  const auto* src = static_cast<const std::byte*>(first_element);
  const std::int64_t units = p.units();
  if (units == 0) return;
  std::int64_t first = 0, count = units;
  if (subrange) {
    first = std::int64_t(g() % std::uint64_t(units));
    count = 1 + std::int64_t(g() % std::uint64_t(units - first));
    if (p.walk.pattern == sc::pattern::transposed && g() % 2) {  // whole rows, so the tiles are used
      const std::int64_t row = sc::detail::transpose_shape_of(p).row_units();
      first = first / row * row;
      count = std::max<std::int64_t>(row, count / row * row);
      count = std::min(count, units - first);
    }
  }
  for (bool force64 : {false, true}) {
    const std::size_t misalign = std::size_t(g() % std::uint64_t(16 / p.walk.unit)) * std::size_t(p.walk.unit);
    sc::test::guarded_buffer dst(std::size_t(count * p.walk.unit), misalign);
    sc::detail::visit_op(p, src, first, count, dst.data(), force64,
                         [&](const auto& op) { replay_and_check(op, p, src, first, count, expected, dst); });
    sc::test::guarded_buffer dst2(std::size_t(count * p.walk.unit), misalign);
    sk::with_unit(p.walk.unit, [&](auto unit) {
      constexpr int U = decltype(unit)::value;
      if (force64)
        replay_and_check(sc::detail::make_row_op<U, std::int64_t, 0>(p, src, first, count, dst2.data()), p, src, first,
                         count, expected, dst2);
      else
        replay_and_check(sc::detail::make_row_op<U, std::int32_t, 0>(p, src, first, count, dst2.data()), p, src, first,
                         count, expected, dst2);
    });
  }
}

}  // namespace

TEST(KernelReplay, RandomViewsEveryFamilyUnitAndIndexWidth) {
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 1500; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 5, trial % 10 == 0 ? 40 : 7);
    const sc::plan p = sc::make_plan(r.v);
    SCOPED_TRACE(r.description + " pattern " + sc::to_string(p.walk.pattern));
    check_plan(p, r.v.data, sc::test::reference_copy(r.v), g, trial % 2 == 1);
    if (HasFatalFailure()) return;
  }
}

TEST(KernelReplay, NchwViewFamilyAndEdgeCases) {
  auto& g = sc::test::rng();
  const std::int64_t N = 2, C = 3, H = 33, W = 130;
  const auto data = sc::test::random_bytes(std::size_t(N * C * H * W) * 16 + 64);
  const std::byte* b = data.data() + 16 - reinterpret_cast<std::uintptr_t>(data.data()) % 16;
  struct named {
    const char* name;
    sc::view v;
  };
  const sc::dtype f32 = sc::dtype_of<float>(), f16 = sc::float16, u8 = sc::dtype_of<std::uint8_t>();
  const sc::dtype c64 = sc::dtype_of<std::complex<double>>();
  const std::vector<named> cases = {
      {"channel reverse", sc::make_view(b + 2 * H * W * 4, f32, shape_t{N, C, H, W}, shape_t{C * H * W, -H * W, W, 1})},
      {"row reverse", sc::make_view(b + (W - 1) * 4, f32, shape_t{N, C, H, W}, shape_t{C * H * W, H * W, W, -1})},
      {"plane reverse",
       sc::make_view(b + (H * W - 1) * 4, f32, shape_t{N, C, H, W}, shape_t{C * H * W, H * W, -W, -1})},
      {"step 2", sc::make_view(b, f32, shape_t{N, C, H, W / 2}, shape_t{C * H * W, H * W, W, 2})},
      {"NCHW to NHWC", sc::make_view(b, f32, shape_t{N, H, W, C}, shape_t{C * H * W, W, 1, H * W})},
      {"NHWC to NCHW", sc::make_view(b, f32, shape_t{N, C, H, W}, shape_t{H * W * C, 1, W * C, C})},
      {"u8 BGR", sc::make_view(b + 2, u8, shape_t{N, H, W, C}, shape_t{H * W * C, W * C, C, -1})},
      {"fp16 starting at element 1", sc::make_view(b + 2, f16, shape_t{H, W - 1}, shape_t{W, 1})},
      {"fp16 reversed from element 1", sc::make_view(b + 2 * (W - 1) + 2, f16, shape_t{H, W - 1}, shape_t{W, -1})},
      {"int8 starting at element 1", sc::make_view(b + 1, u8, shape_t{H, 129}, shape_t{130, 1})},
      {"extent 129 transposed", sc::make_view(b, f32, shape_t{129, 33}, shape_t{1, 129})},
      {"size-1 dims with odd strides", sc::make_view(b, f32, shape_t{1, 40, 1, 3}, shape_t{-999, 3, 77, 1})},
      {"zero strides", sc::make_view(b + 64, f32, shape_t{5, 7, 3}, shape_t{0, 1, 0})},
      {"complex128 reversed", sc::make_view(b + 16 * 99, c64, shape_t{100}, shape_t{-1})},
      {"complex128 transposed", sc::make_view(b, c64, shape_t{20, 30}, shape_t{1, 20})},
      {"0-d", sc::make_view(b + 4, f32, shape_t{})},
  };
  for (const auto& c : cases) {
    const sc::plan p = sc::make_plan(c.v);
    SCOPED_TRACE(std::string(c.name) + " pattern " + sc::to_string(p.walk.pattern));
    const auto expected = sc::test::reference_copy(c.v);
    check_plan(p, c.v.data, expected, g, false);
    check_plan(p, c.v.data, expected, g, true);
    if (HasFatalFailure()) return;
  }
}

TEST(KernelReplay, TransposesOfEveryUnitAndInnerExtent) {
  auto& g = sc::test::rng();
  const std::int64_t inner_extents[] = {2, 3, 4, 5, 17, 32, 33, 129};
  for (int item : {1, 2, 4, 8, 16}) {
    for (std::int64_t b : inner_extents) {
      // [planes, A, B] with the A dim of stride +-1 and B the far stride: (planes, B, A) memory.
      const std::int64_t planes = 1 + std::int64_t(g() % 3), a = 1 + std::int64_t(g() % 300);
      const auto data = sc::test::random_bytes(std::size_t(planes * a * b * item) + 32);
      const std::byte* base = data.data() + (16 - reinterpret_cast<std::uintptr_t>(data.data()) % 16) % 16;
      const bool flip = g() % 2;
      const sc::view v = sc::make_view(base + (flip ? (a - 1) * item : 0), {'V', item, '|'}, shape_t{planes, a, b},
                                       shape_t{a * b, flip ? -1 : 1, a});
      const sc::plan p = sc::make_plan(v);
      SCOPED_TRACE("itemsize " + std::to_string(item) + " A " + std::to_string(a) + " B " + std::to_string(b) +
                   " pattern " + sc::to_string(p.walk.pattern));
      if (a > 1) ASSERT_EQ(p.walk.pattern, sc::pattern::transposed);
      const auto expected = sc::test::reference_copy(v);
      check_plan(p, v.data, expected, g, false);
      check_plan(p, v.data, expected, g, true);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(KernelReplay, TileShapesFitTheSharedBuffer) {
  for (std::int64_t b = 2; b < 200; ++b) {
    const auto t = sc::detail::tile_shape(b);
    EXPECT_LE(t.tb * t.pitch, (sk::transpose_op<4, int>::tile_capacity)) << "inner extent " << b;
    EXPECT_GE(t.pitch, t.ta);
    EXPECT_EQ(t.ta % 32, 0);
  }
}

// 64-bit indexing on offsets and counts beyond 2^31, replayed over a sub-range: the source is a
// sparse mapping (untouched pages cost nothing) with random bytes where the range reads.
TEST(KernelReplay, OffsetsAndCountsBeyondTwoToThe31) {
  const std::size_t bytes = (std::size_t(3) << 31) + 4096;
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) GTEST_SKIP() << "cannot map 6 GiB of address space";
  auto* base = static_cast<std::byte*>(m);
  auto& g = sc::test::rng();
  struct named {
    const char* name;
    sc::view v;
    std::int64_t first;
  };
  const std::int64_t big = std::int64_t(1) << 31;
  const std::vector<named> cases = {
      // uint8 reversed rows of 2^31 + 5 elements: more than 2^31 elements, read backwards.
      {"reversed uint8 beyond 2^31",
       sc::make_view(base + 2 * big + 9, sc::dtype_of<std::uint8_t>(), shape_t{2, big + 5}, shape_t{-(big + 5), -1}),
       big - 1000},
      // stride of 2^31 elements between rows.
      {"stride 2^31", sc::make_view(base, sc::dtype_of<std::uint8_t>(), shape_t{3, 4000}, shape_t{big, 1}), 1000},
      {"transposed stride 2^31",
       sc::make_view(base, sc::dtype_of<std::uint16_t>(), shape_t{1000, 3}, shape_t{1, big / 2}), 30},
  };
  for (const auto& c : cases) {
    const sc::plan p = sc::make_plan(c.v);
    SCOPED_TRACE(std::string(c.name) + " pattern " + sc::to_string(p.walk.pattern));
    ASSERT_TRUE(p.walk.index64);
    const std::int64_t count = std::min<std::int64_t>(5000, p.units() - c.first);
    // Fill the bytes the range reads with random values and build the expected output directly.
    std::vector<std::byte> expected(std::size_t(p.units() > 10'000'000 ? 0 : p.units() * p.walk.unit));
    std::vector<std::byte> want(std::size_t(count * p.walk.unit));
    for (std::int64_t o = 0; o < count; ++o) {
      std::int64_t idx = c.first + o, off = 0;
      for (int d = p.walk.rank - 1; d >= 0; --d) {
        off += (idx % p.walk.extent[d]) * p.walk.stride[d];
        idx /= p.walk.extent[d];
      }
      std::byte* at = const_cast<std::byte*>(static_cast<const std::byte*>(c.v.data)) + off * p.walk.unit;
      for (int i = 0; i < p.walk.unit; ++i) at[i] = std::byte(g() & 0xff);
    }
    for (std::int64_t o = 0; o < count; ++o) {  // after all writes: offsets may repeat (zero strides)
      std::int64_t idx = c.first + o, off = 0;
      for (int d = p.walk.rank - 1; d >= 0; --d) {
        off += (idx % p.walk.extent[d]) * p.walk.stride[d];
        idx /= p.walk.extent[d];
      }
      std::memcpy(want.data() + o * p.walk.unit, static_cast<const std::byte*>(c.v.data) + off * p.walk.unit,
                  std::size_t(p.walk.unit));
    }
    // `want` holds output units [first, first + count): shift it into a whole-output-shaped lookup.
    std::vector<std::byte> shifted(std::size_t((c.first + count) * p.walk.unit));
    std::copy(want.begin(), want.end(), shifted.begin() + c.first * p.walk.unit);
    sc::test::guarded_buffer dst(std::size_t(count * p.walk.unit));
    const auto* src = static_cast<const std::byte*>(c.v.data);
    sc::detail::visit_op(p, src, c.first, count, dst.data(), true,
                         [&](const auto& op) { replay_and_check(op, p, src, c.first, count, shifted, dst); });
    if (HasFatalFailure()) break;
  }
  munmap(m, bytes);
}

// Every family with every unit and both index widths, each on a view built to select it, so no
// combination escapes the CPU proof (and each test stands alone: ctest runs them one by one).
TEST(KernelReplay, EveryFamilyUnitAndIndexWidth) {
  auto& g = sc::test::rng();
  for (int unit : {1, 2, 4, 8, 16}) {
    const auto data = sc::test::random_bytes(std::size_t(unit) * 4000 + 16);
    const std::byte* b = data.data() + (16 - reinterpret_cast<std::uintptr_t>(data.data()) % 16) % 16;
    const sc::dtype t{'V', unit, '|'};
    const std::vector<std::pair<std::string, sc::view>> cases = {
        {"rows+1", sc::make_view(b, t, shape_t{5, 37}, shape_t{40, 1})},
        {"rows-1", sc::make_view(b + 36 * unit, t, shape_t{5, 37}, shape_t{40, -1})},
        {"general", sc::make_view(b, t, shape_t{5, 37}, shape_t{80, 2})},
        {"transpose", sc::make_view(b, t, shape_t{3, 37, 5}, shape_t{185, 1, 37})},
    };
    for (const auto& [family, v] : cases)
      for (bool force64 : {false, true}) {
        const sc::plan p = sc::make_plan(v);
        SCOPED_TRACE(family + " unit " + std::to_string(unit) + (force64 ? " index64" : " index32"));
        ASSERT_EQ(p.walk.unit, unit);
        const auto expected = sc::test::reference_copy(v);
        sc::test::guarded_buffer dst(expected.size(), std::size_t(g() % std::uint64_t(16 / unit)) * std::size_t(unit));
        const auto* src = static_cast<const std::byte*>(v.data);
        sc::detail::visit_op(p, src, 0, p.units(), dst.data(), force64, [&](const auto& op) {
          using Op = std::decay_t<decltype(op)>;
          EXPECT_EQ(family_of<Op>::name(), family);
          EXPECT_EQ(sizeof(typename Op::index_type), force64 ? 8u : 4u);
          replay_and_check(op, p, src, 0, p.units(), expected, dst);
        });
        if (HasFatalFailure()) return;
      }
  }
}

// ---- from the mutation run: tests that close the gaps it found ----

// Transposes with dims between the unit-stride dim and the inner dim (M > 1): the `mids` map and the
// (row, m, b) output order are otherwise exercised only by a handful of random views.
TEST(KernelReplay, TransposeWithMiddleDims) {
  auto& g = sc::test::rng();
  struct amb {
    std::int64_t a, m, b;
  };
  for (int item : {1, 2, 4, 8, 16})
    for (amb s : {amb{37, 3, 5}, amb{70, 2, 40}, amb{33, 4, 33}})
      for (bool flip : {false, true}) {
        const std::int64_t P = 2;
        // memory (P, B, M, A) contiguous; view (P, A, M, B): A has stride +-1, M and B do not merge.
        const auto data = sc::test::random_bytes(std::size_t(P * s.a * s.m * s.b * item) + 32);
        const std::byte* base = data.data() + (16 - reinterpret_cast<std::uintptr_t>(data.data()) % 16) % 16;
        const sc::view v =
            sc::make_view(base + (flip ? (s.a - 1) * item : 0), {'V', item, '|'}, shape_t{P, s.a, s.m, s.b},
                          shape_t{s.a * s.m * s.b, flip ? -1 : 1, s.a, s.a * s.m});
        const sc::plan p = sc::make_plan(v);
        SCOPED_TRACE("itemsize " + std::to_string(item) + " A " + std::to_string(s.a) + " M " + std::to_string(s.m) +
                     " B " + std::to_string(s.b) + (flip ? " flipped" : ""));
        ASSERT_EQ(p.walk.pattern, sc::pattern::transposed);
        ASSERT_GT(sc::detail::transpose_shape_of(p).m, 1);
        const auto expected = sc::test::reference_copy(v);
        check_plan(p, v.data, expected, g, false);
        check_plan(p, v.data, expected, g, true);
        if (HasFatalFailure()) return;
      }
}

// split_output is exact: head only up to the first 16-byte boundary, as many whole vectors as fit,
// tail shorter than a vector, and the three sum to count.
template <int U>
void check_split() {
  constexpr int k = 16 / U;
  for (std::uintptr_t mis = 0; mis < 16; mis += U)
    for (int count = 0; count < 100; ++count) {
      const auto s = sk::split_output<U, int>(reinterpret_cast<void*>(std::uintptr_t(0x1000) + mis), count);
      const int head = std::min<int>(count, mis ? int(16 - mis) / U : 0);
      EXPECT_EQ(s.head, head) << "unit " << U << " misalign " << mis << " count " << count;
      EXPECT_EQ(s.vectors, (count - head) / k) << "unit " << U << " misalign " << mis << " count " << count;
      EXPECT_EQ(s.tail, (count - head) % k) << "unit " << U << " misalign " << mis << " count " << count;
    }
}
TEST(KernelReplay, SplitOutputIsExact) {
  check_split<1>();
  check_split<2>();
  check_split<4>();
  check_split<8>();
  check_split<16>();
}

// offset_map walks only its `dims` innermost slots: poisoned unused slots must not matter.
TEST(KernelReplay, OffsetMapIgnoresUnusedSlots) {
  // All nine slots filled, the outer seven with poison, then dims cut to the inner two.
  const std::int64_t ext[sk::max_walk_dims] = {7, 7, 7, 7, 7, 7, 7, 3, 4};
  const std::int64_t str[sk::max_walk_dims] = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 10, 1};
  auto m = sc::detail::make_offset_map<std::int32_t>(ext, str, 0, sk::max_walk_dims);
  m.dims = 2;
  for (std::int32_t i = 0; i < 12 * 7; ++i) EXPECT_EQ(m.offset(i), (i / 4 % 3) * 10 + (i % 4)) << i;
}

// With 16-byte aligned rows whose length is a whole number of vectors, the +1 and -1 row families
// make only 16-byte loads and stores (no vector falls back to unit-by-unit).
struct counting_memory {
  unsigned char* shared = nullptr;
  mutable std::int64_t narrow_loads = 0, narrow_stores = 0;
  template <class T>
  T load(const T* p) const {
    if (sizeof(T) != 16) ++narrow_loads;
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  }
  template <class T>
  void store(T* p, const T& v) const {
    if (sizeof(T) != 16) ++narrow_stores;
    std::memcpy(p, &v, sizeof(T));
  }
  template <class T>
  T load_shared(const T* p) const {
    return *p;
  }  // unused: rows families only
  template <class T>
  void store_shared(T* p, const T& v) const {
    *p = v;
  }
};
TEST(KernelReplay, AlignedWholeVectorRowsAreFullyVectorised) {
  for (int unit : {1, 2, 4, 8, 16}) {
    const std::int64_t k = 16 / unit, row = 4 * k;
    const auto data = sc::test::random_bytes(std::size_t(5 * 5 * k * unit) + 32);
    const std::byte* b = data.data() + (16 - reinterpret_cast<std::uintptr_t>(data.data()) % 16) % 16;
    const sc::dtype t{'V', unit, '|'};
    for (bool rev : {false, true}) {
      const sc::view v =
          sc::make_view(b + (rev ? (row - 1) * unit : 0), t, shape_t{5, row}, shape_t{5 * k, rev ? -1 : 1});
      const sc::plan p = sc::make_plan(v);
      SCOPED_TRACE("unit " + std::to_string(unit) + (rev ? " reversed" : " forward"));
      ASSERT_EQ(p.walk.pattern, rev ? sc::pattern::reversed_rows : sc::pattern::rows);
      std::vector<uint4> out(std::size_t(5 * row * unit / 16));
      counting_memory mem;
      sc::detail::visit_op(p, static_cast<const std::byte*>(v.data), 0, p.units(), out.data(), false,
                           [&](const auto& op) {
                             using Op = std::decay_t<decltype(op)>;
                             for (typename Op::index_type blk = 0; blk < op.blocks(); ++blk)
                               for (int th = 0; th < Op::threads; ++th) op(mem, blk, th, 0);
                           });
      EXPECT_EQ(mem.narrow_loads, 0);
      EXPECT_EQ(mem.narrow_stores, 0);
      const auto expected = sc::test::reference_copy(v);
      EXPECT_EQ(std::memcmp(out.data(), expected.data(), expected.size()), 0);
    }
  }
}

// ---- plans deeper than one offset map walks: several ops, one per piece of the outer dims

// A view of `dims` extent-2 dims over 2^dims items, its axes permuted so that no two merge, with
// extent-1 dims between them up to 64 dims in all.
sc::view deep_view(const std::vector<std::byte>& bytes, int dims, int item, std::mt19937_64& g) {
  shape_t shape(64, 1), stride(64, 0);
  std::vector<int> axes(static_cast<std::size_t>(dims));
  std::iota(axes.begin(), axes.end(), 0);
  // Neighbours whose strides are 2s and s would merge: shuffle until none are.
  const auto merges = [&] {
    for (std::size_t d = 0; d + 1 < axes.size(); ++d)
      if (axes[d] == axes[d + 1] + 1) return true;
    return false;
  };
  do std::shuffle(axes.begin(), axes.end(), g);
  while (merges());
  std::vector<int> slots(64);
  std::iota(slots.begin(), slots.end(), 0);
  std::shuffle(slots.begin(), slots.end(), g);
  std::sort(slots.begin(), slots.begin() + dims);
  for (int d = 0; d < dims; ++d) {
    shape[std::size_t(slots[std::size_t(d)])] = 2;
    stride[std::size_t(slots[std::size_t(d)])] = (std::int64_t(1) << axes[std::size_t(d)]) * (g() % 2 ? 1 : -1);
  }
  // Start where every negative stride still stays inside the bytes.
  std::int64_t offset = 0;
  for (int d = 0; d < 64; ++d)
    if (stride[std::size_t(d)] < 0) offset -= stride[std::size_t(d)];
  return sc::make_view(bytes.data() + offset * item, {'V', item, '|'}, shape, stride);
}

TEST(KernelReplay, PlansDeeperThanAnOffsetMapRunAsSeveralOps) {
  auto& g = sc::test::rng();
  for (const int item : {1, 4, 16})
    for (const int dims : {10, 12, 15}) {
      const auto bytes = sc::test::random_bytes((std::size_t(1) << dims) * std::size_t(item) + 64);
      const sc::view v = deep_view(bytes, dims, item, g);
      const sc::plan p = sc::make_plan(v);
      SCOPED_TRACE("itemsize " + std::to_string(item) + ", " + std::to_string(dims) +
                   " non-mergeable dims, plan rank " + std::to_string(p.walk.rank) + ", pattern " +
                   sc::to_string(p.walk.pattern));
      ASSERT_GT(p.walk.rank, sk::max_walk_dims);
      const auto expected = sc::test::reference_copy(v);
      for (int trial = 0; trial < 3; ++trial) {
        // The whole output, then random ranges: every piece once, in one replay.
        const std::int64_t first = trial == 0 ? 0 : std::int64_t(g() % std::uint64_t(p.units()));
        const std::int64_t count = trial == 0 ? p.units() : 1 + std::int64_t(g() % std::uint64_t(p.units() - first));
        sc::test::guarded_buffer dst(std::size_t(count * p.walk.unit));
        const auto* src = static_cast<const std::byte*>(v.data);
        sc::test::replay_memory mem(src + p.walk.span_begin, src + p.walk.span_end, dst.data(), dst.size(),
                                    std::size_t(sk::transpose_op<16, std::int64_t>::shared_bytes));
        int ops = 0;
        sc::detail::visit_ops(p, src, first, count, dst.data(), false, [&](const auto& op) {
          ++ops;
          mem.run(op);
        });
        if (trial == 0) EXPECT_GT(ops, 1);  // a random range may fall inside one piece
        ASSERT_TRUE(mem.access_errors().empty()) << mem.access_errors().front();
        const auto writes = mem.write_errors();
        ASSERT_TRUE(writes.empty()) << writes.front();
        ASSERT_TRUE(dst.canaries_intact());
        const auto got = dst.contents();
        ASSERT_TRUE(std::equal(got.begin(), got.end(), expected.begin() + first * p.walk.unit))
            << "range " << first << "+" << count;
      }
    }
}

// ---- a host-to-device copy whose kernels gather from a device slot holding one chunk's span only

TEST(KernelReplay, HostToDeviceChunksGatherFromTheirSpanAlone) {
  auto& g = sc::test::rng();
  int chunks = 0;
  for (int trial = 0; trial < 300; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 5, trial % 4 == 0 ? 40 : 9);
    const sc::plan p = sc::make_plan(r.v);
    const auto* src = static_cast<const std::byte*>(r.v.data);
    const auto expected = sc::test::reference_copy(r.v);
    const sc::detail::h2d_schedule s =
        sc::detail::device_gather_schedule(p, 64 + std::size_t(g() % 2048), std::size_t(1) << 30, 1e9);
    for (const auto& c : s.chunks) {
      SCOPED_TRACE(r.description + " chunk " + std::to_string(c.first) + "+" + std::to_string(c.count));
      // A 16-byte aligned slot with the span's bytes; the replay refuses any load outside them.
      std::vector<std::byte> storage(std::size_t(c.span.bytes()) + 64);
      std::byte* slot = storage.data() + (16 - reinterpret_cast<std::uintptr_t>(storage.data()) % 16) % 16;
      std::memcpy(slot, src + c.span.begin, std::size_t(c.span.bytes()));
      const auto* first =
          reinterpret_cast<const std::byte*>(reinterpret_cast<std::uintptr_t>(slot) - std::uintptr_t(c.span.begin));
      sc::test::guarded_buffer dst(std::size_t(c.count * p.walk.unit));
      sc::test::replay_memory mem(slot, slot + c.span.bytes(), dst.data(), dst.size(),
                                  std::size_t(sk::transpose_op<16, std::int64_t>::shared_bytes));
      sc::detail::visit_ops(p, first, c.first, c.count, dst.data(), false, [&](const auto& op) { mem.run(op); });
      ASSERT_TRUE(mem.access_errors().empty()) << mem.access_errors().front();
      const auto writes = mem.write_errors();
      ASSERT_TRUE(writes.empty()) << writes.front();
      ASSERT_TRUE(dst.canaries_intact());
      const auto got = dst.contents();
      ASSERT_TRUE(std::equal(got.begin(), got.end(), expected.begin() + c.first * p.walk.unit));
      ++chunks;
    }
  }
  EXPECT_GT(chunks, 300);
}

// ---- the fast divmod, against / and %

template <class Index>
void check_divmod(std::uint64_t d, std::uint64_t n) {
  using U = std::make_unsigned_t<Index>;
  const sk::fast_divmod<Index> f{Index(d)};
  const auto r = f(Index(n));
  ASSERT_EQ(U(r.quotient), U(n) / U(d)) << n << " / " << d;
  ASSERT_EQ(U(r.remainder), U(n) % U(d)) << n << " % " << d;
}

template <class Index>
void check_divmod_edges(std::uint64_t max_value) {
  std::vector<std::uint64_t> values = {0,
                                       1,
                                       2,
                                       3,
                                       5,
                                       7,
                                       10,
                                       255,
                                       256,
                                       257,
                                       65535,
                                       65536,
                                       65537,
                                       1000000007,
                                       max_value,
                                       max_value - 1,
                                       max_value / 2,
                                       max_value / 2 + 1,
                                       max_value / 3};
  for (int k = 1; k < int(sizeof(Index) * 8); ++k) {
    const std::uint64_t pow2 = std::uint64_t(1) << k;
    if (pow2 > max_value) break;
    values.insert(values.end(), {pow2 - 1, pow2, pow2 + 1});
  }
  auto& g = sc::test::rng();
  for (int i = 0; i < 64; ++i) values.push_back(g() % (max_value + (max_value == ~std::uint64_t(0) ? 0 : 1)));
  for (int i = 0; i < 64; ++i) values.push_back(g() >> (g() % 64) & max_value);
  for (const std::uint64_t d : values) {
    if (d == 0) continue;
    for (const std::uint64_t n : values) {
      check_divmod<Index>(d, n);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(FastDivmod, Int32OnEdgeAndRandomValues) { check_divmod_edges<std::int32_t>(0x7fffffffu); }
TEST(FastDivmod, Uint32OnTheWholeUnsignedRange) { check_divmod_edges<std::uint32_t>(0xffffffffu); }
TEST(FastDivmod, Int64OnEdgeAndRandomValues) { check_divmod_edges<std::int64_t>(0x7fffffffffffffffull); }
TEST(FastDivmod, Uint64OnTheWholeUnsignedRange) { check_divmod_edges<std::uint64_t>(~std::uint64_t(0)); }

TEST(FastDivmod, EveryDividendOfSmallDivisors) {
  for (std::uint32_t d = 1; d < 300; ++d)
    for (std::uint32_t n = 0; n < 5000; ++n) {
      check_divmod<std::int32_t>(d, n);
      if (HasFatalFailure()) return;
    }
}

// ---- plans of two layouts: the scatter family, and batches

namespace {

/// Replays the op visit_op picks for every unit of a plan of two layouts (and the scatter op for a
/// plan whose destination is contiguous too), into the pair's own bytes: every byte of the
/// destination's walk must be written once, no other byte at all, with np.copyto's value.
template <class Index>
void check_two_layouts(const sc::test::random_pair& start, const sc::plan& p) {
  sc::test::random_pair r;
  r.memory = start.memory;
  const auto rebase = [&](const void* q) {
    return r.memory.data() + (static_cast<const std::byte*>(q) - start.memory.data());
  };
  const std::byte* src = rebase(start.src.data);
  std::byte* dst = rebase(start.dst.data);
  // The walks' first elements: the plan's origins are from the views' data (no allocations recorded).
  const std::byte* src_first = src + p.origin;
  std::byte* dst_first = dst + p.walk.dst_origin;
  std::vector<std::byte> expected = r.memory;
  sc::view s = start.src, d = start.dst;
  s.data = src;
  d.data = dst;
  sc::test::reference_copyto(expected, r.memory.data(), s, d);
  // The bytes the destination's walk covers, by the reference's own walk: in an image of twice the
  // buffer, the source's elements (all ones) in the first half copied onto the zeros of the second.
  const std::size_t n = r.memory.size();
  std::vector<std::byte> image(2 * n, std::byte{0});
  std::fill(image.begin(), image.begin() + std::ptrdiff_t(n), std::byte{1});
  sc::view from = s, into = d;
  from.data = image.data() + (src - r.memory.data());
  into.data = image.data() + n + (dst - r.memory.data());
  sc::test::reference_copyto(image, image.data(), from, into);
  const std::byte* mask = image.data() + n;
  const auto lo = dst_first + p.walk.dst_span_begin, hi = dst_first + p.walk.dst_span_end;
  sc::test::replay_memory mem(src_first + p.walk.span_begin, src_first + p.walk.span_end, lo, std::size_t(hi - lo), 0);
  sc::detail::visit_op(p, src_first, 0, p.units(), dst_first, sizeof(Index) == 8, [&](const auto& op) { mem.run(op); });
  ASSERT_TRUE(mem.access_errors().empty()) << mem.access_errors().front();
  const auto counts = mem.write_counts();
  for (std::size_t i = 0; i < counts.size(); ++i)
    ASSERT_EQ(int(counts[i]), int(mask[std::size_t(lo - r.memory.data()) + i])) << "destination byte " << i;
  for (std::size_t i = 0; i < r.memory.size(); ++i) ASSERT_EQ(r.memory[i], expected[i]) << "byte " << i;
}

}  // namespace

TEST(KernelReplay, ScatterEveryUnitAndIndexWidthOnRandomPairs) {
  std::mt19937_64 g(21);
  int scatters = 0;
  for (int trial = 0; trial < 1200; ++trial) {
    sc::test::random_pair r = sc::test::make_random_pair(g, 5, trial % 10 == 0 ? 30 : 7);
    // Kernels copy between separate bytes; overlapping pairs go through a temporary first.
    const sc::plan p = sc::make_plan(r.src, r.dst);
    if (p.walk.pattern == sc::pattern::empty) continue;
    const auto s_lo = static_cast<const std::byte*>(r.src.data) + p.origin + p.walk.span_begin;
    const auto s_hi = static_cast<const std::byte*>(r.src.data) + p.origin + p.walk.span_end;
    const auto d_lo = static_cast<const std::byte*>(r.dst.data) + p.walk.dst_origin + p.walk.dst_span_begin;
    const auto d_hi = static_cast<const std::byte*>(r.dst.data) + p.walk.dst_origin + p.walk.dst_span_end;
    if (s_lo < d_hi && d_lo < s_hi) continue;
    scatters += p.walk.scatter;
    SCOPED_TRACE(r.description + " pattern " + sc::to_string(p.walk.pattern) + (p.walk.scatter ? " scatter" : ""));
    check_two_layouts<std::int32_t>(r, p);
    check_two_layouts<std::int64_t>(r, p);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(scatters, 300);
}

TEST(KernelReplay, ABatchRunsEachOpsBlocksOnce) {
  // Reversed rows of different lengths, one op each, in batches of 1 to capacity ops: the outputs lie
  // side by side in one destination, so every byte must be written once with its own op's value.
  auto& g = sc::test::rng();
  using op_t = sk::row_gather_op<4, std::int32_t, -1>;
  using batch_t = sk::batch_op<op_t>;
  for (int count : {2, 3, batch_t::capacity}) {
    const auto data = sc::test::random_bytes(std::size_t(count) * 4 * 5000 + 64);
    const std::byte* base = data.data() + (16 - reinterpret_cast<std::uintptr_t>(data.data()) % 16) % 16;
    std::vector<std::int64_t> lengths;
    std::int64_t total = 0;
    for (int i = 0; i < count; ++i) {
      lengths.push_back(1 + std::int64_t(g() % 4999));
      total += lengths.back();
    }
    sc::test::guarded_buffer dst(std::size_t(total) * 4);
    batch_t b{};
    b.count = count;
    b.start[0] = 0;
    std::vector<std::byte> expected;
    std::int64_t at = 0;
    for (int i = 0; i < count; ++i) {
      const sc::view v = sc::make_view(base + std::size_t(i) * 4 * 5000 + std::size_t(lengths[std::size_t(i)] - 1) * 4,
                                       sc::dtype_of<float>(), {lengths[std::size_t(i)]}, {-1});
      const sc::plan p = sc::make_plan(v);
      ASSERT_EQ(p.walk.pattern, sc::pattern::reversed_rows);
      ASSERT_EQ(p.walk.unit, 4);
      const auto part = sc::test::reference_copy(v);
      expected.insert(expected.end(), part.begin(), part.end());
      b.ops[i] = sc::detail::make_row_op<4, std::int32_t, -1>(p, static_cast<const std::byte*>(v.data), 0, p.units(),
                                                              dst.data() + at * 4);
      b.start[i + 1] = b.start[i] + b.ops[i].blocks();
      at += lengths[std::size_t(i)];
    }
    sc::test::replay_memory mem(data.data(), data.data() + data.size(), dst.data(), dst.size(), 0);
    mem.run(b);
    SCOPED_TRACE("batch of " + std::to_string(count));
    ASSERT_TRUE(mem.access_errors().empty()) << mem.access_errors().front();
    ASSERT_TRUE(mem.write_errors().empty()) << mem.write_errors().front();
    ASSERT_TRUE(dst.canaries_intact());
    ASSERT_EQ(sc::test::first_difference(dst.contents(), expected), -1);
    // Every block finds its op: the first and last block of each.
    for (int i = 0; i < count; ++i) {
      EXPECT_EQ(b.op_of(b.start[i]), i);
      EXPECT_EQ(b.op_of(b.start[i + 1] - 1), i);
    }
  }
}
