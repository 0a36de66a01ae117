// tests/d2d_test.cu — device-to-device copies on a real GPU (skipped where none is present): every
// family x unit x index width on random views, the NCHW view family, the edge cases, more than 2^31
// elements, two host threads on two streams, one plan reused on new allocations; bad input leaves
// the destination untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
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
#include "stridecopy/index.hpp"
#include "stridecopy/plan.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;

namespace {

// The plan of host view `hv` (over the host bytes `host`, its allocation) as a device-to-device
// plan: the same layout and origin, to run on a device copy of those bytes.
sc::plan device_plan(sc::view hv, const std::vector<std::byte>& host) {
  hv.memory = sc::memory_kind::device;
  hv.allocation = sc::byte_range{host.data(), host.size()};
  return sc::make_plan(hv, sc::memory_kind::device);
}

void expect_device_copy(const sc::view& hv, const std::vector<std::byte>& host, std::size_t misalign, bool force64,
                        cudaStream_t stream = nullptr) {
  sc::test::device_bytes src(host.size());
  src.upload(host);
  const auto expected = sc::test::reference_copy(hv);
  sc::test::guarded_device_buffer dst(expected.size(), misalign);
  sc::detail::exec_options exec;
  exec.force_index64 = force64;
  (void)sc::detail::execute(device_plan(hv, host), src.data(), dst.data(), dst.size(), stream, {}, exec);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  bool canaries = false;
  const auto got = dst.contents(canaries);
  ASSERT_TRUE(canaries);
  ASSERT_EQ(sc::test::first_difference(got, expected), -1);
}

}  // namespace

TEST(DeviceToDevice, RandomViewsBothIndexWidths) {
  SKIP_WITHOUT_GPU();
  auto& g = sc::test::rng();
  for (int trial = 0; trial < 600; ++trial) {
    sc::test::random_view r = sc::test::make_random_view(g, 6, trial % 10 == 0 ? 60 : 8);
    SCOPED_TRACE(r.description + " pattern " + sc::to_string(sc::make_plan(r.v).walk.pattern));
    expect_device_copy(r.v, r.storage, std::size_t(g() % 16), trial % 2 == 1);
    if (HasFatalFailure()) return;
  }
}

TEST(DeviceToDevice, NchwViewFamilyInEveryElementSize) {
  SKIP_WITHOUT_GPU();
  auto& g = sc::test::rng();
  // The BGR example's batch; a tenth of its height and width under the simulator (odd sizes still).
  const std::int64_t N = 4, C = 3, H = sc::test::simulated ? 97 : 966, W = sc::test::simulated ? 131 : 1296;
  for (int item : {1, 2, 4, 8, 16}) {
    const auto host = sc::test::random_bytes(std::size_t(N * C * H * W * item));
    const sc::view base = sc::contiguous_view(host.data(), {'V', item, '|'}, shape_t{N, C, H, W});
    const sc::view nhwc = sc::contiguous_view(host.data(), {'V', item, '|'}, shape_t{N, H, W, C});
    const std::vector<std::pair<std::string, sc::view>> views = {
        {"[:, ::-1, :, :]", sc::slice(base, "[:, ::-1, :, :]")},
        {"[..., ::-1]", sc::slice(base, "[..., ::-1]")},
        {"[:, :, ::-1, ::-1]", sc::slice(base, "[:, :, ::-1, ::-1]")},
        {"[..., ::2]", sc::slice(base, "[..., ::2]")},
        {"[::2, :, 8:-8, 8:-8]", sc::slice(base, "[::2, :, 8:-8, 8:-8]")},
        {"transpose(0, 2, 3, 1)", sc::permute(base, {0, 2, 3, 1})},
        {"NHWC [..., ::-1]", sc::slice(nhwc, "[..., ::-1]")},
    };
    for (const auto& [name, v] : views) {
      SCOPED_TRACE(name + " itemsize " + std::to_string(item));
      expect_device_copy(v, host, std::size_t(g() % 2) * 16, false);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(DeviceToDevice, EdgeCases) {
  SKIP_WITHOUT_GPU();
  const auto host = sc::test::random_bytes(1 << 20);
  const std::byte* b = host.data();
  const sc::dtype f32 = sc::dtype_of<float>(), f16 = sc::float16, u8 = sc::dtype_of<std::uint8_t>();
  const std::vector<std::pair<const char*, sc::view>> cases = {
      {"fp16 from element 1", sc::make_view(b + 2, f16, shape_t{129, 129}, shape_t{130, 1})},
      {"fp16 reversed, odd start", sc::make_view(b + 2 + 2 * 128, f16, shape_t{129, 129}, shape_t{130, -1})},
      {"int8 from element 1, reversed", sc::make_view(b + 1 + 128, u8, shape_t{129, 129}, shape_t{129, -1})},
      {"size-1 dims with odd strides", sc::make_view(b, f32, shape_t{1, 129, 1, 7}, shape_t{-999, 7, 12345, 1})},
      {"zero strides", sc::make_view(b, f32, shape_t{129, 5, 3}, shape_t{0, 1, 0})},
      {"0-d", sc::make_view(b + 8, f32, shape_t{})},
      {"empty", sc::make_view(b, f32, shape_t{3, 0, 5})},
  };
  for (const auto& [name, v] : cases)
    for (bool force64 : {false, true}) {
      SCOPED_TRACE(name);
      expect_device_copy(v, host, 0, force64);
      if (HasFatalFailure()) return;
    }
}

TEST(DeviceToDevice, MoreThanTwoToThe31Uint8Elements) {
  SKIP_WITHOUT_GPU();
  // 2^31 elements replayed on the CPU take minutes; 64-bit indexing runs under the simulator in
  // the other tests (force_index64) and in the kernel replay tests.
  if (sc::test::simulated) GTEST_SKIP() << "more than 2^31 elements: on a GPU only";
  const std::int64_t n = (std::int64_t(1) << 31) + 4099;
  std::size_t free_bytes = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  if (free_bytes < std::size_t(2 * n + (512 << 20))) GTEST_SKIP() << "needs " << 2 * n << " bytes of device memory";
  // Source: byte i = hash(i), generated on the host in pieces; the view reverses the whole array.
  sc::test::device_bytes src{std::size_t(n)}, dst{std::size_t(n)};
  auto byte_at = [](std::int64_t i) { return std::byte((std::uint64_t(i) * 0x9E3779B97F4A7C15ull) >> 56); };
  std::vector<std::byte> piece(std::size_t(64) << 20);
  for (std::int64_t at = 0; at < n; at += std::int64_t(piece.size())) {
    const std::int64_t len = std::min<std::int64_t>(std::int64_t(piece.size()), n - at);
    for (std::int64_t i = 0; i < len; ++i) piece[std::size_t(i)] = byte_at(at + i);
    ASSERT_EQ(cudaMemcpy(src.data() + at, piece.data(), std::size_t(len), cudaMemcpyHostToDevice), cudaSuccess);
  }
  const sc::view v =
      sc::make_view(src.data() + n - 1, sc::dtype_of<std::uint8_t>(), {n}, {-1}, sc::memory_kind::device);
  ASSERT_TRUE(sc::make_plan(v).walk.index64);
  sc::copy(v, dst.data(), dst.size());
  for (std::int64_t at = 0; at < n; at += std::int64_t(piece.size())) {
    const std::int64_t len = std::min<std::int64_t>(std::int64_t(piece.size()), n - at);
    ASSERT_EQ(cudaMemcpy(piece.data(), dst.data() + at, std::size_t(len), cudaMemcpyDeviceToHost), cudaSuccess);
    for (std::int64_t i = 0; i < len; ++i)
      ASSERT_EQ(piece[std::size_t(i)], byte_at(n - 1 - (at + i))) << "output byte " << at + i;
  }
}

TEST(DeviceToDevice, TwoHostThreadsOnTwoStreams) {
  SKIP_WITHOUT_GPU();
  auto& g = sc::test::rng();
  std::vector<sc::test::random_view> views;
  for (int i = 0; i < 40; ++i) views.push_back(sc::test::make_random_view(g, 5, 30));
  auto worker = [&](int parity, bool& ok) {
    cudaStream_t s = nullptr;
    ok = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess;
    for (std::size_t i = std::size_t(parity); ok && i < views.size(); i += 2) {
      const auto& r = views[i];
      sc::test::device_bytes src(r.storage.size());
      src.upload(r.storage);
      const auto expected = sc::test::reference_copy(r.v);
      sc::test::guarded_device_buffer dst(expected.size());
      sc::copy(device_plan(r.v, r.storage), src.data(), dst.data(), dst.size(), s);
      bool canaries = false;
      ok = dst.contents(canaries) == expected && canaries;
    }
    if (s) (void)cudaStreamDestroy(s);
  };
  bool ok0 = false, ok1 = false;
  std::thread t0(worker, 0, std::ref(ok0)), t1(worker, 1, std::ref(ok1));
  t0.join();
  t1.join();
  EXPECT_TRUE(ok0);
  EXPECT_TRUE(ok1);
}

TEST(DeviceToDevice, BadInputThrowsBeforeAnyDeviceWorkAndOtherDestinationsWork) {
  SKIP_WITHOUT_GPU();
  const auto host = sc::test::random_bytes(4096);
  sc::test::device_bytes src(host.size());
  src.upload(host);
  const sc::view hv = sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape_t{32, 32});
  const sc::view dv =
      sc::slice(sc::contiguous_view(src.data(), sc::dtype_of<float>(), {32, 32}, sc::memory_kind::device), "[:, ::-1]");
  {  // destination too small
    sc::test::guarded_device_buffer dst(4095);
    EXPECT_THROW(sc::copy(dv, dst.data(), dst.size()), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
  {  // a host pointer in a view that says device
    sc::view lie = sc::slice(hv, "[:, ::-1]");
    lie.memory = sc::memory_kind::device;
    sc::test::guarded_device_buffer dst(4096);
    EXPECT_THROW(sc::copy(lie, dst.data(), dst.size()), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
  {  // a host destination is a device-to-host copy, not an error
    std::vector<std::byte> out(4096, std::byte{0xA5});
    sc::copy(dv, out.data(), out.size());
    EXPECT_EQ(out, sc::test::reference_copy(sc::slice(hv, "[:, ::-1]")));
  }
  {  // a destination overlapping the source gets NumPy's result, as if through a temporary
    sc::test::device_bytes wide(4096 + 4);
    wide.upload(host);
    const sc::view wv = sc::slice(
        sc::contiguous_view(wide.data(), sc::dtype_of<float>(), {32, 32}, sc::memory_kind::device), "[:, ::-1]");
    sc::copy(wv, wide.data() + 4, 4096);
    const auto after = wide.download();
    EXPECT_EQ(std::vector<std::byte>(after.begin() + 4, after.end()),
              sc::test::reference_copy(sc::slice(hv, "[:, ::-1]")));
    EXPECT_EQ(std::vector<std::byte>(after.begin(), after.begin() + 4),
              std::vector<std::byte>(host.begin(), host.begin() + 4));
  }
  {  // a view leaving its allocation
    sc::view out = dv;
    out.layout.extent[0] = 33;
    sc::test::guarded_device_buffer dst(33 * 32 * 4);
    EXPECT_THROW(sc::copy(out, dst.data(), dst.size()), sc::invalid_view);
    EXPECT_TRUE(dst.untouched());
  }
}

// One plan, made from a layout-only view, copies many allocations (and a less aligned one, which
// narrows the unit) from several threads at once.
TEST(DeviceToDevice, OnePlanCopiesManyAllocationsFromSeveralThreads) {
  SKIP_WITHOUT_GPU();
  const sc::plan p = sc::make_plan(
      sc::permute(sc::contiguous_view(nullptr, sc::dtype_of<float>(), {2, 3, 17, 33}, sc::memory_kind::device),
                  {0, 2, 3, 1}),
      sc::memory_kind::device);
  auto worker = [&](int seed, bool& ok) {
    std::mt19937_64 g{std::uint64_t(seed)};
    cudaStream_t s = nullptr;
    ok = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess;
    for (int i = 0; ok && i < 20; ++i) {
      const std::size_t shift = i % 5 == 4 ? 4 : 0;  // every fifth source only 4-byte aligned
      std::vector<std::byte> host(2 * 3 * 17 * 33 * 4);
      for (auto& b : host) b = std::byte(g() & 0xff);
      sc::test::device_bytes src(host.size() + shift);
      EXPECT_EQ(cudaMemcpy(src.data() + shift, host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
      EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      sc::test::guarded_device_buffer dst(host.size());
      (void)sc::copy(p, src.data() + shift, dst.data(), dst.size(), s);
      bool canaries = false;
      const auto expected = sc::test::reference_copy(
          sc::permute(sc::contiguous_view(host.data(), sc::dtype_of<float>(), {2, 3, 17, 33}), {0, 2, 3, 1}));
      ok = dst.contents(canaries) == expected && canaries;
    }
    if (s) (void)cudaStreamDestroy(s);
  };
  bool ok[4] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t, std::ref(ok[t]));
  for (auto& t : threads) t.join();
  for (bool b : ok) EXPECT_TRUE(b);
}

// A view of NumPy's 64 dims whose plan is deeper than one kernel walks: several launches.
TEST(DeviceToDevice, ViewsOfSixtyFourDims) {
  SKIP_WITHOUT_GPU();
  auto& g = sc::test::rng();
  const int dims = 16;
  const auto host = sc::test::random_bytes(std::size_t(4) << dims);
  std::vector<int> axes(static_cast<std::size_t>(dims));
  for (int d = 0; d < dims; ++d) axes[std::size_t(d)] = d;
  const auto merges = [&] {  // neighbours of strides 2s and s would merge
    for (std::size_t d = 0; d + 1 < axes.size(); ++d)
      if (axes[d] == axes[d + 1] + 1) return true;
    return false;
  };
  do std::shuffle(axes.begin(), axes.end(), g);
  while (merges());
  shape_t shape(64, 1), stride(64, 3);
  for (int d = 0; d < dims; ++d) {
    shape[std::size_t(4 * d)] = 2;
    stride[std::size_t(4 * d)] = std::int64_t(1) << axes[std::size_t(d)];
  }
  const sc::view hv = sc::make_view(host.data(), sc::dtype_of<float>(), shape, stride);
  for (bool force64 : {false, true}) {
    expect_device_copy(hv, host, 0, force64);
    if (HasFatalFailure()) return;
  }
}

TEST(DeviceToDevice, WithoutADeviceTheErrorIsClear) {
  if (sc::cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  std::vector<float> host(16);
  sc::view v = sc::make_view(host.data(), sc::dtype_of<float>(), shape_t{4, 4}, shape_t{4, -1});
  v.data = host.data() + 3;
  v.memory = sc::memory_kind::device;
  std::vector<float> out(16, -1.0f);
  try {
    sc::copy(v, out.data(), 64);
    FAIL() << "no error without a device";
  } catch (const sc::cuda_error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
  for (float f : out) EXPECT_EQ(f, -1.0f);
}
