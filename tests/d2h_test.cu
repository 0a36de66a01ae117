// tests/d2h_test.cu — copy_to_host / to_host / save_npy of device views on a real GPU (skipped where
// none is present): every strategy (forced and automatic) x view class x size (0 bytes, 1 element,
// 4 KiB, 1 MiB, 256 MiB), pinned and pageable destinations between canaries, several host threads on
// their own streams; bad input throws before any device work and leaves the destination untouched.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "d2h_executor.hpp"
#include "d2h_schedule.hpp"
#include "device_buffer.hpp"
#include "random_views.hpp"
#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/npy.hpp"
#include "stridecopy/pinned_buffer.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;

namespace {

/// A host destination between canaries: pinned (from pinned_buffer) or pageable.
class guarded_host {
 public:
  static constexpr std::size_t guard = 64;
  guarded_host(std::size_t bytes, bool pinned, std::size_t misalign = 0)
      : bytes_(bytes), misalign_(misalign),
        storage_(bytes + 2 * guard + misalign, pinned ? sc::pinned_buffer::kind::pinned : sc::pinned_buffer::kind::pageable) {
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
  sc::pinned_buffer storage_;
};

/// A host view's bytes uploaded; the same view over the device copy.
struct on_device {
  sc::test::device_bytes mem;
  sc::view v;
  on_device(const sc::view& hv, const std::vector<std::byte>& host) : mem(host.size()) {
    mem.upload(host);
    v = hv;
    v.space = sc::memory_space::device;
    v.data = mem.data() + (static_cast<const std::byte*>(hv.data) - host.data());
    v.allocation = sc::byte_range{mem.data(), mem.size()};
  }
};

/// The seed family at about `bytes` of float32 output (or exactly 0 bytes / 1 element).
struct view_class {
  const char* name;
  const char* index;  // applied to the NCHW base; "T" means transpose(0, 2, 3, 1)
};
const view_class classes[] = {
    {"contiguous", ""}, {"channel_reverse", "[:, ::-1, :, :]"}, {"row_reverse", "[..., ::-1]"},
    {"step2", "[..., ::2]"}, {"crop", "[:, :, 1:-1, 2:-2]"}, {"transpose", "T"},
};

shape_t shape_for(std::size_t bytes) {
  if (bytes == 0) return {4, 3, 0, 8};
  const double pixels = double(bytes) / 4.0 / 12.0;
  const std::int64_t w = std::max<std::int64_t>(8, std::int64_t(std::sqrt(pixels * 1.34)));
  return {4, 3, std::max<std::int64_t>(4, std::int64_t(pixels / double(w))), w};
}

sc::view apply(const sc::view& base, const view_class& c) {
  if (std::string(c.index) == "T") return sc::permute(base, {0, 2, 3, 1});
  return sc::slice(base, c.index);
}

void expect_d2h(const sc::view& hv, const std::vector<std::byte>& host, sc::strategy how, bool pinned,
                cudaStream_t stream = nullptr, std::size_t misalign = 0) {
  on_device d(hv, host);
  ASSERT_TRUE(d.mem.ok()) << "cudaMalloc of " << host.size() << " bytes failed";
  const auto expected = sc::test::reference_copy(hv);
  guarded_host dst(expected.size(), pinned, misalign);
  const sc::plan p = sc::make_plan(d.v);
  bool refused = false;
  try {
    const sc::strategy ran = sc::detail::copy_to_host_async(d.v, dst.data(), expected.size(), stream, {how}, {});
    if (how != sc::strategy::automatic && p.pat != sc::pattern::empty) EXPECT_EQ(ran, how);
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
    const shape_t shape = bytes == 4 ? shape_t{4, 3, 2, 2} : shape_for(bytes);
    auto host = sc::test::random_bytes(std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * 4);
    const sc::view base = sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape);
    for (const view_class& c : classes) {
      sc::view hv = apply(base, c);
      if (bytes == 4) hv = sc::slice(hv, "[1, 2, 1, 0]");  // one element, still strided
      for (sc::strategy how : {sc::strategy::automatic, sc::strategy::dma, sc::strategy::staged, sc::strategy::direct})
        for (bool pinned : {true, false}) {
          SCOPED_TRACE(std::string(c.name) + " " + std::to_string(bytes) + " bytes, " + sc::to_string(how) +
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
  const shape_t shape = shape_for(std::size_t(256) << 20);
  auto host = sc::test::random_bytes(std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * 4);
  const sc::view base = sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape);
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  for (const view_class& c : {classes[1], classes[2], classes[5]})
    for (sc::strategy how : {sc::strategy::automatic, sc::strategy::dma, sc::strategy::staged, sc::strategy::direct})
      for (bool pinned : {true, false}) {
        SCOPED_TRACE(std::string(c.name) + " 256 MiB, " + sc::to_string(how) + (pinned ? ", pinned" : ", pageable"));
        expect_d2h(apply(base, c), host, how, pinned, s);
        if (HasFatalFailure()) break;
      }
  (void)cudaStreamDestroy(s);
  EXPECT_LE(sc::detail::staging_scratch_bytes(), sc::detail::d2h_policy::max_scratch_bytes * 2)
      << "two streams' rings (default and s) at most";
}

TEST(DeviceToHost, RandomViewsAndElementSizes) {
  SKIP_WITHOUT_GPU();
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 300; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 6, trial % 10 == 0 ? 60 : 8);
    const sc::strategy how = std::array{sc::strategy::automatic, sc::strategy::staged, sc::strategy::direct}[trial % 3];
    SCOPED_TRACE(r.description + " " + sc::to_string(how));
    expect_d2h(r.v, r.storage, how, trial % 4 != 0, nullptr, std::size_t(g() % 8));
    if (HasFatalFailure()) return;
  }
}

TEST(DeviceToHost, SeveralHostThreadsOnTheirOwnStreams) {
  SKIP_WITHOUT_GPU();
  constexpr int threads = 4;
  std::vector<int> failures(threads, 0);
  auto worker = [&](int id) {
    cudaStream_t s = nullptr;
    if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) {
      failures[std::size_t(id)] = -1;
      return;
    }
    std::mt19937_64 g(std::uint64_t(id) * 7919 + 1);
    for (int i = 0; i < 30; ++i) {
      sc::test::random_view r = sc::test::make_random_view(g, 4, i % 5 == 0 ? 300 : 20);
      on_device d(r.v, r.storage);
      const auto expected = sc::test::reference_copy(r.v);
      sc::host_array out = sc::to_host(d.v, s, {i % 2 ? sc::strategy::staged : sc::strategy::automatic});
      if (out.bytes() != expected.size() || std::memcmp(out.data(), expected.data(), expected.size()) != 0)
        ++failures[std::size_t(id)];
    }
    (void)cudaStreamDestroy(s);
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (auto& t : pool) t.join();
  for (int t = 0; t < threads; ++t) EXPECT_EQ(failures[std::size_t(t)], 0) << "thread " << t;
}

TEST(DeviceToHost, AsyncReturnsBeforeTheCopyAndTheStreamOrdersIt) {
  SKIP_WITHOUT_GPU();
  const shape_t shape = shape_for(std::size_t(64) << 20);
  auto host = sc::test::random_bytes(std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * 4);
  on_device d(sc::slice(sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape), "[..., ::-1]"), host);
  const auto expected = sc::test::reference_copy(sc::slice(sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape), "[..., ::-1]"));
  sc::pinned_buffer out(expected.size());
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  cudaEvent_t after;
  ASSERT_EQ(cudaEventCreate(&after), cudaSuccess);
  sc::copy_to_host_async(d.v, out.data(), out.size(), s);
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
  const sc::view hv = sc::permute(sc::slice(sc::contiguous_view(host.data(), sc::float16, shape), "[:, ::-1, 5:, ::-3]"), {0, 2, 3, 1});
  on_device d(hv, host);
  const auto dir = std::filesystem::temp_directory_path() / ("stridecopy_d2h_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  sc::save_npy(dir / "device.npy", d.v);
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
  {  // too small
    guarded_host dst(4095, true);
    EXPECT_THROW(sc::copy_to_host(d.v, dst.data(), 4095), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
  {  // a device destination
    sc::test::guarded_device_buffer dst(4096);
    EXPECT_THROW(sc::copy_to_host(d.v, dst.data(), 4096), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
  {  // dma of a reversed view
    guarded_host dst(4096, true);
    EXPECT_THROW(sc::copy_to_host(d.v, dst.data(), 4096, cudaStream_t{}, {sc::strategy::dma}), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
  {  // a view leaving its allocation
    sc::view out = d.v;
    out.lay.shape[0] = 33;
    guarded_host dst(33 * 32 * 4, true);
    EXPECT_THROW(sc::copy_to_host(out, dst.data(), 33 * 32 * 4), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
}

TEST(DeviceToHost, WithoutADeviceTheErrorIsClearAndHostViewsStillCopy) {
  if (sc::cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  std::vector<float> src(16);
  for (int i = 0; i < 16; ++i) src[std::size_t(i)] = float(i);
  sc::view v = sc::flip(sc::contiguous_view(src.data(), sc::dtype_of<float>(), shape_t{4, 4}), 1);
  std::vector<float> out(16, -1.0f);
  sc::copy_to_host(v, out.data(), 64);  // a host view: the CPU copies it
  EXPECT_EQ(out[0], 3.0f);
  EXPECT_EQ(out[15], 12.0f);
  v.space = sc::memory_space::device;
  std::vector<float> untouched(16, -1.0f);
  try {
    sc::copy_to_host(v, untouched.data(), 64);
    FAIL() << "no error without a device";
  } catch (const sc::cuda_error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
  for (float f : untouched) EXPECT_EQ(f, -1.0f);
  // to_host of a host view needs no device either, and says whether it got pinned memory.
  const sc::host_array a = sc::to_host(sc::flip(sc::contiguous_view(src.data(), sc::dtype_of<float>(), shape_t{16}), 0));
  EXPECT_FALSE(a.is_pinned());
  EXPECT_EQ(static_cast<const float*>(a.data())[0], 15.0f);
}
