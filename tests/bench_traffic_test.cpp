// tests/bench_traffic_test.cpp — bench/traffic.hpp: the source lines a view must read, the basis of
// the host benchmark's per-view limit, counted from the view's own addresses.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "stridecopy/index.hpp"
#include "traffic.hpp"

namespace sc = stridecopy;

namespace {

// 64-byte aligned storage for layout-only views (nothing is read).
struct aligned_block {
  std::vector<std::byte> bytes;
  std::byte* base;
  explicit aligned_block(std::size_t n) : bytes(n + 64) {
    const auto a = reinterpret_cast<std::uintptr_t>(bytes.data());
    base = bytes.data() + (64 - a % 64) % 64;
  }
};

}  // namespace

TEST(BenchTraffic, ForwardAndReversedRowsReadTheSameLines) {
  aligned_block m(4 * 3 * 40 * 64 * 4);
  const sc::view a = sc::contiguous_view(m.base, sc::dtype_of<float>(), {4, 3, 40, 64});
  const std::int64_t all = 4 * 3 * 40 * 64 * 4 / 64;
  EXPECT_EQ(sc::bench::source_lines(a), all);
  for (const char* index : {"[..., ::-1]", "[:, ::-1, :, :]", "[:, :, ::-1, ::-1]"})
    EXPECT_EQ(sc::bench::source_lines(sc::slice(a, index)), all) << index;
  EXPECT_EQ(sc::bench::source_lines(sc::permute(a, {0, 2, 3, 1})), all);
  // Every other float still touches every line: the traffic is 1.5x a memcpy's of the output.
  const sc::view even = sc::slice(a, "[..., ::2]");
  EXPECT_EQ(sc::bench::source_lines(even), all);
  EXPECT_DOUBLE_EQ(sc::bench::traffic_bytes(even), double(all * 64) / 2 + double(all * 64));
}

TEST(BenchTraffic, LinesFollowTheAddressesNotTheElementCount) {
  aligned_block m(64 * 64 * 4);
  const sc::view a = sc::contiguous_view(m.base, sc::dtype_of<float>(), {64, 64});  // rows of 4 lines
  // A crop starting mid-line reads one more line per row than its output holds.
  EXPECT_EQ(sc::bench::source_lines(sc::slice(a, "[:, 8:-8]")), 64 * 4);
  EXPECT_EQ(sc::bench::source_lines(sc::slice(a, "[:, 16:32]")), 64 * 1);
  EXPECT_EQ(sc::bench::source_lines(sc::slice(a, "[:, 8:24]")), 64 * 2);
  // One element of each row: a line per row; every 32nd row: a line per row read.
  EXPECT_EQ(sc::bench::source_lines(sc::slice(a, "[:, 5]")), 64);
  EXPECT_EQ(sc::bench::source_lines(sc::slice(a, "[::32, 0]")), 2);
  // A 1-byte element at the last byte of a line, and zero elements.
  EXPECT_EQ(sc::bench::source_lines(sc::make_view(m.base + 63, sc::dtype_of<std::uint8_t>(), {})), 1);
  EXPECT_EQ(sc::bench::source_lines(sc::slice(a, "[:0]")), 0);
}

TEST(BenchTraffic, ASquareTransposeReadsItsWholeSource) {
  aligned_block m(256 * 256 * 8);
  const sc::view a = sc::contiguous_view(m.base, sc::dtype_of<double>(), {256, 256});
  EXPECT_EQ(sc::bench::source_lines(sc::permute(a, {1, 0})), 256 * 256 * 8 / 64);
}
