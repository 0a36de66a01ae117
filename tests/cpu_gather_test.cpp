// tests/cpu_gather_test.cpp — host-to-host copies (strategy::cpu) and the range gather against the
// reference, on fresh random data, into poisoned and canary-guarded destinations; bad input leaves
// them untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "cpu/nontemporal.hpp"
#include "random_views.hpp"
#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/plan.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;

namespace {

void expect_copy_matches_reference(const sc::view& v, int threads, std::size_t dst_misalign) {
  const auto expected = sc::test::reference_copy(v);
  sc::test::guarded_buffer dst(expected.size(), dst_misalign);
  sc::copy(v, dst.data(), dst.size(), {}, {.how = sc::strategy::cpu, .threads = threads});
  ASSERT_TRUE(dst.canaries_intact());
  const auto got = dst.contents();
  ASSERT_EQ(sc::test::first_difference(got, expected), -1);
  if (threads < 2) return;
  // Small copies run on the calling thread whatever they ask: the same copy again, cut into pieces
  // of 64 bytes (whole rows at least) that the threads share.
  const sc::plan p = sc::detail::narrow_unit(sc::make_plan(v), sc::detail::alignment_of(v.data));
  sc::test::guarded_buffer pieces(expected.size(), dst_misalign);
  sc::detail::gather(p, static_cast<const std::byte*>(v.data), pieces.data(), threads, 64);
  ASSERT_TRUE(pieces.canaries_intact());
  ASSERT_EQ(sc::test::first_difference(pieces.contents(), expected), -1) << "in pieces of 64 bytes";
}

}  // namespace

TEST(CpuGather, RandomViewsMatchTheReference) {
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 2000; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 6, 6);
    SCOPED_TRACE(r.description + " pattern " + sc::to_string(sc::make_plan(r.v).walk.pattern));
    expect_copy_matches_reference(r.v, 1 + int(trial % 2), std::size_t(g() % 5));
  }
}

TEST(CpuGather, LargerRandomViewsCoverTilesAndChunkEdges) {
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 150; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 3, 300);
    SCOPED_TRACE(r.description + " pattern " + sc::to_string(sc::make_plan(r.v).walk.pattern));
    expect_copy_matches_reference(r.v, 2, 0);
  }
}

TEST(CpuGather, EveryPatternIsExercised) {
  // Each pattern with a shape that crosses tile and chunk boundaries (129, 1000, 300000).
  auto& g = sc::test::rng();
  const auto data = sc::test::random_bytes(4 * 3 * 129 * 1000 * 4);
  const auto* base = data.data();
  const sc::dtype f32 = sc::dtype_of<float>();
  struct named {
    const char* name;
    sc::view v;
    sc::pattern expect;
  };
  const std::int64_t N = 4, C = 3, H = 129, W = 1000;
  const std::vector<named> cases = {
      {"contiguous", sc::make_view(base, f32, shape_t{N, C, H, W}), sc::pattern::contiguous},
      {"channel reverse",
       sc::make_view(base + 2 * H * W * 4, f32, shape_t{N, C, H, W}, shape_t{C * H * W, -H * W, W, 1}),
       sc::pattern::long_runs},
      {"short rows", sc::make_view(base, f32, shape_t{N, C, H, 7}, shape_t{C * H * W, H * W, W, 1}), sc::pattern::rows},
      {"row reverse", sc::make_view(base + (W - 1) * 4, f32, shape_t{N, C, H, W}, shape_t{C * H * W, H * W, W, -1}),
       sc::pattern::reversed_rows},
      {"step 2", sc::make_view(base, f32, shape_t{N, C, H, W / 2}, shape_t{C * H * W, H * W, W, 2}),
       sc::pattern::general},
      {"NCHW to NHWC", sc::make_view(base, f32, shape_t{N, H, W, C}, shape_t{C * H * W, W, 1, H * W}),
       sc::pattern::transposed},
      {"cropped NHWC",
       sc::make_view(base + (8 * W + 8) * 4, f32, shape_t{N, H - 16, W - 16, C}, shape_t{C * H * W, W, 1, H * W}),
       sc::pattern::transposed},
      {"flipped transpose", sc::make_view(base + (W - 1) * 4, f32, shape_t{N * C, W, H}, shape_t{H * W, -1, W}),
       sc::pattern::transposed},
      {"unit dim outside a middle dim", sc::make_view(base, f32, shape_t{W, 5, H}, shape_t{1, 2 * W, 7 * W}),
       sc::pattern::transposed},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(sc::make_plan(c.v).walk.pattern, c.expect);
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
    sc::test::guarded_buffer dst(std::size_t(count * p.walk.unit));
    sc::detail::gather_range(p, static_cast<const std::byte*>(r.v.data), first, count, dst.data());
    SCOPED_TRACE(r.description + " range " + std::to_string(first) + "+" + std::to_string(count));
    ASSERT_TRUE(dst.canaries_intact());
    const auto got = dst.contents();
    ASSERT_TRUE(std::equal(got.begin(), got.end(), expected.begin() + first * p.walk.unit));
  }
}

TEST(CpuGather, ZeroDimensionalAndEmptyViews) {
  const auto data = sc::test::random_bytes(16);
  const sc::view scalar = sc::make_view(data.data() + 8, sc::dtype_of<double>(), shape_t{});
  expect_copy_matches_reference(scalar, 1, 0);
  const sc::view empty = sc::make_view(nullptr, sc::dtype_of<double>(), shape_t{3, 0});
  sc::test::guarded_buffer dst(0);
  sc::copy(empty, dst.data(), 0, {}, {.how = sc::strategy::cpu});
  EXPECT_TRUE(dst.canaries_intact());
}

TEST(CpuGather, BadInputThrowsAndLeavesTheDestinationUntouched) {
  auto src = sc::test::random_bytes(4 * 64);
  const sc::view v = sc::contiguous_view(src.data(), sc::dtype_of<float>(), shape_t{8, 8});
  sc::test::guarded_buffer small(255);
  EXPECT_THROW(sc::copy(v, small.data(), small.size(), {}, {.how = sc::strategy::cpu}), sc::invalid_view);
  EXPECT_TRUE(small.untouched());

  sc::view on_device = v;
  on_device.memory = sc::memory_kind::device;
  sc::test::guarded_buffer dst(256);
  try {
    sc::copy(on_device, dst.data(), dst.size(), {}, {.how = sc::strategy::cpu});
    ADD_FAILURE() << "a device view copied by the CPU";
  } catch (const sc::invalid_view& e) {
    EXPECT_NE(std::string(e.what()).find("strategy cpu cannot run: the source is device memory"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(dst.untouched());

  sc::view outside = v;
  outside.layout.extent[0] = 9;
  sc::test::guarded_buffer dst2(9 * 8 * 4);
  EXPECT_THROW(sc::copy(outside, dst2.data(), dst2.size(), {}, {.how = sc::strategy::cpu}), sc::invalid_view);
  EXPECT_TRUE(dst2.untouched());

  // A destination overlapping its own source: NumPy's result, as if through a temporary.
  auto wide = sc::test::random_bytes(4 * 65);
  const sc::view w = sc::contiguous_view(wide.data(), sc::dtype_of<float>(), shape_t{8, 8});
  const auto expected = sc::test::reference_copy(sc::flip(w, 1));
  sc::copy(sc::flip(w, 1), wide.data() + 4, 256, {}, {.how = sc::strategy::cpu});
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), wide.begin() + 4));

  // Thread counts outside 0..max_cpu_threads are refused before any work.
  sc::test::guarded_buffer dst3(256);
  for (const int threads : {-1, sc::max_cpu_threads + 1, 32000, 100000})
    EXPECT_THROW(sc::copy(v, dst3.data(), dst3.size(), {}, {.how = sc::strategy::cpu, .threads = threads}),
                 sc::invalid_argument)
        << threads;
  EXPECT_TRUE(dst3.untouched());
}

TEST(CpuGather, TeamSizeFollowsTheBytes) {
  // Small copies stay on the calling thread even when they ask for more; large ones get what they ask.
  EXPECT_EQ(sc::detail::team_size(64, 0), 1);
  EXPECT_EQ(sc::detail::team_size(4096, 0), 1);
  EXPECT_EQ(sc::detail::team_size(4096, 3), 1);
  EXPECT_EQ(sc::detail::team_size(std::size_t(1) << 30, 3), 3);
  EXPECT_GE(sc::detail::team_size(std::size_t(1) << 30, 0), 1);
}

// ---- the streamed (non-temporal) paths: outputs of 8 MiB or more whose rows or tiles nontemporal.hpp
// writes in whole vectors. Shapes are odd so that heads, tails, tile and band edges all occur.

TEST(CpuGather, StreamedPixelReverseMatchesTheReference) {
  // uint8 NHWC [..., ::-1] (RGB <-> BGR): 3-byte packed reverses with byte shuffles.
  const shape_t shape{3, 701, 1333, 3};
  const auto data = sc::test::random_bytes(3 * 701 * 1333 * 3 + 16);
  for (std::size_t src_shift : {0, 5}) {
    const sc::view base = sc::contiguous_view(data.data() + src_shift, sc::dtype_of<std::uint8_t>(), shape);
    const sc::view v = sc::slice(base, "[..., ::-1]");
    ASSERT_GE(sc::make_plan(v).bytes, std::size_t(8) << 20);
    for (int threads : {1, 2})
      for (std::size_t misalign : {0, 1, 7, 13}) {
        SCOPED_TRACE("shift " + std::to_string(src_shift) + " threads " + std::to_string(threads) + " misalign " +
                     std::to_string(misalign));
        expect_copy_matches_reference(v, threads, misalign);
      }
  }
}

TEST(CpuGather, StreamedThreePlaneInterleaveMatchesTheReference) {
  // float32 NCHW -> NHWC with 3 channels; H * W not a multiple of 4 or 16 (tile and vector tails).
  const shape_t shape{2, 3, 601, 1753};
  const auto data = sc::test::random_bytes(2 * 3 * 601 * 1753 * 4);
  const sc::view v = sc::permute(sc::contiguous_view(data.data(), sc::dtype_of<float>(), shape), {0, 2, 3, 1});
  ASSERT_EQ(sc::make_plan(v).walk.pattern, sc::pattern::transposed);
  ASSERT_GE(sc::make_plan(v).bytes, std::size_t(8) << 20);
  for (int threads : {1, 2})
    for (std::size_t misalign : {0, 4, 8, 12, 2}) {  // 2: not 4-aligned, the cached path
      SCOPED_TRACE("threads " + std::to_string(threads) + " misalign " + std::to_string(misalign));
      expect_copy_matches_reference(v, threads, misalign);
    }
}

TEST(CpuGather, StreamedSquareTransposeMatchesTheReference) {
  // a.T of C-order float64 [rows, cols]: output rows (source columns) of `rows` units. Rows a multiple
  // of 8 stream in 8 x 8 blocks: an odd column count (a lone last output row in the last tile), a
  // destination off its lines (cached head and tail columns), output rows of 2 lines. Rows not a
  // multiple of 8 take the cached tiles.
  for (const auto& [rows, cols] :
       {std::pair<std::int64_t, std::int64_t>{1024, 1041}, {16, 65601}, {1030, 1025}, {1031, 1030}}) {
    const auto data = sc::test::random_bytes(std::size_t(rows * cols * 8));
    const sc::view v =
        sc::permute(sc::contiguous_view(data.data(), sc::dtype_of<double>(), shape_t{rows, cols}), {1, 0});
    ASSERT_EQ(sc::make_plan(v).walk.pattern, sc::pattern::transposed);
    ASSERT_GE(sc::make_plan(v).bytes, std::size_t(8) << 20);
    for (int threads : {1, 2})
      for (std::size_t misalign : {0, 8, 16, 40}) {
        SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) + " threads " + std::to_string(threads) +
                     " misalign " + std::to_string(misalign));
        expect_copy_matches_reference(v, threads, misalign);
      }
  }
}

// ---- the vector kernels themselves, on every short length and destination alignment: heads until
// the destination is 16-aligned, whole blocks, tails.

TEST(CpuGather, PixelReverseKernelOnEveryLengthAndAlignment) {
  const auto src = sc::test::random_bytes(3 * 70);
  for (std::int64_t pixels = 0; pixels <= 70; ++pixels)
    for (std::size_t misalign = 0; misalign < 16; ++misalign) {
      sc::test::guarded_buffer dst(std::size_t(3 * pixels), misalign);
      sc::detail::nt_reverse_pixels3(dst.data(), src.data(), pixels);
      sc::detail::nt_fence();
      ASSERT_TRUE(dst.canaries_intact()) << pixels << " " << misalign;
      const auto got = dst.contents();
      for (std::int64_t p = 0; p < pixels; ++p)
        for (int j = 0; j < 3; ++j)
          ASSERT_EQ(got[std::size_t(3 * p + j)], src[std::size_t(3 * p + 2 - j)]) << pixels << " " << misalign;
    }
}

TEST(CpuGather, InterleaveKernelOnEveryLengthAndAlignment) {
  const std::int64_t plane = 41;  // not a multiple of 4: the planes' loads are unaligned
  const auto bytes = sc::test::random_bytes(3 * plane * 4);
  std::vector<std::uint32_t> src(std::size_t(3 * plane));
  std::memcpy(src.data(), bytes.data(), bytes.size());
  for (std::int64_t n = 0; n <= plane; ++n)
    for (std::size_t misalign : {0, 4, 8, 12}) {
      sc::test::guarded_buffer dst(std::size_t(12 * n), misalign);
      sc::detail::nt_interleave3_32(dst.data(), src.data(), plane, n);
      sc::detail::nt_fence();
      ASSERT_TRUE(dst.canaries_intact()) << n << " " << misalign;
      const auto got = dst.contents();
      for (std::int64_t a = 0; a < n; ++a)
        for (int c = 0; c < 3; ++c) {
          std::uint32_t x;
          std::memcpy(&x, got.data() + 12 * a + 4 * c, 4);
          ASSERT_EQ(x, src[std::size_t(c * plane + a)]) << n << " " << misalign << " pixel " << a;
        }
    }
}

TEST(CpuGather, TransposeKernelWritesTwoWholeLines) {
  const std::int64_t step = 13;  // source rows 13 units apart
  std::vector<std::uint64_t> src(std::size_t(8 * step));
  std::iota(src.begin(), src.end(), std::uint64_t(1000));
  const std::int64_t pitch = 80;  // output rows 80 bytes apart: 16-aligned, not line-aligned
  sc::test::guarded_buffer dst(std::size_t(pitch + 64));
  sc::detail::nt_transpose_2x8_64(dst.data(), pitch, src.data() + 3, step);
  sc::detail::nt_fence();
  ASSERT_TRUE(dst.canaries_intact());
  const auto got = dst.contents();
  for (int k = 0; k < 2; ++k)
    for (int i = 0; i < 8; ++i) {
      std::uint64_t x;
      std::memcpy(&x, got.data() + k * pitch + 8 * i, 8);
      EXPECT_EQ(x, src[std::size_t(i * step + 3 + k)]) << k << " " << i;
    }
  for (std::int64_t b = 64; b < pitch; ++b) EXPECT_EQ(got[std::size_t(b)], sc::test::guarded_buffer::poison);
}

TEST(CpuGather, ReverseKernelOnEveryLengthAndAlignment) {
  // d[j] = s[-j], walked from the end of the row: tails, whole 16-byte groups, heads, and a
  // destination that is not even unit-aligned (all of it element by element).
  const auto bytes = sc::test::random_bytes(8 * 40);
  const auto check = [&](auto unit) {
    using U = decltype(unit);
    std::vector<U> src(40);
    std::memcpy(src.data(), bytes.data(), 40 * sizeof(U));
    for (std::int64_t n = 0; n <= 40; ++n)
      for (std::size_t misalign : {0, 1, 4, 8, 12}) {
        sc::test::guarded_buffer dst(std::size_t(n) * sizeof(U), misalign);
        sc::detail::nt_reverse(dst.data(), src.data() + (n ? n - 1 : 0), n);
        sc::detail::nt_fence();
        ASSERT_TRUE(dst.canaries_intact()) << sizeof(U) << " " << n << " " << misalign;
        const auto got = dst.contents();
        for (std::int64_t j = 0; j < n; ++j) {
          U x;
          std::memcpy(&x, got.data() + j * std::int64_t(sizeof(U)), sizeof(U));
          ASSERT_EQ(x, src[std::size_t(n - 1 - j)]) << sizeof(U) << " " << n << " " << misalign << " at " << j;
        }
      }
  };
  check(std::uint32_t{});
  check(std::uint64_t{});
}

TEST(CpuGather, StreamedReversedRowsMatchTheReference) {
  // x[..., ::-1] of 8 MiB or more: short reversed rows (odd lengths, 5 KB, 1 unit more than a line
  // multiple) and long ones ([:, ::-1, ::-1] merges into rows of a whole plane).
  for (const auto& [dtype, shape, index] :
       {std::tuple{sc::dtype_of<float>(), shape_t{3, 1101, 641}, "[..., ::-1]"},
        std::tuple{sc::dtype_of<double>(), shape_t{2, 811, 647}, "[..., ::-1]"},
        std::tuple{sc::dtype_of<float>(), shape_t{2, 1203, 877}, "[:, ::-1, ::-1]"}}) {
    std::int64_t n = dtype.itemsize;
    for (std::int64_t e : shape) n *= e;
    const auto data = sc::test::random_bytes(std::size_t(n));
    const sc::view v = sc::slice(sc::contiguous_view(data.data(), dtype, shape), index);
    ASSERT_EQ(sc::make_plan(v).walk.pattern, sc::pattern::reversed_rows);
    ASSERT_GE(sc::make_plan(v).bytes, std::size_t(8) << 20);
    for (int threads : {1, 2})
      for (std::size_t misalign : {0, 4, 8, 3}) {
        SCOPED_TRACE(std::string(index) + " itemsize " + std::to_string(dtype.itemsize) + " threads " +
                     std::to_string(threads) + " misalign " + std::to_string(misalign));
        expect_copy_matches_reference(v, threads, misalign);
      }
  }
}
