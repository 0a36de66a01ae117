// tests/d2h_test.cu — copy / to_host / save_npy of device views to the host on a real GPU (skipped where
// none is present): every strategy (forced and automatic) x view class x size (0 bytes, 1 element,
// 4 KiB, 1 MiB, 256 MiB), pinned and pageable destinations between canaries, several host threads on
// their own streams, one stream handle shared by two threads (a pageable bounce and a .npy write
// through the same ring), a host view ordered on a stream; bad input throws before any device work
// and leaves the destination untouched.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/choose.hpp"
#include "cuda/staging.hpp"
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
using shape_t = std::vector<std::int64_t>;

namespace {

/// A host destination between canaries: pinned (from host_buffer) or pageable.
class guarded_host {
 public:
  static constexpr std::size_t guard = 64;
  guarded_host(std::size_t bytes, bool pinned, std::size_t misalign = 0)
      : bytes_(bytes),
        misalign_(misalign),
        storage_(bytes + 2 * guard + misalign, pinned ? sc::memory_kind::pinned : sc::memory_kind::pageable) {
    auto* b = static_cast<std::byte*>(storage_.data());
    std::memset(b, 0x5C, storage_.size());
    std::memset(data(), 0xA5, bytes);
  }
  std::byte* data() { return static_cast<std::byte*>(storage_.data()) + guard + misalign_; }
  bool is_pinned() const { return storage_.is_pinned(); }
  bool canaries_intact() const {
    const auto* b = static_cast<const std::byte*>(storage_.data());
    for (std::size_t i = 0; i < storage_.size(); ++i) {
      const bool inside = i >= guard + misalign_ && i < guard + misalign_ + bytes_;
      if (!inside && b[i] != std::byte{0x5C}) return false;
    }
    return true;
  }
  std::vector<std::byte> contents() { return {data(), data() + bytes_}; }
  bool untouched() {
    for (std::size_t i = 0; i < bytes_; ++i)
      if (data()[i] != std::byte{0xA5}) return false;
    return canaries_intact();
  }

 private:
  std::size_t bytes_, misalign_;
  sc::host_buffer storage_;
};

/// A host view's bytes uploaded, and the plan of the same view over the device copy: the plan keeps
/// the view's offset from the start of `host`, and runs on the device copy's base.
struct on_device {
  sc::test::device_bytes mem;
  sc::plan p;
  on_device(sc::view hv, const std::vector<std::byte>& host) : mem(host.size()) {
    mem.upload(host);
    hv.memory = sc::memory_kind::device;
    hv.allocation = sc::byte_range{host.data(), host.size()};
    p = sc::make_plan(hv, sc::memory_kind::pinned);
  }
  /// The same view as a device view over the device copy (for the view-taking functions).
  [[nodiscard]] sc::view view_of(const sc::view& hv, const std::vector<std::byte>& host) {
    return sc::make_view(mem.data() + (static_cast<const std::byte*>(hv.data) - host.data()), hv.type, hv.shape(),
                         hv.strides(), sc::memory_kind::device);
  }
};

void expect_d2h(const sc::view& hv, const std::vector<std::byte>& host, sc::test::asked_strategy how, bool pinned,
                cudaStream_t stream = nullptr, std::size_t misalign = 0) {
  on_device d(hv, host);
  const auto expected = sc::test::reference_copy(hv);
  guarded_host dst(expected.size(), pinned, misalign);
  bool refused = false;
  try {
    const sc::strategy ran = sc::copy_async(d.p, d.mem.data(), dst.data(), expected.size(), stream, {how});
    if (d.p.walk.pattern == sc::pattern::empty) {
      EXPECT_EQ(ran, sc::strategy::none);
    } else if (how) {
      EXPECT_EQ(ran, *how);
    }
  } catch (const sc::invalid_view& e) {
    // Only a forced strategy that cannot run may refuse, and then nothing is written.
    refused = true;
    EXPECT_TRUE(how == sc::strategy::dma || (how == sc::strategy::direct && !dst.is_pinned())) << e.what();
  }
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  ASSERT_TRUE(dst.canaries_intact());
  if (refused) {
    EXPECT_TRUE(dst.untouched());
    return;
  }
  ASSERT_EQ(sc::test::first_difference(dst.contents(), expected), -1);
}

}  // namespace

TEST(DeviceToHost, EveryStrategyViewClassSizeAndDestination) {
  SKIP_WITHOUT_GPU();
  for (std::size_t bytes : {std::size_t(0), std::size_t(4), std::size_t(4096), std::size_t(1) << 20}) {
    const shape_t shape = bytes == 4 ? shape_t{4, 3, 4, 6} : sc::test::nchw_shape_for(bytes);
    auto host = sc::test::random_bytes(std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * 4);
    const sc::view base = sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape);
    for (const view_class& c : sc::test::view_classes) {
      sc::view hv = apply(base, c);
      if (bytes == 4) hv = sc::test::one_element(hv);  // one element, still strided
      for (const sc::test::asked_strategy how : sc::test::every_asked_strategy)
        for (bool pinned : {true, false}) {
          SCOPED_TRACE(std::string(c.name) + " " + std::to_string(bytes) + " bytes, " + sc::test::name_of(how) +
                       (pinned ? ", pinned" : ", pageable"));
          expect_d2h(hv, host, how, pinned, nullptr, bytes % 3);
          if (HasFatalFailure()) return;
        }
    }
  }
}

TEST(DeviceToHost, TwoHundredFiftySixMebibytesThroughEveryStrategy) {
  SKIP_WITHOUT_GPU();
  std::size_t free_bytes = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  if (free_bytes < (std::size_t(1) << 30)) GTEST_SKIP() << "needs 1 GiB of device memory";
  // 16 chunks of 16 MiB through 4 slots; under the simulator 72 MiB: 5 chunks, the slots still wrap.
  const std::size_t big = sc::test::simulated ? std::size_t(72) << 20 : std::size_t(256) << 20;
  const shape_t shape = sc::test::nchw_shape_for(big);
  auto host = sc::test::random_bytes(std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * 4);
  const sc::view base = sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape);
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  for (const view_class& c : {sc::test::view_classes[1], sc::test::view_classes[2], sc::test::view_classes[5]})
    for (const sc::test::asked_strategy how : sc::test::every_asked_strategy)
      for (bool pinned : {true, false}) {
        SCOPED_TRACE(std::string(c.name) + " " + std::to_string(big >> 20) + " MiB, " + sc::test::name_of(how) +
                     (pinned ? ", pinned" : ", pageable"));
        expect_d2h(apply(base, c), host, how, pinned, s);
        if (HasFatalFailure()) break;
      }
  (void)cudaStreamDestroy(s);
  EXPECT_LE(sc::detail::staging_scratch_bytes(), sc::detail::transfer_policy::max_scratch_bytes * 2)
      << "two streams' rings (default and s) at most";
}

TEST(DeviceToHost, RandomViewsAndElementSizes) {
  SKIP_WITHOUT_GPU();
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 300; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 6, trial % 10 == 0 ? 60 : 8);
    const sc::test::asked_strategy how =
        std::array<sc::test::asked_strategy, 3>{std::nullopt, sc::strategy::staged, sc::strategy::direct}[trial % 3];
    SCOPED_TRACE(r.description + " " + sc::test::name_of(how));
    expect_d2h(r.v, r.storage, how, trial % 4 != 0, nullptr, std::size_t(g() % 8));
    if (HasFatalFailure()) return;
  }
}

TEST(DeviceToHost, SeveralHostThreadsOnTheirOwnStreams) {
  SKIP_WITHOUT_GPU();
  sc::test::expect_threads_on_their_own_streams(4, 1, [](std::mt19937_64& g, cudaStream_t s) {
    int wrong = 0;
    for (int i = 0; i < 30; ++i) {
      sc::test::random_view r = sc::test::make_random_view(g, 4, i % 5 == 0 ? 300 : 20);
      on_device d(r.v, r.storage);
      const auto expected = sc::test::reference_copy(r.v);
      sc::host_array out = sc::to_host(d.view_of(r.v, r.storage), s,
                                       {i % 2 ? sc::test::asked_strategy(sc::strategy::staged) : std::nullopt});
      wrong += out.bytes() != expected.size() || std::memcmp(out.data(), expected.data(), expected.size()) != 0;
    }
    return wrong;
  });
}

TEST(DeviceToHost, AsyncReturnsBeforeTheCopyAndTheStreamOrdersIt) {
  SKIP_WITHOUT_GPU();
  const shape_t shape = sc::test::nchw_shape_for(std::size_t(64) << 20);
  auto host = sc::test::random_bytes(std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * 4);
  const sc::view hv = sc::slice(sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape), "[..., ::-1]");
  on_device d(hv, host);
  const auto expected = sc::test::reference_copy(hv);
  sc::host_buffer out(expected.size());
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  cudaEvent_t after;
  ASSERT_EQ(cudaEventCreate(&after), cudaSuccess);
  sc::copy_async(d.view_of(hv, host), out.data(), out.size(), s);
  ASSERT_EQ(cudaEventRecord(after, s), cudaSuccess);
  ASSERT_EQ(cudaEventSynchronize(after), cudaSuccess);  // work after the copy on the stream sees it done
  EXPECT_EQ(std::memcmp(out.data(), expected.data(), expected.size()), 0);
  (void)cudaEventDestroy(after);
  (void)cudaStreamDestroy(s);
}

TEST(DeviceToHost, SaveNpyOfADeviceViewEqualsTheHostSave) {
  SKIP_WITHOUT_GPU();
  const shape_t shape{2, 3, 300, 517};
  auto host = sc::test::random_bytes(std::size_t(2 * 3 * 300 * 517) * 2);
  const sc::view hv =
      sc::permute(sc::slice(sc::contiguous_view(host.data(), sc::float16, shape), "[:, ::-1, 5:, ::-3]"), {0, 2, 3, 1});
  on_device d(hv, host);
  const auto dir = std::filesystem::temp_directory_path() / ("stridecopy_d2h_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  sc::save_npy(dir / "device.npy", d.view_of(hv, host));
  sc::save_npy(dir / "host.npy", hv);
  const sc::host_array a = sc::load_npy(dir / "device.npy"), b = sc::load_npy(dir / "host.npy");
  ASSERT_EQ(a.bytes(), b.bytes());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.bytes()), 0);
  std::filesystem::remove_all(dir);
}

TEST(DeviceToHost, BadInputThrowsBeforeAnyDeviceWork) {
  SKIP_WITHOUT_GPU();
  auto host = sc::test::random_bytes(4096);
  const sc::view hv = sc::slice(sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape_t{32, 32}), "[:, ::-1]");
  on_device d(hv, host);
  const sc::view dv = sc::slice(
      sc::contiguous_view(d.mem.data(), sc::dtype_of<float>(), {32, 32}, sc::memory_kind::device), "[:, ::-1]");
  {  // too small
    guarded_host dst(4095, true);
    EXPECT_THROW(sc::copy(dv, dst.data(), 4095), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
  {  // a device destination is a device-to-device copy, not an error
    sc::test::device_bytes dst(4096);
    sc::copy(dv, dst.data(), 4096);
    EXPECT_EQ(dst.download(), sc::test::reference_copy(hv));  // dv is hv's bytes on the device
  }
  {  // dma of a reversed view
    guarded_host dst(4096, true);
    EXPECT_THROW(sc::copy(dv, dst.data(), 4096, cudaStream_t{}, {sc::strategy::dma}), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
  {  // a view leaving its allocation
    sc::view out = dv;
    out.layout.extent[0] = 33;
    guarded_host dst(33 * 32 * 4, true);
    EXPECT_THROW(sc::copy(out, dst.data(), 33 * 32 * 4), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
}

// Two threads share one stream handle, so one staging ring: a pageable copy (whose host slots are
// read by bounce host functions) and a .npy write (whose host slots are read by this thread) take
// turns on it; neither may refill a host slot its predecessor is still reading.
TEST(DeviceToHost, APageableCopyAndANpyWriteShareOneStreamsRing) {
  SKIP_WITHOUT_GPU();
  const shape_t shape = sc::test::nchw_shape_for(std::size_t(24) << 20);
  auto host = sc::test::random_bytes(std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * 4);
  const sc::view hv = sc::slice(sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape), "[..., ::-1]");
  on_device d(hv, host);
  const sc::view dv = d.view_of(hv, host);
  const auto expected = sc::test::reference_copy(hv);
  const auto dir = std::filesystem::temp_directory_path() / ("stridecopy_ring_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  cudaStream_t shared = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&shared, cudaStreamNonBlocking), cudaSuccess);
  int bad_copies = 0, bad_files = 0;
  std::thread copier([&] {
    for (int i = 0; i < 8; ++i) {
      std::vector<std::byte> out(expected.size(), std::byte{0xA5});  // pageable
      sc::copy(dv, out.data(), out.size(), shared);
      bad_copies += out != expected;
    }
  });
  std::thread saver([&] {
    for (int i = 0; i < 8; ++i) {
      std::string name = "v";  // appended, not "v" + ...: a false GCC 12 -Wrestrict warning
      name += std::to_string(i);
      name += ".npy";
      const auto path = dir / name;
      sc::save_npy(path, dv, shared);
      const sc::host_array back = sc::load_npy(path);
      bad_files += back.bytes() != expected.size() || std::memcmp(back.data(), expected.data(), expected.size()) != 0;
    }
  });
  copier.join();
  saver.join();
  EXPECT_EQ(bad_copies, 0);
  EXPECT_EQ(bad_files, 0);
  (void)cudaStreamDestroy(shared);
  std::filesystem::remove_all(dir);
}

// A host view copied with an async call is gathered in stream order, after earlier work on the
// stream that writes its source: here a host function that waits until the call has returned, then
// overwrites the source. A copy made at once would see the old values.
TEST(DeviceToHost, AHostViewIsCopiedInStreamOrder) {
  SKIP_WITHOUT_GPU();
  struct source {
    std::vector<float> values = std::vector<float>(1024, 1.0f);
    std::atomic<bool> go{false};
  } src;
  const sc::view v = sc::flip(sc::contiguous_view(src.values.data(), sc::dtype_of<float>(), {1024}), 0);
  sc::host_buffer out(4096);
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  auto write_later = [](void* p) {
    auto* from = static_cast<source*>(p);
    while (!from->go.load()) std::this_thread::yield();
    for (auto& x : from->values) x = 2.0f;
  };
  ASSERT_EQ(cudaLaunchHostFunc(s, write_later, &src), cudaSuccess);
  EXPECT_EQ(sc::copy_async(v, out.data(), out.size(), s), sc::strategy::cpu);
  src.go = true;
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  for (int i = 0; i < 1024; ++i) ASSERT_EQ(static_cast<const float*>(out.data())[i], 2.0f) << i;
  (void)cudaStreamDestroy(s);
}

TEST(DeviceToHost, WithoutADeviceTheErrorIsClearAndHostViewsStillCopy) {
  if (sc::cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  std::vector<float> src(16);
  for (int i = 0; i < 16; ++i) src[std::size_t(i)] = float(i);
  sc::view v = sc::flip(sc::contiguous_view(src.data(), sc::dtype_of<float>(), shape_t{4, 4}), 1);
  std::vector<float> out(16, -1.0f);
  EXPECT_EQ(sc::copy(v, out.data(), 64), sc::strategy::cpu);  // a host view: the CPU copies it
  EXPECT_EQ(out[0], 3.0f);
  EXPECT_EQ(out[15], 12.0f);
  v.memory = sc::memory_kind::device;
  std::vector<float> untouched(16, -1.0f);
  try {
    sc::copy(v, untouched.data(), 64);
    FAIL() << "no error without a device";
  } catch (const sc::cuda_error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
  for (float f : untouched) EXPECT_EQ(f, -1.0f);
  // to_host of a host view needs no device either, and says whether it got pinned memory.
  const sc::host_array a =
      sc::to_host(sc::flip(sc::contiguous_view(src.data(), sc::dtype_of<float>(), shape_t{16}), 0));
  EXPECT_FALSE(a.is_pinned());
  EXPECT_EQ(static_cast<const float*>(a.data())[0], 15.0f);
}
