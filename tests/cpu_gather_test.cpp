// tests/cpu_gather_test.cpp — copy_on_host and the range gather against the reference, on fresh
// random data, into poisoned and canary-guarded destinations; bad input leaves them untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "cpu/gather.hpp"
#include "random_views.hpp"
#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/plan.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;

namespace {

void expect_copy_matches_reference(const sc::view& v, int threads, std::size_t dst_misalign) {
  const auto expected = sc::test::reference_copy(v);
  sc::test::guarded_buffer dst(expected.size(), dst_misalign);
  sc::copy_on_host(v, dst.data(), dst.size(), threads);
  ASSERT_TRUE(dst.canaries_intact());
  const auto got = dst.contents();
  ASSERT_EQ(sc::test::first_difference(got, expected), -1);
}

}  // namespace

TEST(CpuGather, RandomViewsMatchTheReference) {
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 2000; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 6, 6);
    SCOPED_TRACE(r.description + " pattern " + sc::to_string(sc::make_plan(r.v).pat));
    expect_copy_matches_reference(r.v, 1 + int(trial % 2), std::size_t(g() % 5));
  }
}

TEST(CpuGather, LargerRandomViewsCoverTilesAndChunkEdges) {
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 150; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 3, 300);
    SCOPED_TRACE(r.description + " pattern " + sc::to_string(sc::make_plan(r.v).pat));
    expect_copy_matches_reference(r.v, 2, 0);
  }
}

TEST(CpuGather, EveryPatternIsExercised) {
  // Each pattern with a shape that crosses tile and chunk boundaries (129, 1000, 300000).
  auto& g = sc::test::rng();
  const auto data = sc::test::random_bytes(4 * 3 * 129 * 1000 * 4);
  const auto* base = data.data();
  const sc::dtype f32 = sc::dtype_of<float>();
  struct named { const char* name; sc::view v; sc::pattern expect; };
  const std::int64_t N = 4, C = 3, H = 129, W = 1000;
  const std::vector<named> cases = {
      {"contiguous", sc::make_view(base, f32, shape_t{N, C, H, W}), sc::pattern::contiguous},
      {"channel reverse", sc::make_view(base + 2 * H * W * 4, f32, shape_t{N, C, H, W}, shape_t{C * H * W, -H * W, W, 1}),
       sc::pattern::long_runs},
      {"short rows", sc::make_view(base, f32, shape_t{N, C, H, 7}, shape_t{C * H * W, H * W, W, 1}), sc::pattern::rows},
      {"row reverse", sc::make_view(base + (W - 1) * 4, f32, shape_t{N, C, H, W}, shape_t{C * H * W, H * W, W, -1}),
       sc::pattern::reversed_rows},
      {"step 2", sc::make_view(base, f32, shape_t{N, C, H, W / 2}, shape_t{C * H * W, H * W, W, 2}), sc::pattern::general},
      {"NCHW to NHWC", sc::make_view(base, f32, shape_t{N, H, W, C}, shape_t{C * H * W, W, 1, H * W}), sc::pattern::transposed},
      {"cropped NHWC", sc::make_view(base + (8 * W + 8) * 4, f32, shape_t{N, H - 16, W - 16, C}, shape_t{C * H * W, W, 1, H * W}),
       sc::pattern::transposed},
      {"flipped transpose", sc::make_view(base + (W - 1) * 4, f32, shape_t{N * C, W, H}, shape_t{H * W, -1, W}),
       sc::pattern::transposed},
      {"unit dim outside a middle dim", sc::make_view(base, f32, shape_t{W, 5, H}, shape_t{1, 2 * W, 7 * W}), sc::pattern::transposed},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(sc::make_plan(c.v).pat, c.expect);
    for (int threads : {1, 2}) expect_copy_matches_reference(c.v, threads, std::size_t(g() % 3));
  }
}

TEST(CpuGather, RangesOfTheOutputMatchTheReference) {
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 1000; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 5, 7);
    const sc::plan p = sc::make_plan(r.v);
    const auto expected = sc::test::reference_copy(r.v);
    const std::int64_t units = p.units();
    if (units == 0) continue;
    const std::int64_t first = std::int64_t(g() % std::uint64_t(units));
    const std::int64_t count = 1 + std::int64_t(g() % std::uint64_t(units - first));
    sc::test::guarded_buffer dst(std::size_t(count * p.unit));
    sc::detail::gather_range(p, static_cast<const std::byte*>(r.v.data), first, count, dst.data());
    SCOPED_TRACE(r.description + " range " + std::to_string(first) + "+" + std::to_string(count));
    ASSERT_TRUE(dst.canaries_intact());
    const auto got = dst.contents();
    ASSERT_TRUE(std::equal(got.begin(), got.end(), expected.begin() + first * p.unit));
  }
}

TEST(CpuGather, ZeroDimensionalAndEmptyViews) {
  const auto data = sc::test::random_bytes(16);
  const sc::view scalar = sc::make_view(data.data() + 8, sc::dtype_of<double>(), shape_t{});
  expect_copy_matches_reference(scalar, 1, 0);
  const sc::view empty = sc::make_view(nullptr, sc::dtype_of<double>(), shape_t{3, 0});
  sc::test::guarded_buffer dst(0);
  sc::copy_on_host(empty, dst.data(), 0);
  EXPECT_TRUE(dst.canaries_intact());
}

TEST(CpuGather, BadInputThrowsAndLeavesTheDestinationUntouched) {
  auto src = sc::test::random_bytes(4 * 64);
  const sc::view v = sc::contiguous_view(src.data(), sc::dtype_of<float>(), shape_t{8, 8});
  sc::test::guarded_buffer small(255);
  EXPECT_THROW(sc::copy_on_host(v, small.data(), small.size()), sc::invalid_view);
  EXPECT_TRUE(small.untouched());

  sc::view on_device = v;
  on_device.memory = sc::memory_kind::device;
  sc::test::guarded_buffer dst(256);
  EXPECT_THROW(sc::copy_on_host(on_device, dst.data(), dst.size()), sc::invalid_view);
  EXPECT_TRUE(dst.untouched());

  sc::view outside = v;
  outside.lay.shape[0] = 9;
  sc::test::guarded_buffer dst2(9 * 8 * 4);
  EXPECT_THROW(sc::copy_on_host(outside, dst2.data(), dst2.size()), sc::invalid_view);
  EXPECT_TRUE(dst2.untouched());

  const auto before = src;
  EXPECT_THROW(sc::copy_on_host(v, src.data() + 4, 256), sc::invalid_view);  // overlaps its own source
  EXPECT_EQ(src, before);

  // Thread counts outside 0..max_cpu_threads are refused before any work (OpenMP would abort).
  sc::test::guarded_buffer dst3(256);
  for (const int threads : {-1, sc::max_cpu_threads + 1, 32000, 100000})
    EXPECT_THROW(sc::copy_on_host(v, dst3.data(), dst3.size(), threads), sc::invalid_argument) << threads;
  EXPECT_TRUE(dst3.untouched());
}

TEST(CpuGather, TeamSizeFollowsTheBytes) {
  EXPECT_EQ(sc::detail::team_size(64, 0), 1);
  EXPECT_EQ(sc::detail::team_size(4096, 0), 1);
  EXPECT_EQ(sc::detail::team_size(4096, 3), 3);
  EXPECT_GE(sc::detail::team_size(std::size_t(1) << 30, 0), 1);
}
