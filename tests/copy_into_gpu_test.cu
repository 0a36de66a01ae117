// tests/copy_into_gpu_test.cu — copy(src, dst) into any writable view where a device is one side or
// both (skipped where none is present; run on the CUDA simulator in CI): random pairs against
// np.copyto's rule in every direction — device to device (overlaps included), device to a strided
// pinned or pageable host destination, host to a strided device destination — batches of frames into
// the slots of one pinned batch, a batch whose pairs depend on each other, and device destinations
// refused before any work.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "copy_pairs.hpp"
#include "device_buffer.hpp"
#include "dispatch.hpp"
#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/index.hpp"
#include "test_util.hpp"

#ifdef STRIDECOPY_SIMULATOR
#include "stridecopy_sim/control.h"
#endif

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;

namespace {

/// "[k]" (built without operator+, which GCC 12's -Wrestrict misreads).
std::string index_text(std::int64_t k) {
  std::string s = std::to_string(k);
  s.insert(s.begin(), '[');
  s.push_back(']');
  return s;
}

/// Calls of a CUDA function so far, where the simulator counts them; -1 on a card.
long calls(const char* api) {
#ifdef STRIDECOPY_SIMULATOR
  return stridecopy_sim_calls(api);
#else
  (void)api;
  return -1;
#endif
}

/// Fewer pairs on the simulator, where every kernel is replayed on the CPU.
int pairs_for(int on_a_card) { return sc::test::simulated ? on_a_card / 4 : on_a_card; }

/// View v of the image at `from`, moved to the same offset in the image at `to`, in memory `kind`.
sc::view moved(sc::view v, const std::byte* from, const std::byte* to, sc::memory_kind kind) {
  v.data = to + (static_cast<const std::byte*>(v.data) - from);
  v.memory = kind;
  return v;
}
sc::mutable_view moved(const sc::mutable_view& v, const std::byte* from, std::byte* to, sc::memory_kind kind) {
  return sc::assume_writable(moved(static_cast<const sc::view&>(v), from, to, kind));
}

/// Where each side of a direction lives.
struct direction {
  const char* name;
  sc::memory_kind src, dst;
};

/// Runs random pairs with the source in memory `d.src` and the destination in `d.dst`: each side is
/// its own copy of the pair's bytes (one device buffer for device to device, so that the two may
/// overlap), the reference runs on the host image, and the whole destination image is compared.
void run_direction(const direction& d, std::uint64_t seed, int pairs, std::set<sc::strategy>& ran) {
  std::mt19937_64 g(seed);
  const bool same = d.src == sc::memory_kind::device && d.dst == sc::memory_kind::device;
  for (int i = 0; i < pairs; ++i) {
    sc::test::random_pair r = sc::test::make_random_pair(g, 5, i % 10 == 0 ? 40 : 7);
    std::vector<std::byte> expected = r.memory;
    sc::test::reference_copyto(expected, r.memory.data(), r.src, r.dst);
    const std::size_t n = r.memory.size();
    sc::test::device_bytes device_src(n), device_dst(same ? 1 : n);
    sc::host_buffer pinned_src(n), pinned_dst(n);
    std::vector<std::byte> pageable_src = r.memory, pageable_dst = r.memory;
    std::byte* src_image = nullptr;
    std::byte* dst_image = nullptr;
    switch (d.src) {
      case sc::memory_kind::device: src_image = device_src.data(), device_src.upload(r.memory); break;
      case sc::memory_kind::pinned:
        src_image = static_cast<std::byte*>(pinned_src.data()), std::memcpy(src_image, r.memory.data(), n);
        break;
      case sc::memory_kind::pageable: src_image = pageable_src.data(); break;
    }
    switch (d.dst) {
      case sc::memory_kind::device:
        if (same) {
          dst_image = src_image;
        } else {
          dst_image = device_dst.data();
          device_dst.upload(r.memory);
        }
        break;
      case sc::memory_kind::pinned:
        dst_image = static_cast<std::byte*>(pinned_dst.data()), std::memcpy(dst_image, r.memory.data(), n);
        break;
      case sc::memory_kind::pageable: dst_image = pageable_dst.data(); break;
    }
    cudaStream_t stream = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    // Every third pair between host and device staged, whatever its size (the chooser stages pinned
    // copies above 1 MiB only).
    sc::copy_options options;
    if (d.src != d.dst && i % 3 == 2) options.how = sc::strategy::staged;
    const sc::strategy how = sc::copy_async(moved(r.src, r.memory.data(), src_image, d.src),
                                            moved(r.dst, r.memory.data(), dst_image, d.dst), stream, options);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
    std::vector<std::byte> got(n);
    if (d.dst == sc::memory_kind::device)
      got = same ? device_src.download() : device_dst.download();
    else
      std::memcpy(got.data(), dst_image, n);
    ran.insert(how);
    EXPECT_EQ(sc::test::first_difference(got, expected), -1)
        << d.name << " pair " << i << " (" << sc::to_string(how) << "): " << r.description;
    if (::testing::Test::HasFailure()) break;
  }
  std::string names;
  for (sc::strategy s : ran) names += std::string(" ") + sc::to_string(s);
  std::printf("%s: strategies that ran:%s\n", d.name, names.c_str());
}

/// run_direction, then: every strategy in `expected` ran for some pair.
void check_direction(const direction& d, std::uint64_t seed, int pairs, std::set<sc::strategy> expected) {
  std::set<sc::strategy> ran;
  run_direction(d, seed, pairs, ran);
  for (sc::strategy s : expected) EXPECT_TRUE(ran.count(s)) << d.name << ": no pair ran " << sc::to_string(s);
}

}  // namespace

TEST(CopyIntoGpu, DeviceToDeviceRandomPairs) {
  SKIP_WITHOUT_GPU();
  check_direction({"device to device", sc::memory_kind::device, sc::memory_kind::device}, 31, pairs_for(600),
                  {sc::strategy::dma, sc::strategy::direct});
}

TEST(CopyIntoGpu, DeviceToStridedPinnedHostRandomPairs) {
  SKIP_WITHOUT_GPU();
  check_direction({"device to pinned", sc::memory_kind::device, sc::memory_kind::pinned}, 32, pairs_for(400),
                  {sc::strategy::dma, sc::strategy::direct, sc::strategy::staged});
}

TEST(CopyIntoGpu, DeviceToStridedPageableHostRandomPairs) {
  SKIP_WITHOUT_GPU();
  check_direction({"device to pageable", sc::memory_kind::device, sc::memory_kind::pageable}, 33, pairs_for(400),
                  {sc::strategy::staged});
}

TEST(CopyIntoGpu, PinnedHostToStridedDeviceRandomPairs) {
  SKIP_WITHOUT_GPU();
  check_direction({"pinned to device", sc::memory_kind::pinned, sc::memory_kind::device}, 34, pairs_for(400),
                  {sc::strategy::dma, sc::strategy::direct, sc::strategy::staged});
}

TEST(CopyIntoGpu, PageableHostToStridedDeviceRandomPairs) {
  SKIP_WITHOUT_GPU();
  check_direction({"pageable to device", sc::memory_kind::pageable, sc::memory_kind::device}, 35, pairs_for(400),
                  {sc::strategy::staged});
}

TEST(CopyIntoGpu, FramesIntoTheSlotsOfOnePinnedBatch) {
  SKIP_WITHOUT_GPU();
  // N CHW uint8 frames on the device, each written BGR-reversed and transposed to HWC into slot k of
  // one pinned NHWC batch, in one batch call; then the same with contiguous HWC frames (copy-engine
  // runs, one batched transfer).
  const std::int64_t n = 8, c = 3, h = 20, w = 33;
  const auto u8 = sc::dtype_of<std::uint8_t>();
  const auto frames = sc::test::random_bytes(std::size_t(n * c * h * w));
  sc::test::device_bytes device(frames.size());
  device.upload(frames);
  sc::host_array batch(u8, {n, h, w, c});
  std::memset(batch.data(), 0, batch.bytes());
  const sc::mutable_view slots = batch.as_view();
  std::vector<sc::copy_pair> pairs;
  for (std::int64_t k = 0; k < n; ++k) {
    const sc::view chw = sc::make_view(device.data() + k * c * h * w, u8, {c, h, w}, {}, sc::memory_kind::device);
    pairs.push_back({sc::permute(sc::flip(chw, 0), {1, 2, 0}), sc::slice(slots, index_text(k))});
  }
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  const long launches = calls("cudaLaunchKernelEx");
  sc::copy(pairs, stream);
  // One kernel family, so one launch (counted where the simulator counts).
  if (sc::test::simulated) {
    EXPECT_EQ(calls("cudaLaunchKernelEx") - launches, 1);
  }
  const auto* out = static_cast<const std::uint8_t*>(batch.data());
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x)
        for (std::int64_t ch = 0; ch < c; ++ch)
          ASSERT_EQ(out[((k * h + y) * w + x) * c + ch],
                    std::uint8_t(frames[std::size_t(((k * c + (c - 1 - ch)) * h + y) * w + x)]))
              << k << " " << y << " " << x << " " << ch;
  // Contiguous frames into every other slot of a batch twice as long.
  sc::host_array wide(u8, {2 * n, c, h, w});
  std::memset(wide.data(), 0, wide.bytes());
  const sc::mutable_view every_other = sc::slice(wide.as_view(), "[::2]");
  pairs.clear();
  for (std::int64_t k = 0; k < n; ++k)
    pairs.push_back({sc::make_view(device.data() + k * c * h * w, u8, {c, h, w}, {}, sc::memory_kind::device),
                     sc::slice(every_other, index_text(k))});
  const long batched = calls("cudaMemcpyBatchAsync"), single = calls("cudaMemcpyAsync");
  sc::copy(pairs, stream);
  // Contiguous runs on both sides: one batched transfer for all the frames.
  if (sc::test::simulated) {
    EXPECT_EQ(calls("cudaMemcpyBatchAsync") - batched, 1);
    EXPECT_EQ(calls("cudaMemcpyAsync") - single, 0);
  }
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  const auto* wout = static_cast<const std::uint8_t*>(wide.data());
  for (std::int64_t k = 0; k < 2 * n; ++k)
    for (std::int64_t i = 0; i < c * h * w; ++i)
      ASSERT_EQ(wout[k * c * h * w + i], k % 2 ? 0 : std::uint8_t(frames[std::size_t(k / 2 * c * h * w + i)]))
          << "slot " << k << " byte " << i;
}

TEST(CopyIntoGpu, ABatchOnTheDeviceRunsAsIfOneAfterAnother) {
  SKIP_WITHOUT_GPU();
  // b = a reversed; c = b's first half; a = c repeated twice: each pair reads what the one before it
  // wrote, so the batch must not run them together. Several sizes, so that the kernels have many
  // blocks (run in a random order on the simulator).
  for (const std::int64_t len : {64, 4096, 100000}) {
    const auto t = sc::dtype_of<std::int32_t>();
    std::vector<std::int32_t> host(std::size_t(len * 5 / 2));
    for (std::size_t i = 0; i < host.size(); ++i) host[i] = std::int32_t(i);
    sc::test::device_bytes mem(host.size() * 4);
    std::vector<std::byte> bytes(host.size() * 4);
    std::memcpy(bytes.data(), host.data(), bytes.size());
    mem.upload(bytes);
    auto* a = reinterpret_cast<std::int32_t*>(mem.data());
    const auto dev = sc::memory_kind::device;
    const sc::mutable_view va = sc::make_view(a, t, {len}, {}, dev), vb = sc::make_view(a + len, t, {len}, {}, dev),
                           vc = sc::make_view(a + 2 * len, t, {len / 2}, {}, dev);
    const std::vector<sc::copy_pair> chain{{sc::flip(va, 0), vb},
                                           {sc::view(sc::make_view(a + len, t, {len / 2}, {}, dev)), vc},
                                           {vc, sc::make_view(a, t, {2, len / 2}, {}, dev)}};
    cudaStream_t stream = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    sc::copy(chain, stream);
    ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
    const auto after = mem.download();
    std::vector<std::int32_t> got(host.size());
    std::memcpy(got.data(), after.data(), after.size());
    for (std::int64_t i = 0; i < len; ++i) ASSERT_EQ(got[std::size_t(len + i)], std::int32_t(len - 1 - i)) << len;
    for (std::int64_t i = 0; i < len / 2; ++i)
      ASSERT_EQ(got[std::size_t(2 * len + i)], std::int32_t(len - 1 - i)) << len;
    for (std::int64_t i = 0; i < len; ++i) ASSERT_EQ(got[std::size_t(i)], std::int32_t(len - 1 - i % (len / 2))) << len;
  }
}

TEST(CopyIntoGpu, PlansWithSixtyFourBitIndexesLaunchOneByOneInABatch) {
  SKIP_WITHOUT_GPU();
  // Batch kernels are built for 32-bit indexes, and not for row gathers of 2-byte units: a plan that
  // needs 64-bit indexes (forced here, as a copy of 2^30 units or more would) and a float16-like
  // row launch alone, with the same result. Frames of int32 and of int16, rows reversed.
  const std::int64_t frames = 5, len = 999;
  for (const int itemsize : {4, 2}) {
    const sc::dtype t = itemsize == 4 ? sc::dtype_of<std::int32_t>() : sc::dtype_of<std::int16_t>();
    const auto init = sc::test::random_bytes(std::size_t(frames * len * itemsize));
    sc::test::device_bytes src(init.size()), dst(init.size());
    src.upload(init);
    const auto dev = sc::memory_kind::device;
    const sc::view all = sc::make_view(static_cast<const void*>(src.data()), t, {frames, len}, {}, dev);
    const sc::mutable_view slots = sc::make_view(dst.data(), t, {frames, len}, {}, dev);
    std::vector<sc::copy_pair> pairs;
    for (std::int64_t f = 0; f < frames; ++f)
      pairs.push_back({sc::flip(sc::slice(all, index_text(f)), 0), sc::slice(slots, index_text(f))});
    const auto expected = sc::test::reference_copy(sc::flip(sc::make_view(init.data(), t, {frames, len}), 1));
    for (const bool wide : {true, false}) {
      SCOPED_TRACE(std::to_string(itemsize) + "-byte elements, " + (wide ? "64-bit" : "32-bit") + " indexes");
      dst.upload(std::vector<std::byte>(init.size(), std::byte{0}));
      sc::detail::exec_options exec;
      exec.force_index64 = wide;
      const long launches = calls("cudaLaunchKernelEx");
      sc::detail::run_batch(pairs, nullptr, {}, exec);
      ASSERT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
      EXPECT_EQ(dst.download(), expected);
      if (sc::test::simulated) {
        EXPECT_EQ(calls("cudaLaunchKernelEx") - launches, wide || itemsize == 2 ? frames : 1);
      }
    }
  }
}

TEST(CopyIntoGpu, BadDeviceDestinationsAreRefusedBeforeAnyWork) {
  SKIP_WITHOUT_GPU();
  const auto f32 = sc::dtype_of<float>();
  const auto init = sc::test::random_bytes(64 * 64 * 4);
  sc::test::device_bytes dst(init.size()), src(init.size());
  dst.upload(init);
  src.upload(init);
  std::vector<float> host(64 * 64);
  const sc::view s = sc::make_view(src.data(), f32, {64, 64}, {}, sc::memory_kind::device);
  struct bad {
    const char* what;
    std::function<void()> call;
    const char* message;
  };
  const std::vector<bad> cases{
      {"aliasing strides",
       [&] {
         sc::copy(s, sc::make_view(dst.data(), f32, {64, 64}, {1, 1}, sc::memory_kind::device));
       },
       "alias"},
      {"a host pointer said to be device memory",
       [&] {
         sc::copy(s, sc::make_view(host.data(), f32, {64, 64}, {}, sc::memory_kind::device));
       },
       "asked to write device memory"},
      {"a dtype mismatch",
       [&] {
         sc::copy(sc::make_view(src.data(), sc::dtype_of<std::int32_t>(), {64, 64}, {}, sc::memory_kind::device),
                  sc::make_view(dst.data(), f32, {64, 64}, {}, sc::memory_kind::device));
       },
       "converts nothing"},
      {"a batch whose second pair is bad",
       [&] {
         const std::vector<sc::copy_pair> pairs{
             {s, sc::make_view(dst.data(), f32, {64, 64}, {}, sc::memory_kind::device)},
             {sc::slice(s, "[:, :5]"), sc::make_view(dst.data(), f32, {64, 64}, {}, sc::memory_kind::device)}};
         sc::copy(pairs);
       },
       "pair 1 of 2"},
  };
  for (const bad& b : cases) {
    std::string m;
    try {
      b.call();
    } catch (const sc::error& e) {
      m = e.what();
    }
    EXPECT_NE(m.find(b.message), std::string::npos) << b.what << ": " << m;
    EXPECT_EQ(sc::test::first_difference(dst.download(), init), -1) << b.what;
  }
}
