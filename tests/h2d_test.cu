// tests/h2d_test.cu — host-to-device copies on a real GPU (skipped where none is present): every
// strategy (forced and automatic, both staged gathers) x view class x size (0 bytes, 1 element, 4 KiB,
// 1 MiB, 256 MiB) x pinned and pageable sources, into canary-guarded device destinations; the round
// trip host view -> device -> host on 2,000 random views; several host threads on their own streams;
// to_device and load_npy_to_device; bad input throws before any transfer and leaves the destination
// untouched.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "device_buffer.hpp"
#include "dispatch.hpp"
#include "random_views.hpp"
#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/npy.hpp"
#include "test_util.hpp"
#include "view_classes.hpp"

namespace sc = stridecopy;
using sc::test::apply;
using sc::test::view_class;
namespace sd = stridecopy::detail;
using shape_t = std::vector<std::int64_t>;

namespace {

/// Host bytes, pinned (from the pool) or pageable, holding `data`.
struct host_source {
  sc::host_buffer memory;
  host_source(const std::vector<std::byte>& data, bool pinned)
      : memory(data.size(), pinned ? sc::memory_kind::pinned : sc::memory_kind::pageable) {
    if (!data.empty()) std::memcpy(memory.data(), data.data(), data.size());
  }
  [[nodiscard]] const std::byte* base() const { return static_cast<const std::byte*>(memory.data()); }
};

/// The plan of host view `hv` (over `host`) as a host-to-device plan over any allocation like `host`.
sc::plan h2d_plan(sc::view hv, const std::vector<std::byte>& host) {
  hv.allocation = sc::byte_range{host.data(), host.size()};
  return sc::make_plan(hv, sc::memory_kind::device);
}

struct way {
  sc::test::asked_strategy how;
  sd::h2d_gather gather;
};
const way ways[] = {{std::nullopt, sd::h2d_gather::automatic},
                    {sc::strategy::dma, sd::h2d_gather::automatic},
                    {sc::strategy::staged, sd::h2d_gather::cpu},
                    {sc::strategy::staged, sd::h2d_gather::device},
                    {sc::strategy::direct, sd::h2d_gather::automatic}};

/// Copies hv (over `host`) from a pinned or pageable copy of `host` into a guarded device buffer the
/// way `w` says; a way that cannot run must refuse before anything is written.
void expect_h2d(const sc::view& hv, const std::vector<std::byte>& host, way w, bool pinned,
                cudaStream_t stream = nullptr, std::size_t misalign = 0) {
  const host_source src(host, pinned);
  const auto expected = sc::test::reference_copy(hv);
  sc::test::guarded_device_buffer dst(expected.size(), misalign);
  sd::exec_options exec;
  exec.staged_gather = w.gather;
  bool refused = false;
  try {
    const sc::strategy ran = sd::execute(h2d_plan(hv, host), src.base(), dst.data(), dst.size(), stream, {w.how}, exec);
    if (expected.empty()) {
      EXPECT_EQ(ran, sc::strategy::none);
    } else if (w.how) {
      EXPECT_EQ(ran, *w.how);
    }
  } catch (const sc::invalid_view& e) {
    refused = true;  // dma of a gather, direct or a device gather from pageable memory, ...
    EXPECT_TRUE(w.how.has_value()) << e.what();
  }
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  if (refused) {
    EXPECT_TRUE(dst.untouched());
    return;
  }
  bool canaries = false;
  const auto got = dst.contents(canaries);
  ASSERT_TRUE(canaries);
  ASSERT_EQ(sc::test::first_difference(got, expected), -1);
}

}  // namespace

TEST(HostToDevice, EveryStrategyViewClassSizeAndSource) {
  SKIP_WITHOUT_GPU();
  for (std::size_t bytes : {std::size_t(0), std::size_t(4), std::size_t(4096), std::size_t(1) << 20}) {
    const shape_t shape = bytes == 4 ? shape_t{4, 3, 4, 6} : sc::test::nchw_shape_for(bytes);
    const auto host = sc::test::random_bytes(std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * 4);
    const sc::view base = sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape);
    for (const view_class& c : sc::test::view_classes) {
      sc::view hv = apply(base, c);
      if (bytes == 4) hv = sc::test::one_element(hv);  // one element, still strided
      for (const way& w : ways)
        for (bool pinned : {true, false}) {
          SCOPED_TRACE(std::string(c.name) + " " + std::to_string(bytes) + " bytes, " + sc::test::name_of(w.how) +
                       (w.gather == sd::h2d_gather::cpu      ? " (cpu gather)"
                        : w.gather == sd::h2d_gather::device ? " (device gather)"
                                                             : "") +
                       (pinned ? ", pinned" : ", pageable"));
          expect_h2d(hv, host, w, pinned, nullptr, bytes % 3 * 4);
          if (HasFatalFailure()) return;
        }
    }
  }
}

TEST(HostToDevice, TwoHundredFiftySixMebibytesThroughEveryStrategy) {
  SKIP_WITHOUT_GPU();
  std::size_t free_bytes = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  if (free_bytes < (std::size_t(1) << 30)) GTEST_SKIP() << "needs 1 GiB of device memory";
  // 16 chunks of 16 MiB through 4 slots; under the simulator 72 MiB: 5 chunks, the slots still wrap.
  const std::size_t big = sc::test::simulated ? std::size_t(72) << 20 : std::size_t(256) << 20;
  const shape_t shape = sc::test::nchw_shape_for(big);
  const auto host = sc::test::random_bytes(std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * 4);
  const sc::view base = sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape);
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  for (const view_class& c : {sc::test::view_classes[1], sc::test::view_classes[2], sc::test::view_classes[5]})
    for (const way& w : ways)
      for (bool pinned : {true, false}) {
        SCOPED_TRACE(std::string(c.name) + " " + std::to_string(big >> 20) + " MiB, " + sc::test::name_of(w.how) +
                     (pinned ? ", pinned" : ", pageable"));
        expect_h2d(apply(base, c), host, w, pinned, s);
        if (HasFatalFailure()) break;
      }
  (void)cudaStreamDestroy(s);
}

// Host view -> device -> host: the device copy of a view, brought back, is the view's C-order bytes.
TEST(HostToDevice, RoundTripOfTwoThousandRandomViews) {
  SKIP_WITHOUT_GPU();
  auto& g = sc::test::rng();
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  for (int trial = 0; trial < 2000; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 6, trial % 10 == 0 ? 60 : 8);
    SCOPED_TRACE(r.description);
    const sc::device_array on_device = sc::to_device(r.v, s);
    const sc::host_array back = sc::to_host(on_device.as_view(), s);
    const auto expected = sc::test::reference_copy(r.v);
    ASSERT_EQ(back.bytes(), expected.size());
    ASSERT_EQ(std::memcmp(back.data(), expected.data(), expected.size()), 0);
  }
  (void)cudaStreamDestroy(s);
}

TEST(HostToDevice, SeveralHostThreadsOnTheirOwnStreams) {
  SKIP_WITHOUT_GPU();
  sc::test::expect_threads_on_their_own_streams(4, 3, [](std::mt19937_64& g, cudaStream_t s) {
    int wrong = 0;
    for (int i = 0; i < 30; ++i) {
      sc::test::random_view r = sc::test::make_random_view(g, 4, i % 5 == 0 ? 300 : 20);
      const host_source pinned(r.storage, i % 2 == 0);
      sc::view v = r.v;
      v.data = pinned.base() + (static_cast<const std::byte*>(r.v.data) - r.storage.data());
      v.allocation = sc::byte_range{pinned.base(), r.storage.size()};
      const sc::device_array d = sc::to_device(v, s);
      const sc::host_array back = sc::to_host(d.as_view(), s);
      const auto expected = sc::test::reference_copy(r.v);
      wrong += back.bytes() != expected.size() || std::memcmp(back.data(), expected.data(), expected.size()) != 0;
    }
    return wrong;
  });
}

TEST(HostToDevice, LoadNpyToDeviceReadsTheIndexOnly) {
  SKIP_WITHOUT_GPU();
  const auto host = sc::test::random_bytes(std::size_t(2 * 3 * 50 * 70) * 2);
  const sc::view file = sc::contiguous_view(host.data(), sc::float16, {2, 3, 50, 70});
  const auto dir = std::filesystem::temp_directory_path() / ("stridecopy_h2d_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  sc::save_npy(dir / "a.npy", file);
  const sc::device_array d = sc::load_npy_to_device(dir / "a.npy", "[:, ::-1, 5:, ::-3]");
  const sc::host_array back = sc::to_host(d.as_view());
  const auto expected = sc::test::reference_copy(sc::slice(file, "[:, ::-1, 5:, ::-3]"));
  ASSERT_EQ(back.bytes(), expected.size());
  EXPECT_EQ(std::memcmp(back.data(), expected.data(), expected.size()), 0);
  std::filesystem::remove_all(dir);
}

TEST(HostToDevice, BadInputThrowsBeforeAnyTransfer) {
  SKIP_WITHOUT_GPU();
  const auto host = sc::test::random_bytes(4096);
  const sc::view hv = sc::slice(sc::contiguous_view(host.data(), sc::dtype_of<float>(), {32, 32}), "[:, ::-1]");
  {  // too small
    sc::test::guarded_device_buffer dst(4095);
    EXPECT_THROW(sc::copy(hv, dst.data(), dst.size()), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
  {  // a host destination is a host copy, not an error
    std::vector<std::byte> out(4096, std::byte{0xA5});
    sc::copy(hv, out.data(), out.size());
    EXPECT_EQ(out, sc::test::reference_copy(hv));
  }
  {  // dma of a reversed view, direct from pageable memory
    sc::test::guarded_device_buffer dst(4096);
    EXPECT_THROW(sc::copy(hv, dst.data(), 4096, cudaStream_t{}, {sc::strategy::dma}), sc::invalid_view);
    EXPECT_THROW(sc::copy(hv, dst.data(), 4096, cudaStream_t{}, {sc::strategy::direct}), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
  {  // a view leaving its allocation
    sc::view out = hv;
    out.layout.extent[0] = 33;
    sc::test::guarded_device_buffer dst(33 * 32 * 4);
    EXPECT_THROW(sc::copy(out, dst.data(), dst.size()), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
}

TEST(HostToDevice, WithoutADeviceTheErrorIsClear) {
  if (sc::cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  std::vector<float> host(16, 1.0f);
  const sc::view v = sc::flip(sc::contiguous_view(host.data(), sc::dtype_of<float>(), {4, 4}), 1);
  std::vector<float> out(16, -1.0f);
  try {
    (void)sc::to_device(v);
    FAIL() << "no error without a device";
  } catch (const sc::cuda_error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
  try {
    sc::copy(v, sc::make_view(out.data(), sc::dtype_of<float>(), {4, 4}, {}, sc::memory_kind::device));
    FAIL() << "no error without a device";
  } catch (const sc::cuda_error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
  for (float f : out) EXPECT_EQ(f, -1.0f);
}
