// tests/transfer_schedule_test.cpp — the pure parts of the transfers, on the CPU: the staged chunks
// (simulated on host memory against the reference), bounded scratch, DMA runs and 2D copies
// (applied to host memory against the reference), the bounded ring cache, launch geometry.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/choose.hpp"
#include "core/dma_runs.hpp"
#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "cuda/h2d_schedule.hpp"
#include "cuda/launch_geometry.hpp"
#include "cuda/ring_cache.hpp"
#include "random_views.hpp"
#include "reference.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
namespace sd = stridecopy::detail;
using shape_t = std::vector<std::int64_t>;

namespace {
const std::byte* fake() { return reinterpret_cast<const std::byte*>(std::uintptr_t(0x10000000)); }
sc::plan plan_of(shape_t shape, shape_t stride, sc::dtype t = sc::dtype_of<float>(), std::int64_t offset = 0) {
  return sc::make_plan(sc::make_view(fake() + offset * t.itemsize, t, shape, stride, sc::memory_kind::device),
                       sc::memory_kind::pinned);
}
constexpr std::int64_t N = 4, C = 3, H = 966, W = 1296;
}  // namespace

TEST(StagedChunks, TileTheOutputInWholeRows) {
  const sc::plan p = plan_of({N, C, H, W}, {C * H * W, H * W, W, -1}, sc::dtype_of<float>(), W - 1);
  const sd::chunking c = sd::chunk_output(p, sd::staged_chunk_bytes(p));
  ASSERT_GT(c.count, 0);
  EXPECT_LE(std::size_t(c.chunk_units * p.walk.unit) * sd::transfer_policy::slots,
            sd::transfer_policy::max_scratch_bytes);
  EXPECT_EQ(c.chunk_units % W, 0) << "a chunk splits a row";
  EXPECT_GE(c.chunk_units * c.count, p.units());
  EXPECT_LT(c.chunk_units * (c.count - 1), p.units());
}

TEST(StagedChunks, ScratchIsBoundedWhateverTheTensorSize) {
  for (std::int64_t gib : {1, 4, 16}) {
    const sc::plan p = plan_of({gib << 28}, {-1}, sc::dtype_of<float>(), (gib << 28) - 1);
    const sd::chunking c = sd::chunk_output(p, sd::staged_chunk_bytes(p));
    const std::size_t slot = std::size_t(c.chunk_units * p.walk.unit);
    EXPECT_LE(slot * std::size_t(sd::transfer_policy::slots), sd::transfer_policy::max_scratch_bytes) << gib << " GiB";
    EXPECT_EQ(std::size_t(c.count), std::size_t(gib << 30) / slot);
  }
}

// Runs the pipeline's schedule on host memory: chunk k gathers into slot k % slots, then the slot is
// drained into the destination, in the order the pipeline would; the result is the reference's.
TEST(StagedChunks, SimulatedPipelineEqualsTheReference) {
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 400; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 5, trial % 5 == 0 ? 40 : 8);
    const sc::plan p = sc::make_plan(r.v);
    const std::size_t max_chunk = 16 + std::size_t(g() % 4096);
    const int slots = 1 + int(g() % 4);
    const sd::chunking c = sd::chunk_output(p, max_chunk);
    const auto expected = sc::test::reference_copy(r.v);
    const std::size_t slot_bytes = std::size_t(c.chunk_units * p.walk.unit);
    std::vector<std::vector<std::byte>> ring(static_cast<std::size_t>(slots), std::vector<std::byte>(slot_bytes));
    sc::test::guarded_buffer dst(expected.size());
    for (std::int64_t k = 0; k < c.count; ++k) {
      const std::int64_t first = k * c.chunk_units, count = std::min(c.chunk_units, p.units() - first);
      auto& slot = ring[std::size_t(k % slots)];
      sd::gather_range(p, static_cast<const std::byte*>(r.v.data), first, count, slot.data());
      std::memcpy(dst.data() + first * p.walk.unit, slot.data(), std::size_t(count * p.walk.unit));
    }
    SCOPED_TRACE(r.description);
    ASSERT_TRUE(dst.canaries_intact());
    ASSERT_EQ(sc::test::first_difference(dst.contents(), expected), -1);
  }
}

TEST(DmaRuns, AppliedToHostMemoryEqualTheReference) {
  auto& g = sc::test::rng();
  int checked = 0;
  for (int trial = 0; trial < 2000 && checked < 300; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 5, 9);
    const sc::plan p = sc::make_plan(r.v);
    if (p.walk.pattern == sc::pattern::empty || (p.walk.rank > 0 && p.walk.inner_stride() != 1)) continue;
    ++checked;
    const auto* src = static_cast<const std::byte*>(r.v.data);
    const auto expected = sc::test::reference_copy(r.v);
    sc::test::guarded_buffer dst(expected.size());
    for (const auto& run : sd::dma_runs(p)) std::memcpy(dst.data() + run.dst_offset, src + run.src_offset, run.bytes);
    if (sd::dma_2d d; sd::as_2d_copy(p, d)) {  // the 2D form must say the same
      for (std::size_t row = 0; row < d.height; ++row)
        ASSERT_EQ(std::memcmp(expected.data() + row * d.width, src + std::int64_t(row * d.src_pitch), d.width), 0);
    }
    SCOPED_TRACE(r.description);
    ASSERT_TRUE(dst.canaries_intact());
    ASSERT_EQ(sc::test::first_difference(dst.contents(), expected), -1);
  }
  EXPECT_GE(checked, 100);
}

TEST(DmaRuns, BgrChannelReverseIsTwelveRunsAndACropIsOne2DCopy) {
  const sc::plan p = plan_of({N, C, H, W}, {C * H * W, -H * W, W, 1}, sc::dtype_of<float>(), 2 * H * W);
  const auto runs = sd::dma_runs(p);
  ASSERT_EQ(runs.size(), 12u);
  EXPECT_EQ(runs[0].src_offset, 0);
  EXPECT_EQ(runs[1].src_offset, -H * W * 4);
  EXPECT_EQ(runs[3].src_offset, C * H * W * 4);
  EXPECT_EQ(runs[1].dst_offset, H * W * 4);
  sd::dma_2d d;
  EXPECT_FALSE(sd::as_2d_copy(p, d));
  // x[0, 0, 8:-8, 8:-8]: rows of W - 16 floats, W apart.
  ASSERT_TRUE(sd::as_2d_copy(plan_of({H - 16, W - 16}, {W, 1}), d));
  EXPECT_EQ(d.width, std::size_t(W - 16) * 4);
  EXPECT_EQ(d.src_pitch, std::size_t(W) * 4);
  EXPECT_EQ(d.height, std::size_t(H - 16));
  // Rows walked backwards cannot be a 2D copy (no negative pitch).
  EXPECT_FALSE(sd::as_2d_copy(plan_of({H, W}, {-W, 1}, sc::dtype_of<float>(), (H - 1) * W), d));
}

namespace {
struct counted {
  static inline int alive = 0;
  int key;
  explicit counted(int k) : key(k) { ++alive; }
  ~counted() { --alive; }
};
}  // namespace

TEST(RingCache, KeepsAtMostItsCapacityOfIdleEntriesLeastRecentlyUsedFirst) {
  counted::alive = 0;
  sd::ring_cache<int, counted> cache(3);
  for (int k = 0; k < 10; ++k) (void)cache.acquire(k, [&] { return new counted(k); });
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(counted::alive, 3);
  // 7, 8, 9 stay; using 7 makes 8 the least recently used, so a new key evicts 8.
  int made = 0;
  (void)cache.acquire(7, [&] {
    ++made;
    return new counted(7);
  });
  EXPECT_EQ(made, 0);
  (void)cache.acquire(11, [&] { return new counted(11); });
  (void)cache.acquire(9, [&] {
    ++made;
    return new counted(9);
  });
  EXPECT_EQ(made, 0) << "9 was evicted, though 8 was used less recently";
  (void)cache.acquire(8, [&] {
    ++made;
    return new counted(8);
  });
  EXPECT_EQ(made, 1) << "8 should have been evicted";
  EXPECT_EQ(counted::alive, 3);
}

TEST(RingCache, EntriesInUseAreNeverEvictedAndAReusedKeyGetsItsOwnEntry) {
  counted::alive = 0;
  sd::ring_cache<int, counted> cache(2);
  std::vector<std::shared_ptr<counted>> held;
  for (int k = 0; k < 5; ++k) held.push_back(cache.acquire(k, [&] { return new counted(k); }));
  EXPECT_EQ(cache.size(), 5u);  // over capacity while everything is held
  EXPECT_EQ(counted::alive, 5);
  held.clear();
  (void)cache.acquire(5, [&] { return new counted(5); });
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(counted::alive, 2);
  // A held entry stays, however many others come and go after it.
  auto old = cache.acquire(6, [&] { return new counted(6); });
  for (int k = 7; k < 10; ++k) (void)cache.acquire(k, [&] { return new counted(k); });
  auto again = cache.acquire(6, [&] { return new counted(6); });
  EXPECT_EQ(again.get(), old.get()) << "a held entry was evicted";
  old.reset();
  again.reset();
  EXPECT_EQ(cache.clear_idle(), 0u);
  EXPECT_EQ(counted::alive, 0);
}

TEST(LaunchGeometry, GridSlicesCoverEveryBlockWithinTheLimit) {
  for (const std::int64_t blocks : {0LL, 1LL, 65535LL, 65536LL, 2147483647LL, 5000000000LL}) {
    const auto slices = sd::grid_slices(blocks, 2147483647);
    std::int64_t next = 0;
    for (const auto& s : slices) {
      EXPECT_EQ(s.block_offset, next);
      EXPECT_GE(s.blocks, 1);
      EXPECT_LE(s.blocks, 2147483647);
      next += s.blocks;
    }
    EXPECT_EQ(next, blocks);
  }
  EXPECT_EQ(sd::grid_slices(10, 3).size(), 4u);
}

// The span an output range reads, against the brute force: the lowest and highest byte of every
// whole inner row the range touches.
TEST(HostToDeviceSchedule, OutputRangeSpansAreExact) {
  auto& g = sc::test::rng();
  int checked = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 5, 7);
    const sc::plan p = sc::make_plan(r.v);
    if (p.units() == 0) continue;
    const std::int64_t first = std::int64_t(g() % std::uint64_t(p.units()));
    const std::int64_t count = 1 + std::int64_t(g() % std::uint64_t(p.units() - first));
    // Brute force over the whole rows of [first, first + count).
    const std::int64_t row = p.walk.rank ? p.walk.inner_extent() : 1;
    std::int64_t lo = INT64_MAX, hi = INT64_MIN;
    std::int64_t idx[sc::max_plan_rank] = {};
    for (std::int64_t u = 0; u < p.units(); ++u) {
      if (u / row >= first / row && u / row <= (first + count - 1) / row) {
        std::int64_t off = 0;
        for (int d = 0; d < p.walk.rank; ++d) off += idx[d] * p.walk.stride[d];
        lo = std::min(lo, off * p.walk.unit);
        hi = std::max(hi, (off + 1) * p.walk.unit);
      }
      for (int d = p.walk.rank - 1; d >= 0; --d) {
        if (++idx[d] < p.walk.extent[d]) break;
        idx[d] = 0;
      }
    }
    const sd::byte_span s = sd::output_range_span(p, first, count);
    SCOPED_TRACE(r.description + " range " + std::to_string(first) + "+" + std::to_string(count));
    ASSERT_EQ(s.begin, lo);
    ASSERT_EQ(s.end, hi);
    ++checked;
  }
  EXPECT_GT(checked, 1000);
}

// Both staged host-to-device pipelines simulated on host memory: the CPU gather into a slot that is
// then "sent" to its place, and the device gather from a slot holding only the chunk's span.
TEST(HostToDeviceSchedule, SimulatedPipelinesEqualTheReference) {
  auto& g = sc::test::rng();
  int device_gathers = 0;
  for (int trial = 0; trial < 400; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 5, trial % 5 == 0 ? 40 : 8);
    const sc::plan p = sc::make_plan(r.v);
    const auto* src = static_cast<const std::byte*>(r.v.data);
    const auto expected = sc::test::reference_copy(r.v);
    const std::size_t chunk_bytes = 16 + std::size_t(g() % 4096);
    // The device gather's chunks: copying each span alone must be enough for its output.
    const sd::h2d_schedule s = sd::device_gather_schedule(p, chunk_bytes, std::size_t(1) << 30, 1e9);
    sc::test::guarded_buffer dst(expected.size());
    std::int64_t covered = 0;
    for (const auto& c : s.chunks) {
      ASSERT_EQ(c.first, covered);
      covered += c.count;
      ASSERT_LE(std::size_t(c.span.bytes()), s.slot_bytes);
      // A "slot" with the span's bytes only (poison around it), the first element rebased into it.
      std::vector<std::byte> slot(std::size_t(c.span.bytes()) + 64, std::byte{0xEE});
      std::memcpy(slot.data() + 32, src + c.span.begin, std::size_t(c.span.bytes()));
      const std::byte* first_in_slot = slot.data() + 32 - c.span.begin;
      sd::gather_range(p, first_in_slot, c.first, c.count, dst.data() + c.first * p.walk.unit);
    }
    SCOPED_TRACE(r.description);
    if (p.units() > 0) {
      ASSERT_EQ(covered, p.units());
      ++device_gathers;
      ASSERT_TRUE(dst.canaries_intact());
      ASSERT_EQ(sc::test::first_difference(dst.contents(), expected), -1);
    }
  }
  EXPECT_GT(device_gathers, 250);  // the rest are empty views
}

TEST(HostToDeviceSchedule, DenseViewsFitAndSparseOnesFallBackToTheCpu) {
  // [..., ::-1] of the BGR example, 60 MB: every chunk reads about its own bytes.
  const sc::plan reverse = plan_of({N, C, H, W}, {C * H * W, H * W, W, -1}, sc::dtype_of<float>(), W - 1);
  const sd::h2d_schedule s =
      sd::device_gather_schedule(reverse, sd::staged_chunk_bytes(reverse), sd::transfer_policy::max_chunk_bytes, 1.25);
  ASSERT_FALSE(s.chunks.empty());
  EXPECT_LE(s.sent_bytes, std::int64_t(reverse.bytes) + std::int64_t(s.chunks.size()) * W * 4);
  EXPECT_LE(s.slot_bytes, sd::transfer_policy::max_chunk_bytes);
  // [..., ::2] reads twice its bytes: more than 1.25x, so the CPU gathers it.
  const sc::plan step2 = plan_of({N, C, H, W / 2}, {C * H * W, H * W, W, 2});
  EXPECT_TRUE(
      sd::device_gather_schedule(step2, sd::staged_chunk_bytes(step2), sd::transfer_policy::max_chunk_bytes, 1.25)
          .chunks.empty());
}
