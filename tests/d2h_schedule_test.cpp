// tests/d2h_schedule_test.cpp — the pure parts of device-to-host copies, on the CPU: strategy choice
// and its errors, the staged chunks and ring slots (simulated on host memory against the reference),
// DMA runs and 2D copies (applied to host memory against the reference).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "d2h_schedule.hpp"
#include "host_executor.hpp"
#include "random_views.hpp"
#include "reference.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
namespace sd = stridecopy::detail;
using shape_t = std::vector<std::int64_t>;

namespace {
const void* fake(std::uintptr_t at = 0x10000000) { return reinterpret_cast<const void*>(at); }
sc::plan plan_of(shape_t shape, shape_t stride, sc::dtype t = sc::dtype_of<float>(), std::int64_t offset = 0) {
  return sc::make_plan(sc::make_view(static_cast<const std::byte*>(fake()) + offset * t.itemsize, t, shape, stride,
                                     sc::memory_space::device));
}
constexpr std::int64_t N = 4, C = 3, H = 966, W = 1296;
}  // namespace

TEST(D2HStrategy, SeedFamilyChoices) {
  const auto pinned = sd::host_memory::pinned;
  // [:, ::-1, :, :]: 12 runs of 5 MB -> the copy engine, no kernel.
  EXPECT_EQ(sd::choose_strategy(plan_of({N, C, H, W}, {C * H * W, -H * W, W, 1}, sc::dtype_of<float>(), 2 * H * W), pinned,
                                sc::strategy::automatic),
            sc::strategy::dma);
  // contiguous -> one copy.
  EXPECT_EQ(sd::choose_strategy(plan_of({N, C, H, W}, {C * H * W, H * W, W, 1}), pinned, sc::strategy::automatic),
            sc::strategy::dma);
  // [..., ::-1] (60 MB), transpose, step: staged.
  EXPECT_EQ(sd::choose_strategy(plan_of({N, C, H, W}, {C * H * W, H * W, W, -1}, sc::dtype_of<float>(), W - 1), pinned,
                                sc::strategy::automatic),
            sc::strategy::staged);
  EXPECT_EQ(sd::choose_strategy(plan_of({N, H, W, C}, {C * H * W, W, 1, H * W}), pinned, sc::strategy::automatic),
            sc::strategy::staged);
  // A small gather: one kernel straight into pinned memory.
  EXPECT_EQ(sd::choose_strategy(plan_of({32, 32}, {32, -1}, sc::dtype_of<float>(), 31), pinned, sc::strategy::automatic),
            sc::strategy::direct);
  // Pageable destinations bounce through the staged ring.
  EXPECT_EQ(sd::choose_strategy(plan_of({N, C, H, W}, {C * H * W, H * W, W, 1}), sd::host_memory::pageable,
                                sc::strategy::automatic),
            sc::strategy::staged);
  // Too many runs for one batch: staged.
  EXPECT_EQ(sd::choose_strategy(plan_of({5000, 20000}, {40000, 1}, sc::dtype_of<std::uint8_t>()), pinned, sc::strategy::automatic),
            sc::strategy::staged);
}

TEST(D2HStrategy, ForcedStrategiesAreHonouredOrRefusedWithAReason) {
  const sc::plan rows = plan_of({8, 100}, {200, 1});
  const sc::plan reversed = plan_of({8, 100}, {100, -1}, sc::dtype_of<float>(), 99);
  EXPECT_EQ(sd::choose_strategy(rows, sd::host_memory::pinned, sc::strategy::dma), sc::strategy::dma);
  EXPECT_EQ(sd::choose_strategy(rows, sd::host_memory::pageable, sc::strategy::dma), sc::strategy::dma);
  EXPECT_EQ(sd::choose_strategy(reversed, sd::host_memory::pinned, sc::strategy::staged), sc::strategy::staged);
  EXPECT_EQ(sd::choose_strategy(reversed, sd::host_memory::pinned, sc::strategy::direct), sc::strategy::direct);
  try {
    (void)sd::choose_strategy(reversed, sd::host_memory::pinned, sc::strategy::dma);
    FAIL() << "dma of a reversed view accepted";
  } catch (const sc::invalid_view& e) {
    EXPECT_NE(std::string(e.what()).find("inner stride is -1"), std::string::npos) << e.what();
  }
  try {
    (void)sd::choose_strategy(reversed, sd::host_memory::pageable, sc::strategy::direct);
    FAIL() << "direct into pageable memory accepted";
  } catch (const sc::invalid_view& e) {
    EXPECT_NE(std::string(e.what()).find("pageable"), std::string::npos) << e.what();
  }
}

TEST(D2HStrategy, EnvironmentVariableForcesAStrategy) {
  ASSERT_EQ(setenv("STRIDECOPY_STRATEGY", "direct", 1), 0);
  EXPECT_EQ(sd::strategy_from_environment(), sc::strategy::direct);
  ASSERT_EQ(setenv("STRIDECOPY_STRATEGY", "staged", 1), 0);
  EXPECT_EQ(sd::strategy_from_environment(), sc::strategy::staged);
  ASSERT_EQ(setenv("STRIDECOPY_STRATEGY", "fast", 1), 0);
  EXPECT_THROW((void)sd::strategy_from_environment(), sc::invalid_view);
  ASSERT_EQ(unsetenv("STRIDECOPY_STRATEGY"), 0);
  EXPECT_EQ(sd::strategy_from_environment(), sc::strategy::automatic);
}

TEST(D2HSchedule, ChunksTileTheOutputAndSlotsWaitForTheirPreviousChunk) {
  const sc::plan p = plan_of({N, C, H, W}, {C * H * W, H * W, W, -1}, sc::dtype_of<float>(), W - 1);
  const auto s = sd::make_staged_schedule(p, sd::staged_chunk_bytes(p), sd::d2h_policy::slots);
  ASSERT_FALSE(s.chunks.empty());
  EXPECT_LE(s.slot_bytes * std::size_t(s.slots), sd::d2h_policy::max_scratch_bytes);
  std::int64_t next = 0;
  for (std::size_t k = 0; k < s.chunks.size(); ++k) {
    const auto& c = s.chunks[k];
    EXPECT_EQ(c.first, next);
    EXPECT_EQ(c.count % W, c.first + c.count == p.units() ? c.count % W : 0) << "chunk " << k << " splits a row";
    EXPECT_LE(std::size_t(c.count * p.unit), s.slot_bytes);
    EXPECT_EQ(c.slot, int(k % std::size_t(s.slots)));
    EXPECT_EQ(c.reuse_after, k >= std::size_t(s.slots) ? std::int64_t(k) - s.slots : -1);
    next += c.count;
  }
  EXPECT_EQ(next, p.units());
}

TEST(D2HSchedule, ScratchIsBoundedWhateverTheTensorSize) {
  for (std::int64_t gib : {1, 4, 16}) {
    const sc::plan p = plan_of({gib << 28}, {-1}, sc::dtype_of<float>(), (gib << 28) - 1);
    const auto s = sd::make_staged_schedule(p, sd::staged_chunk_bytes(p), sd::d2h_policy::slots);
    EXPECT_LE(s.slot_bytes * std::size_t(s.slots), sd::d2h_policy::max_scratch_bytes) << gib << " GiB";
    EXPECT_EQ(s.chunks.size(), std::size_t(gib << 30) / s.slot_bytes);
  }
}

TEST(D2HSchedule, TransposedChunksHoldWholeOutputRows) {
  const sc::plan p = plan_of({N, H, W, C}, {C * H * W, W, 1, H * W});
  ASSERT_EQ(p.pat, sc::pattern::transposed);
  const auto s = sd::make_staged_schedule(p, 1 << 20, 4);
  for (const auto& c : s.chunks) {
    EXPECT_EQ(c.first % C, 0);
    EXPECT_EQ(c.count % C, 0);
  }
}

// Runs the schedule on host memory: gather each chunk into its slot, then "drain" the slot into the
// destination, in the order the pipeline would; the result must be the reference's bytes.
TEST(D2HSchedule, SimulatedPipelineEqualsTheReference) {
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 400; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 5, trial % 5 == 0 ? 40 : 8);
    const sc::plan p = sc::make_plan(r.v);
    const std::size_t max_chunk = 16 + std::size_t(g() % 4096);
    const auto s = sd::make_staged_schedule(p, max_chunk, 1 + int(g() % 4));
    const auto expected = sc::test::reference_copy(r.v);
    std::vector<std::vector<std::byte>> ring(std::size_t(std::max(1, s.slots)), std::vector<std::byte>(s.slot_bytes));
    sc::test::guarded_buffer dst(expected.size());
    for (const auto& c : s.chunks) {
      ASSERT_LE(std::size_t(c.count * p.unit), s.slot_bytes);
      sd::gather_host_range(p, c.first, c.count, ring[std::size_t(c.slot)].data());
      std::memcpy(dst.data() + c.first * p.unit, ring[std::size_t(c.slot)].data(), std::size_t(c.count * p.unit));
    }
    SCOPED_TRACE(r.description);
    ASSERT_TRUE(dst.canaries_intact());
    ASSERT_EQ(sc::test::first_difference(dst.contents(), expected), -1);
  }
}

TEST(D2HDma, RunsAppliedToHostMemoryEqualTheReference) {
  auto& g = sc::test::rng();
  int checked = 0;
  for (int trial = 0; trial < 2000 && checked < 300; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 5, 9);
    const sc::plan p = sc::make_plan(r.v);
    if (p.pat == sc::pattern::empty || (p.rank > 0 && p.inner_stride() != 1)) continue;
    ++checked;
    const auto expected = sc::test::reference_copy(r.v);
    sc::test::guarded_buffer dst(expected.size());
    for (const auto& run : sd::dma_runs(p)) std::memcpy(dst.data() + run.dst_offset, p.src + run.src_offset, run.bytes);
    if (const auto d = sd::dma_as_2d(p); d.possible) {  // the 2D form must say the same
      for (std::size_t row = 0; row < d.height; ++row) {
        ASSERT_EQ(std::memcmp(expected.data() + row * d.width, p.src + d.src_offset + std::int64_t(row * d.src_pitch), d.width), 0);
      }
    }
    SCOPED_TRACE(r.description);
    ASSERT_TRUE(dst.canaries_intact());
    ASSERT_EQ(sc::test::first_difference(dst.contents(), expected), -1);
  }
  EXPECT_GE(checked, 100);
}

TEST(D2HDma, SeedChannelReverseIsTwelveRunsAndACropIsOne2DCopy) {
  const sc::plan p = plan_of({N, C, H, W}, {C * H * W, -H * W, W, 1}, sc::dtype_of<float>(), 2 * H * W);
  const auto runs = sd::dma_runs(p);
  ASSERT_EQ(runs.size(), 12u);
  EXPECT_EQ(runs[0].src_offset, 0);
  EXPECT_EQ(runs[1].src_offset, -H * W * 4);
  EXPECT_EQ(runs[3].src_offset, C * H * W * 4);
  EXPECT_EQ(runs[1].dst_offset, H * W * 4);
  EXPECT_FALSE(sd::dma_as_2d(p).possible);
  // x[0, 0, 8:-8, 8:-8]: rows of W - 16 floats, W apart.
  const sc::plan crop = plan_of({H - 16, W - 16}, {W, 1});
  const auto d = sd::dma_as_2d(crop);
  ASSERT_TRUE(d.possible);
  EXPECT_EQ(d.width, std::size_t(W - 16) * 4);
  EXPECT_EQ(d.src_pitch, std::size_t(W) * 4);
  EXPECT_EQ(d.height, std::size_t(H - 16));
  // Rows walked backwards cannot be a 2D copy (no negative pitch).
  EXPECT_FALSE(sd::dma_as_2d(plan_of({H, W}, {-W, 1}, sc::dtype_of<float>(), (H - 1) * W)).possible);
}
