// tests/choose_test.cpp — the strategy chooser on the CPU, over a table of cases: every direction,
// destination kind, mapping and capture state, automatic and forced, and the environment variable.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "core/choose.hpp"
#include "stridecopy/error.hpp"

namespace sc = stridecopy;
namespace sd = stridecopy::detail;
using shape_t = std::vector<std::int64_t>;
using sc::memory_kind;
using sc::strategy;

namespace {

const std::byte* fake() { return reinterpret_cast<const std::byte*>(std::uintptr_t(0x10000000)); }
sc::plan plan_of(shape_t shape, shape_t stride, sc::dtype t = sc::dtype_of<float>(), std::int64_t offset = 0,
                 memory_kind source = memory_kind::device, memory_kind destination = memory_kind::pinned) {
  return sc::make_plan(sc::make_view(fake() + offset * t.itemsize, t, shape, stride, source), destination);
}
constexpr std::int64_t N = 4, C = 3, H = 966, W = 1296;

sd::copy_facts facts(memory_kind source, memory_kind destination, bool mapped = true, bool capturing = false) {
  sd::copy_facts f;
  f.source = source;
  f.destination = destination;
  f.destination_mapped = mapped;
  f.capturing = capturing;
  return f;
}

std::string reason(const sc::plan& p, const sd::copy_facts& f, std::optional<strategy> forced) {
  try {
    (void)sd::choose(p, f, forced);
  } catch (const sc::invalid_view& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Choose, DeviceToHostTable) {
  const sc::plan channel_reverse = plan_of({N, C, H, W}, {C * H * W, -H * W, W, 1}, sc::dtype_of<float>(), 2 * H * W);
  const sc::plan contiguous = plan_of({N, C, H, W}, {C * H * W, H * W, W, 1});
  const sc::plan row_reverse = plan_of({N, C, H, W}, {C * H * W, H * W, W, -1}, sc::dtype_of<float>(), W - 1);
  const sc::plan nhwc = plan_of({N, H, W, C}, {C * H * W, W, 1, H * W});
  const sc::plan small = plan_of({32, 32}, {32, -1}, sc::dtype_of<float>(), 31);
  const sc::plan many_runs = plan_of({5000, 20000}, {40000, 1}, sc::dtype_of<std::uint8_t>());
  const sc::plan empty = plan_of({3, 0}, {1, 1});
  const auto pinned = facts(memory_kind::device, memory_kind::pinned);
  const auto unmapped = facts(memory_kind::device, memory_kind::pinned, false);
  const auto pageable = facts(memory_kind::device, memory_kind::pageable, false);
  const auto captured = facts(memory_kind::device, memory_kind::pinned, true, true);
  const auto captured_unmapped = facts(memory_kind::device, memory_kind::pinned, false, true);
  struct row {
    const char* what;
    const sc::plan& p;
    sd::copy_facts f;
    strategy expected;
  };
  const row table[] = {
      {"channel reverse: 12 runs of 5 MB to the copy engine", channel_reverse, pinned, strategy::dma},
      {"contiguous: one copy", contiguous, pinned, strategy::dma},
      {"row reverse, 60 MB: staged", row_reverse, pinned, strategy::staged},
      {"NCHW to NHWC: staged", nhwc, pinned, strategy::staged},
      {"a small gather into mapped pinned memory: direct", small, pinned, strategy::direct},
      {"a small gather into unmapped pinned memory: staged", small, unmapped, strategy::staged},
      {"pageable destinations bounce through the ring", contiguous, pageable, strategy::staged},
      {"too many runs for one batch: staged", many_runs, pinned, strategy::staged},
      {"under capture, a gather into mapped memory: direct", row_reverse, captured, strategy::direct},
      {"under capture, runs into unmapped memory: dma", channel_reverse, captured_unmapped, strategy::dma},
      {"an empty view: nothing runs", empty, pinned, strategy::none},
  };
  for (const row& r : table) EXPECT_EQ(sd::choose(r.p, r.f, std::nullopt), r.expected) << r.what;
  // Nothing can capture a gather into unmapped memory, or anything into pageable memory.
  EXPECT_NE(reason(row_reverse, captured_unmapped, std::nullopt).find("cannot be captured"), std::string::npos);
  EXPECT_NE(
      reason(contiguous, facts(memory_kind::device, memory_kind::pageable, false, true), std::nullopt).find("pageable"),
      std::string::npos);
}

TEST(Choose, ForcedStrategiesAreHonouredOrRefusedWithAReason) {
  const sc::plan rows = plan_of({8, 100}, {200, 1});
  const sc::plan reversed = plan_of({8, 100}, {100, -1}, sc::dtype_of<float>(), 99);
  const auto pinned = facts(memory_kind::device, memory_kind::pinned);
  const auto pageable = facts(memory_kind::device, memory_kind::pageable, false);
  EXPECT_EQ(sd::choose(rows, pinned, strategy::dma), strategy::dma);
  EXPECT_EQ(sd::choose(rows, pageable, strategy::dma), strategy::dma);
  EXPECT_EQ(sd::choose(reversed, pinned, strategy::staged), strategy::staged);
  EXPECT_EQ(sd::choose(reversed, pinned, strategy::direct), strategy::direct);
  EXPECT_NE(reason(reversed, pinned, strategy::dma).find("inner stride is -1"), std::string::npos);
  EXPECT_NE(reason(reversed, pageable, strategy::direct).find("pageable"), std::string::npos);
  EXPECT_NE(
      reason(reversed, facts(memory_kind::device, memory_kind::pinned, false), strategy::direct).find("not mapped"),
      std::string::npos);
  EXPECT_NE(reason(reversed, facts(memory_kind::device, memory_kind::pinned, true, true), strategy::staged)
                .find("CUDA graph"),
            std::string::npos);
  EXPECT_NE(reason(reversed, pinned, strategy::cpu).find("dma, staged or direct"), std::string::npos);
  EXPECT_NE(reason(reversed, pinned, strategy::none).find("empty"), std::string::npos);
}

TEST(Choose, HostToHostRunsOnTheCpuOnly) {
  const sc::plan p =
      plan_of({8, 100}, {100, -1}, sc::dtype_of<float>(), 99, memory_kind::pageable, memory_kind::pageable);
  for (const auto dst : {memory_kind::pageable, memory_kind::pinned}) {
    const auto f = facts(memory_kind::pageable, dst, false);
    EXPECT_EQ(sd::choose(p, f, std::nullopt), strategy::cpu);
    EXPECT_EQ(sd::choose(p, f, strategy::cpu), strategy::cpu);
    EXPECT_NE(reason(p, f, strategy::staged).find("only the CPU"), std::string::npos);
  }
}

TEST(Choose, DeviceToDeviceIsOneCopyOrTheGatherKernels) {
  const auto f = facts(memory_kind::device, memory_kind::device);
  const sc::plan contiguous = plan_of({N, C, H, W}, {C * H * W, H * W, W, 1}, sc::dtype_of<float>(), 0,
                                      memory_kind::device, memory_kind::device);
  const sc::plan nhwc = plan_of({N, H, W, C}, {C * H * W, W, 1, H * W}, sc::dtype_of<float>(), 0, memory_kind::device,
                                memory_kind::device);
  EXPECT_EQ(sd::choose(contiguous, f, std::nullopt), strategy::dma);
  EXPECT_EQ(sd::choose(nhwc, f, std::nullopt), strategy::direct);
  EXPECT_EQ(sd::choose(contiguous, f, strategy::direct), strategy::direct);
  EXPECT_NE(reason(nhwc, f, strategy::dma).find("contiguous"), std::string::npos);
  EXPECT_NE(reason(nhwc, f, strategy::staged).find("dma or direct"), std::string::npos);
}

TEST(Choose, HostToDeviceTable) {
  const auto h2d = [](shape_t shape, shape_t stride, std::int64_t offset = 0, sc::dtype t = sc::dtype_of<float>()) {
    return plan_of(shape, stride, t, offset, memory_kind::pageable, memory_kind::device);
  };
  const sc::plan channel_reverse = h2d({N, C, H, W}, {C * H * W, -H * W, W, 1}, 2 * H * W);
  const sc::plan contiguous = h2d({N, C, H, W}, {C * H * W, H * W, W, 1});
  const sc::plan row_reverse = h2d({N, C, H, W}, {C * H * W, H * W, W, -1}, W - 1);
  const sc::plan small = h2d({32, 32}, {32, -1}, 31);
  const sc::plan empty = h2d({3, 0}, {1, 1});
  const auto source = [](memory_kind k, bool mapped, bool capturing = false) {
    sd::copy_facts f;
    f.source = k;
    f.destination = memory_kind::device;
    f.source_mapped = mapped;
    f.capturing = capturing;
    return f;
  };
  const auto pinned = source(memory_kind::pinned, true), unmapped = source(memory_kind::pinned, false);
  const auto pageable = source(memory_kind::pageable, false);
  struct row {
    const char* what;
    const sc::plan& p;
    sd::copy_facts f;
    strategy expected;
  };
  const row table[] = {
      {"channel reverse from pinned memory: 12 runs to the copy engine", channel_reverse, pinned, strategy::dma},
      {"contiguous from pinned memory: one copy", contiguous, pinned, strategy::dma},
      {"row reverse, 60 MB, pinned: staged", row_reverse, pinned, strategy::staged},
      {"a small gather from mapped pinned memory: direct", small, pinned, strategy::direct},
      {"a small gather from unmapped pinned memory: staged", small, unmapped, strategy::staged},
      {"pageable sources are gathered into pinned slots, even contiguous ones", contiguous, pageable, strategy::staged},
      {"under capture, a gather from mapped memory: direct", row_reverse, source(memory_kind::pinned, true, true),
       strategy::direct},
      {"under capture, runs from unmapped memory: dma", channel_reverse, source(memory_kind::pinned, false, true),
       strategy::dma},
      {"an empty view: nothing runs", empty, pinned, strategy::none},
  };
  for (const row& r : table) EXPECT_EQ(sd::choose(r.p, r.f, std::nullopt), r.expected) << r.what;
  EXPECT_NE(reason(contiguous, source(memory_kind::pageable, false, true), std::nullopt).find("pageable"),
            std::string::npos);
  EXPECT_NE(reason(row_reverse, source(memory_kind::pinned, false, true), std::nullopt).find("cannot be captured"),
            std::string::npos);
  // Forced: honoured where it can run, refused with the reason where it cannot.
  EXPECT_EQ(sd::choose(channel_reverse, pageable, strategy::dma), strategy::dma);
  EXPECT_EQ(sd::choose(row_reverse, pinned, strategy::direct), strategy::direct);
  EXPECT_EQ(sd::choose(channel_reverse, pinned, strategy::staged), strategy::staged);
  EXPECT_NE(reason(row_reverse, pinned, strategy::dma).find("inner stride is -1"), std::string::npos);
  EXPECT_NE(reason(row_reverse, pageable, strategy::direct).find("pageable"), std::string::npos);
  EXPECT_NE(reason(row_reverse, unmapped, strategy::direct).find("not mapped"), std::string::npos);
  EXPECT_NE(reason(row_reverse, pinned, strategy::cpu).find("dma, staged or direct"), std::string::npos);
}

TEST(Choose, EnvironmentVariableForcesAStrategy) {
  ASSERT_EQ(setenv("STRIDECOPY_STRATEGY", "direct", 1), 0);
  EXPECT_EQ(sd::strategy_from_environment(), strategy::direct);
  ASSERT_EQ(setenv("STRIDECOPY_STRATEGY", "staged", 1), 0);
  EXPECT_EQ(sd::strategy_from_environment(), strategy::staged);
  ASSERT_EQ(setenv("STRIDECOPY_STRATEGY", "fast", 1), 0);
  EXPECT_THROW((void)sd::strategy_from_environment(), sc::invalid_argument);
  ASSERT_EQ(setenv("STRIDECOPY_STRATEGY", "automatic", 1), 0);
  EXPECT_EQ(sd::strategy_from_environment(), std::nullopt);
  ASSERT_EQ(unsetenv("STRIDECOPY_STRATEGY"), 0);
  EXPECT_EQ(sd::strategy_from_environment(), std::nullopt);
}
