// tests/copy_into_test.cpp — copy(src, dst) into any writable view on the CPU, against np.copyto's
// rule (reference.hpp): thousands of random pairs (broadcast sources, reversed and permuted
// destinations, overlaps, every element size, ranks up to 64), batches, and the inputs refused
// before any work with the destination untouched.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "copy_pairs.hpp"
#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/plan.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;

namespace {

using sc::test::message_of;

/// Runs `pairs` random pairs of rank up to max_rank through copy(src, dst) with `options`, each
/// against the reference applied to the same bytes; the whole buffer is compared, so a byte written
/// outside the destination fails too.
void check_random_pairs(std::uint64_t seed, int pairs, int max_rank, std::int64_t max_extent,
                        const sc::copy_options& options) {
  std::mt19937_64 g(seed);
  for (int i = 0; i < pairs; ++i) {
    sc::test::random_pair r = sc::test::make_random_pair(g, max_rank, max_extent);
    std::vector<std::byte> expected = r.memory;
    sc::test::reference_copyto(expected, r.memory.data(), r.src, r.dst);
    (void)sc::copy(r.src, r.dst, sc::stream_ref{}, options);
    ASSERT_EQ(sc::test::first_difference(r.memory, expected), -1) << "pair " << i << ": " << r.description;
  }
}

}  // namespace

TEST(CopyInto, RandomPairsMatchNumPyCopyto) {
  sc::copy_options cpu;
  cpu.how = sc::strategy::cpu;
  check_random_pairs(1, 2500, 6, 7, cpu);
}

TEST(CopyInto, RandomPairsOfUpToSixtyFourDims) { check_random_pairs(2, 300, 64, 3, {}); }

TEST(CopyInto, RandomPairsOnSeveralThreads) {
  // Larger views, so that the copies are cut into pieces for a team of threads.
  sc::copy_options team;
  team.how = sc::strategy::cpu;
  team.threads = 4;
  check_random_pairs(3, 200, 4, 40, team);
}

TEST(CopyInto, LargeCopiesSplitAcrossThreads) {
  // 16 MiB into a reversed, transposed destination: above the size where a copy uses a team.
  const shape_t shape{64, 256, 256};
  std::vector<float> src(64 * 256 * 256), dst(64 * 256 * 256, -1.0f);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = float(i);
  const sc::view s = sc::contiguous_view(src.data(), sc::dtype_of<float>(), shape);
  const sc::mutable_view d =
      sc::flip(sc::permute(sc::make_view(dst.data(), sc::dtype_of<float>(), {256, 256, 64}), {2, 0, 1}), 1);
  sc::copy_options team;
  team.threads = 4;
  EXPECT_EQ(sc::copy(s, d, sc::stream_ref{}, team), sc::strategy::cpu);
  for (std::int64_t a = 0; a < 64; ++a)
    for (std::int64_t b = 0; b < 256; ++b)
      for (std::int64_t c = 0; c < 256; ++c)
        ASSERT_EQ(dst[std::size_t((255 - b) * 256 * 64 + c * 64 + a)], src[std::size_t((a * 256 + b) * 256 + c)])
            << a << "," << b << "," << c;
}

TEST(CopyInto, AFrameIntoOneSlotOfABatch) {
  // The NHWC batch example: frame k, stored as CHW, goes into batch[k] transposed.
  const std::int64_t n = 4, h = 6, w = 5, c = 3;
  std::vector<std::uint8_t> batch(std::size_t(n * h * w * c), 0);
  std::vector<std::uint8_t> frame(std::size_t(c * h * w));
  for (std::size_t i = 0; i < frame.size(); ++i) frame[i] = std::uint8_t(i + 1);
  const sc::mutable_view all = sc::make_view(batch.data(), sc::dtype_of<std::uint8_t>(), {n, h, w, c});
  const sc::view chw = sc::make_view(frame.data(), sc::dtype_of<std::uint8_t>(), {c, h, w});
  sc::copy(sc::permute(chw, {1, 2, 0}), sc::slice(all, "[2]"));
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x)
        for (std::int64_t ch = 0; ch < c; ++ch)
          ASSERT_EQ(batch[std::size_t(((k * h + y) * w + x) * c + ch)],
                    k == 2 ? frame[std::size_t((ch * h + y) * w + x)] : 0);
}

TEST(CopyInto, OverlapsCopyAsIfThroughATemporary) {
  // A shift within one array both ways, a reversal in place, and a transpose in place: as if
  // through a temporary.
  std::vector<std::int32_t> a(100);
  const auto reset = [&] {
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::int32_t(i);
  };
  const sc::mutable_view all = sc::make_view(a.data(), sc::dtype_of<std::int32_t>(), {100});
  reset();
  sc::copy(sc::slice(all, "[:90]"), sc::slice(all, "[10:]"));
  for (std::size_t i = 0; i < 100; ++i) ASSERT_EQ(a[i], i < 10 ? std::int32_t(i) : std::int32_t(i - 10));
  reset();
  sc::copy(sc::slice(all, "[10:]"), sc::slice(all, "[:90]"));
  for (std::size_t i = 0; i < 100; ++i) ASSERT_EQ(a[i], i < 90 ? std::int32_t(i + 10) : std::int32_t(i));
  reset();
  sc::copy(sc::slice(all, "[::-1]"), all);
  for (std::size_t i = 0; i < 100; ++i) ASSERT_EQ(a[i], std::int32_t(99 - i));
  reset();
  const sc::mutable_view square = sc::make_view(a.data(), sc::dtype_of<std::int32_t>(), {10, 10});
  sc::copy(sc::permute(square, {1, 0}), square);
  for (std::size_t i = 0; i < 10; ++i)
    for (std::size_t j = 0; j < 10; ++j) ASSERT_EQ(a[i * 10 + j], std::int32_t(j * 10 + i));
  // The very same view on both sides: nothing to do.
  reset();
  EXPECT_EQ(sc::copy(all, all), sc::strategy::none);
  for (std::size_t i = 0; i < 100; ++i) ASSERT_EQ(a[i], std::int32_t(i));
}

TEST(CopyInto, AContiguousDestinationIsTheSingleLayoutPlan) {
  // copy(src, contiguous view) plans what make_plan(src) plans: the same walk, no scatter.
  std::vector<float> src(2 * 3 * 20 * 30), dst(2 * 3 * 20 * 30);
  const sc::view v = sc::slice(sc::contiguous_view(src.data(), sc::dtype_of<float>(), {2, 3, 20, 30}), "[:, ::-1]");
  const sc::plan one = sc::make_plan(v);
  const sc::plan two = sc::make_plan(v, sc::contiguous_view(dst.data(), sc::dtype_of<float>(), {2, 3, 20, 30}));
  EXPECT_FALSE(two.walk.scatter);
  EXPECT_EQ(two.walk.pattern, one.walk.pattern);
  EXPECT_EQ(two.walk.rank, one.walk.rank);
  for (int i = 0; i < one.walk.rank; ++i) {
    EXPECT_EQ(two.walk.extent[i], one.walk.extent[i]) << i;
    EXPECT_EQ(two.walk.stride[i], one.walk.stride[i]) << i;
  }
}

TEST(CopyInto, DimsMergeOnlyWhereBothSidesMerge) {
  // A contiguous source into a column block of a wider matrix: the rows stay apart (the
  // destination's pitch), each row one run on both sides.
  std::vector<double> src(8 * 16), dst(8 * 40);
  const sc::view s = sc::contiguous_view(src.data(), sc::dtype_of<double>(), {8, 16});
  const sc::mutable_view d = sc::slice(sc::contiguous_view(dst.data(), sc::dtype_of<double>(), {8, 40}), "[:, 4:20]");
  const sc::plan p = sc::make_plan(s, d);
  EXPECT_TRUE(p.walk.scatter);
  ASSERT_EQ(p.walk.rank, 2);
  EXPECT_EQ(p.walk.extent[1] * p.walk.unit, 16 * 8);
  EXPECT_EQ(p.walk.dst_stride[0] * p.walk.unit, 40 * 8);
  EXPECT_EQ(p.walk.stride[0] * p.walk.unit, 16 * 8);
  // Contiguous on both sides after all: one dim.
  const sc::plan q = sc::make_plan(s, sc::contiguous_view(dst.data(), sc::dtype_of<double>(), {8, 16}));
  EXPECT_EQ(q.walk.rank, 1);
}

TEST(CopyInto, ABatchRunsAsIfOneAfterAnother) {
  // Independent pairs, then pairs where each reads what the one before wrote.
  std::mt19937_64 g(11);
  for (int round = 0; round < 50; ++round) {
    std::vector<sc::test::random_pair> rs;
    for (int i = 0; i < 6; ++i) rs.push_back(sc::test::make_random_pair(g, 4, 6));
    std::vector<std::vector<std::byte>> expected;
    std::vector<sc::copy_pair> pairs;
    for (auto& r : rs) {
      expected.push_back(r.memory);
      sc::test::reference_copyto(expected.back(), r.memory.data(), r.src, r.dst);
      pairs.push_back({r.src, r.dst});
    }
    sc::copy(pairs);
    for (std::size_t i = 0; i < rs.size(); ++i)
      ASSERT_EQ(sc::test::first_difference(rs[i].memory, expected[i]), -1)
          << "round " << round << " pair " << i << ": " << rs[i].description;
  }
  // A chain: b = a reversed, then c = b's first half, then a = c repeated (broadcast).
  std::vector<std::int16_t> a(64), b(64), c(32);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::int16_t(i);
  const auto t = sc::dtype_of<std::int16_t>();
  const sc::mutable_view va = sc::make_view(a.data(), t, {64}), vb = sc::make_view(b.data(), t, {64}),
                         vc = sc::make_view(c.data(), t, {32});
  const std::vector<sc::copy_pair> chain{
      {sc::flip(va, 0), vb}, {sc::slice(vb, "[:32]"), vc}, {vc, sc::make_view(a.data(), t, {2, 32})}};
  sc::copy(chain);
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(b[i], std::int16_t(63 - i));
  for (std::size_t i = 0; i < 32; ++i) ASSERT_EQ(c[i], std::int16_t(63 - i));
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(a[i], std::int16_t(63 - i % 32));
}

// ---- refused before any work

namespace {

/// A destination buffer and a copy of its bytes, to prove a refused call wrote nothing.
struct watched {
  std::vector<float> data = std::vector<float>(64 * 64);
  std::vector<float> before;
  watched() {
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = float(i) * 0.5f;
    before = data;
  }
  [[nodiscard]] bool untouched() const { return data == before; }
};

}  // namespace

TEST(CopyInto, ASourcesExtraLeadingDimsOfExtentOneAreIgnored) {
  // np.copyto(a[4, 3], b[1, 1, 3]) is allowed: NumPy's assignment drops the source's leading 1s.
  std::vector<std::int16_t> out(12, -1);
  const std::vector<std::int16_t> row{1, 2, 3};
  sc::copy(sc::make_view(row.data(), sc::dtype_of<std::int16_t>(), {1, 1, 3}),
           sc::make_view(out.data(), sc::dtype_of<std::int16_t>(), {4, 3}));
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], row[i % 3]);
}

TEST(CopyInto, BadPairsAreRefusedBeforeAnyWork) {
  watched w;
  std::vector<float> src(64 * 64, 7.0f);
  const auto f32 = sc::dtype_of<float>();
  const sc::mutable_view dst = sc::make_view(w.data.data(), f32, {64, 64});
  const sc::view s = sc::make_view(src.data(), f32, {64, 64});
  struct bad {
    const char* what;
    std::function<void()> call;
    const char* message;
  };
  const std::vector<bad> cases{
      {"a shape that does not broadcast", [&] { sc::copy(sc::slice(s, "[:, :3]"), dst); },
       "could not broadcast input array from shape (64, 3) into shape (64, 64)"},
      {"an extra leading dim of extent 2",
       [&] {
         sc::copy(sc::make_view(src.data(), f32, {2, 32, 64}), dst);
       },
       "could not broadcast input array from shape (2, 32, 64) into shape (64, 64)"},
      {"another dtype",
       [&] {
         sc::copy(sc::make_view(src.data(), sc::dtype_of<std::int32_t>(), {64, 64}), dst);
       },
       "is not the destination's"},
      {"a zero stride",
       [&] {
         sc::copy(sc::slice(s, "[0]"), sc::make_view(w.data.data(), f32, {64, 64}, {0, 1}));
       },
       "more than once"},
      {"strides that alias",
       [&] {
         sc::copy(s, sc::make_view(w.data.data(), f32, {64, 64}, {1, 1}));
       },
       "alias"},
      {"a null destination",
       [&] {
         sc::copy(s, sc::make_view(static_cast<void*>(nullptr), f32, {64, 64}));
       },
       "null"},
      {"a batch with one bad pair",
       [&] {
         const std::vector<sc::copy_pair> pairs{{s, dst}, {sc::slice(s, "[:, :3]"), dst}};
         sc::copy(pairs);
       },
       "pair 1 of 2: could not broadcast"},
  };
  for (const bad& b : cases) {
    const std::string m = message_of(b.call);
    EXPECT_NE(m.find(b.message), std::string::npos) << b.what << ": " << m;
    EXPECT_TRUE(w.untouched()) << b.what;
  }
}

// A view made from a pointer to const can never be a destination: the call does not compile.
template <class S, class D>
concept copyable_into = requires(const S& s, const D& d) {
  sc::copy(s, d);
};
static_assert(copyable_into<sc::view, sc::mutable_view>);
static_assert(!copyable_into<sc::view, sc::view>);
static_assert(!copyable_into<sc::mutable_view, sc::view>);
TEST(CopyInto, ReadOnlyViewsAreNotDestinations) {
  const std::vector<float> constant(16);
  std::vector<float> mine(16);
  // make_view of a pointer to const is a view; of a pointer to writable memory, a mutable_view.
  static_assert(std::is_same_v<decltype(sc::make_view(constant.data(), sc::dtype_of<float>(), {16})), sc::view>);
  static_assert(std::is_same_v<decltype(sc::make_view(mine.data(), sc::dtype_of<float>(), {16})), sc::mutable_view>);
  // Slicing, permuting and flipping keep each kind.
  const sc::view ro = sc::make_view(constant.data(), sc::dtype_of<float>(), {4, 4});
  const sc::mutable_view rw = sc::make_view(mine.data(), sc::dtype_of<float>(), {4, 4});
  static_assert(std::is_same_v<decltype(sc::slice(ro, "[::-1]")), sc::view>);
  static_assert(std::is_same_v<decltype(sc::slice(rw, "[::-1]")), sc::mutable_view>);
  static_assert(std::is_same_v<decltype(sc::permute(rw, {1, 0})), sc::mutable_view>);
  static_assert(std::is_same_v<decltype(sc::flip(rw, 0)), sc::mutable_view>);
  sc::copy(sc::flip(ro, 1), rw);
  EXPECT_EQ(mine, constant);
}
