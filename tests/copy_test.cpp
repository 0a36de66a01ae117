// tests/copy_test.cpp — the front door on the CPU: plans reused on new allocations (from several
// threads, on less aligned pointers), the checks every call makes before any work, and the strategy
// each call reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/device_array.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/index.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;

namespace {

using sc::test::message_of;

}  // namespace

TEST(Copy, APlanFromALayoutOnlyViewCopiesAnyAllocationOfThatShape) {
  const shape_t shape{4, 3, 10, 17};
  const sc::plan p =
      sc::make_plan(sc::slice(sc::contiguous_view(nullptr, sc::dtype_of<float>(), shape), "[:, ::-1, 1:, ::-2]"));
  for (int i = 0; i < 10; ++i) {
    // Fresh bytes each time, sometimes only 4-byte aligned (the unit narrows to fit).
    const std::size_t shift = std::size_t(i % 3) * 4;
    auto bytes = sc::test::random_bytes(4 * 3 * 10 * 17 * 4 + shift);
    const sc::view real =
        sc::slice(sc::contiguous_view(bytes.data() + shift, sc::dtype_of<float>(), shape), "[:, ::-1, 1:, ::-2]");
    const auto expected = sc::test::reference_copy(real);
    sc::test::guarded_buffer dst(expected.size(), std::size_t(i % 4));
    EXPECT_EQ(sc::copy(p, bytes.data() + shift, dst.data(), dst.size()), sc::strategy::cpu);
    ASSERT_TRUE(dst.canaries_intact());
    ASSERT_EQ(sc::test::first_difference(dst.contents(), expected), -1) << "allocation " << i;
  }
}

TEST(Copy, OnePlanFromSeveralThreadsAtOnce) {
  const shape_t shape{2, 64, 48, 3};
  const sc::plan p =
      sc::make_plan(sc::slice(sc::contiguous_view(nullptr, sc::dtype_of<std::uint8_t>(), shape), "[..., ::-1]"));
  std::vector<int> failures(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto bytes = sc::test::random_bytes(2 * 64 * 48 * 3);
        const auto expected = sc::test::reference_copy(
            sc::slice(sc::contiguous_view(bytes.data(), sc::dtype_of<std::uint8_t>(), shape), "[..., ::-1]"));
        std::vector<std::byte> out(expected.size());
        (void)sc::copy(p, bytes.data(), out.data(), out.size());
        failures[std::size_t(t)] += out != expected;
      }
    });
  for (auto& t : threads) t.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

TEST(Copy, EveryPointerIsCheckedBeforeAnyWork) {
  auto src = sc::test::random_bytes(4 * 64);
  const sc::plan p = sc::make_plan(sc::flip(sc::contiguous_view(nullptr, sc::dtype_of<float>(), {8, 8}), 1));
  sc::test::guarded_buffer dst(256);
  EXPECT_NE(message_of([&] { sc::copy(p, nullptr, dst.data(), dst.size()); }).find("source pointer is null"),
            std::string::npos);
  EXPECT_NE(message_of([&] { sc::copy(p, src.data(), dst.data(), 255); }).find("holds 255 bytes; the copy needs 256"),
            std::string::npos);
  EXPECT_NE(message_of([&] { sc::copy(p, src.data(), nullptr, 256); }).find("destination pointer is null"),
            std::string::npos);
  // A view walking backwards from an address near 0 would wrap around the address space.
  const sc::plan backwards = sc::make_plan(
      sc::make_view(reinterpret_cast<const void*>(std::uintptr_t(64)), sc::dtype_of<float>(), {100}, {-1}));
  EXPECT_NE(message_of([&] {
              sc::copy(backwards, reinterpret_cast<const void*>(std::uintptr_t(64)), dst.data(), 400);
            }).find("before address 0"),
            std::string::npos);
  const sc::plan forwards = sc::make_plan(sc::make_view(src.data(), sc::dtype_of<float>(), {100}));
  EXPECT_NE(message_of([&] {
              sc::copy(forwards, reinterpret_cast<const void*>(std::numeric_limits<std::uintptr_t>::max() - 64),
                       dst.data(), 400);
            }).find("end of the address space"),
            std::string::npos);
  sc::copy_options options;
  for (const int threads : {-1, sc::max_cpu_threads + 1}) {
    options.threads = threads;
    EXPECT_NE(message_of([&] {
                sc::copy(p, src.data(), dst.data(), dst.size(), sc::stream_ref{}, options);
              }).find("threads = " + std::to_string(threads)),
              std::string::npos);
  }
  options = {};
  options.how = sc::strategy::staged;
  EXPECT_NE(message_of([&] {
              sc::copy(p, src.data(), dst.data(), dst.size(), sc::stream_ref{}, options);
            }).find("only the CPU"),
            std::string::npos);
  EXPECT_TRUE(dst.untouched());
}

TEST(Copy, EachCallReportsWhatRan) {
  auto src = sc::test::random_bytes(4 * 64);
  const sc::view v = sc::flip(sc::contiguous_view(src.data(), sc::dtype_of<float>(), {8, 8}), 0);
  sc::test::guarded_buffer dst(256);
  EXPECT_EQ(sc::copy(v, dst.data(), dst.size()), sc::strategy::cpu);
  EXPECT_EQ(sc::copy(sc::slice(v, "[3:3]"), nullptr, 0), sc::strategy::none);
  EXPECT_EQ(sc::copy(sc::make_plan(sc::slice(v, "[:0]")), nullptr, nullptr, 0), sc::strategy::none);
  EXPECT_EQ(sc::test::first_difference(dst.contents(), sc::test::reference_copy(v)), -1);
}

TEST(Copy, DeviceCopiesWithoutADeviceSaySo) {
  if (sc::cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  std::vector<float> host(16);
  const sc::plan p = sc::make_plan(sc::contiguous_view(nullptr, sc::dtype_of<float>(), {4, 4}, sc::memory_kind::device),
                                   sc::memory_kind::pinned);
  std::vector<float> out(16, -1.0f);
  // A build without CUDA says so; a CUDA build on a machine without a device says that.
  const std::string why = STRIDECOPY_HAS_CUDA ? "no CUDA device is available" : "stridecopy was built without CUDA";
  EXPECT_NE(message_of([&] { sc::copy(p, host.data(), out.data(), 64); }).find(why), std::string::npos);
  for (float f : out) EXPECT_EQ(f, -1.0f);
  EXPECT_NE(message_of([] { (void)sc::device_buffer(64); }).find(why), std::string::npos);
  EXPECT_NE(message_of([&] {
              (void)sc::to_device(sc::contiguous_view(host.data(), sc::dtype_of<float>(), {4, 4}));
            }).find(why),
            std::string::npos);
  EXPECT_THROW(sc::device_buffer(64), sc::cuda_error);
}

// NumPy's 64 dims: a view with every one of them, 20 of extent 2 in a shuffled order (no two merge),
// through the CPU gather and a plan reused on a second allocation.
TEST(Copy, ViewsOfSixtyFourDims) {
  auto& g = sc::test::rng();
  const int dims = 20;
  auto bytes = sc::test::random_bytes(std::size_t(1) << dims);
  std::vector<int> axes(dims);
  for (int d = 0; d < dims; ++d) axes[std::size_t(d)] = d;
  // Neighbours whose strides are 2s and s would merge: shuffle until none are.
  const auto merges = [&] {
    for (std::size_t d = 0; d + 1 < axes.size(); ++d)
      if (axes[d] == axes[d + 1] + 1) return true;
    return false;
  };
  do std::shuffle(axes.begin(), axes.end(), g);
  while (merges());
  shape_t shape(64, 1), stride(64, 7);  // extent-1 dims with odd strides, dropped by the plan
  for (int d = 0; d < dims; ++d) {
    shape[std::size_t(3 * d)] = 2;
    stride[std::size_t(3 * d)] = std::int64_t(1) << axes[std::size_t(d)];
  }
  sc::view v = sc::make_view(bytes.data(), sc::dtype_of<std::uint8_t>(), shape, stride);
  v.allocation = sc::byte_range{bytes.data(), bytes.size()};
  ASSERT_EQ(v.rank(), 64);
  const auto expected = sc::test::reference_copy(v);
  sc::test::guarded_buffer dst(expected.size());
  sc::copy(v, dst.data(), dst.size(), {}, {.how = sc::strategy::cpu});
  ASSERT_TRUE(dst.canaries_intact());
  ASSERT_EQ(sc::test::first_difference(dst.contents(), expected), -1);
  // The same plan on other bytes.
  const sc::plan p = sc::make_plan(v);
  EXPECT_EQ(p.walk.rank, dims);
  auto other = sc::test::random_bytes(bytes.size());
  sc::view w = v;
  w.data = other.data();
  w.allocation = sc::byte_range{other.data(), other.size()};
  std::vector<std::byte> out(expected.size());
  (void)sc::copy(p, other.data(), out.data(), out.size());
  EXPECT_EQ(out, sc::test::reference_copy(w));
  // A 65th dim is refused, with NumPy's limit in the message.
  EXPECT_THROW((void)sc::slice(v, "[None]"), sc::invalid_index);
}

// Every numeric or enumerated argument out of range is a stridecopy::error, before any work.
TEST(Copy, ArgumentsOutOfRangeAreErrorsNotCrashes) {
  auto src = sc::test::random_bytes(256);
  const sc::view v = sc::contiguous_view(src.data(), sc::dtype_of<float>(), {8, 8});
  sc::test::guarded_buffer dst(256);
  sc::copy_options bad_strategy;
  bad_strategy.how = static_cast<sc::strategy>(77);
  EXPECT_THROW(sc::copy(v, dst.data(), dst.size(), sc::stream_ref{}, bad_strategy), sc::invalid_argument);
  bad_strategy.how = sc::strategy::none;  // what a copy returns, not a way to copy
  EXPECT_THROW(sc::copy(v, dst.data(), dst.size(), sc::stream_ref{}, bad_strategy), sc::invalid_argument);
  sc::view bad_kind = v;
  bad_kind.memory = static_cast<sc::memory_kind>(9);
  EXPECT_THROW((void)sc::make_plan(bad_kind), sc::invalid_argument);
  EXPECT_THROW((void)sc::make_plan(v, static_cast<sc::memory_kind>(3)), sc::invalid_argument);
  EXPECT_THROW(sc::host_buffer(64, sc::memory_kind::device), sc::invalid_argument);
  EXPECT_THROW(sc::host_buffer(std::numeric_limits<std::size_t>::max()), sc::invalid_argument);
  // An allocation that cannot be had is a stridecopy::error too (out_of_memory), not std::bad_alloc.
  EXPECT_THROW(sc::host_buffer(std::size_t(1) << 62, sc::memory_kind::pageable), sc::out_of_memory);
  EXPECT_TRUE(dst.untouched());
}
