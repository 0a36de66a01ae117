// tests/resources_test.cpp — the owners of CUDA resources (skipped where no device is present): the
// device guard in both forms, and pinned_block, a block of the pinned pool; and the public stream type.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include <cuda/stream_ref>

#include "cuda/device_guard.hpp"
#include "cuda/pinned_pool.hpp"
#include "cuda/resources.hpp"
#include "device_buffer.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/stream.hpp"

namespace sc = stridecopy;

namespace {

int device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

int current() {
  int d = -1;
  EXPECT_EQ(cudaGetDevice(&d), cudaSuccess);
  return d;
}

}  // namespace

TEST(DeviceGuard, SwitchesForItsScopeAndRestores) {
  SKIP_WITHOUT_GPU();
  if (device_count() < 2) GTEST_SKIP() << "needs two devices";
  TEST_CUDA(cudaSetDevice(0));
  {
    const sc::detail::device_guard on(1);
    EXPECT_EQ(current(), 1);
    {
      const sc::detail::device_guard again(1, std::nothrow);  // already current: nothing to do
      EXPECT_EQ(current(), 1);
    }
    EXPECT_EQ(current(), 1);
  }
  EXPECT_EQ(current(), 0);
  {
    const sc::detail::device_guard none(-1);  // a negative device switches nothing
    EXPECT_EQ(current(), 0);
  }
  EXPECT_EQ(current(), 0);
}

TEST(DeviceGuard, ARefusalThrowsOrStaysAndLeavesNoErrorBehind) {
  SKIP_WITHOUT_GPU();
  TEST_CUDA(cudaSetDevice(0));
  const int missing = device_count() + 7;
  try {
    const sc::detail::device_guard on(missing);
    ADD_FAILURE() << "device " << missing << " was made current";
  } catch (const sc::cuda_error& e) {
    EXPECT_NE(std::string(e.what()).find("cudaSetDevice failed: "), std::string::npos) << e.what();
  }
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(current(), 0);
  {
    const sc::detail::device_guard on(missing, std::nothrow);
    EXPECT_EQ(current(), 0);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  }
  EXPECT_EQ(current(), 0);
}

TEST(PinnedBlock, OwnsAPoolBlockAndGivesItBack) {
  SKIP_WITHOUT_GPU();
  void* first = nullptr;
  {
    sc::detail::pinned_block b(5000);
    ASSERT_TRUE(b);
    EXPECT_EQ(b.size(), std::size_t(8192));  // the pool's power of two, one page at least
    first = b.get();
    const sc::detail::pinned_block moved = std::move(b);
    EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move): a moved-from block is empty
    EXPECT_EQ(b.size(), std::size_t(0));
    EXPECT_EQ(moved.get(), first);
  }
  // Back in the pool: the next block of that size is the same one.
  sc::detail::pinned_block again(8000);
  EXPECT_EQ(again.get(), first);
  // Given back after an event: handed out again once the event has completed.
  sc::detail::owned_event done = sc::detail::owned_event::create();
  TEST_CUDA(cudaEventRecord(done.get(), nullptr));
  TEST_CUDA(cudaEventSynchronize(done.get()));
  again.release_after(std::move(done));
  EXPECT_FALSE(again);
  const sc::detail::pinned_block third(4097);
  EXPECT_EQ(third.get(), first);
}

// The public stream type names CUDA's handle without CUDA's headers: it is the very cudaStream_t,
// and every way a caller holds a stream converts to it unchanged (no device needed).
static_assert(std::is_same_v<sc::stream_handle, cudaStream_t>);

namespace {
// A stream view as RMM's cuda_stream_view is made: no .get(), a conversion to cudaStream_t.
struct converting_stream_view {
  cudaStream_t handle;
  operator cudaStream_t() const noexcept { return handle; }  // implicit, as RMM's is
};
}  // namespace

TEST(StreamRef, TakesEveryFormOfAStreamAndGivesBackItsHandle) {
  const auto handle = reinterpret_cast<cudaStream_t>(std::uintptr_t(0x1234));
  EXPECT_EQ(sc::stream_ref().get(), nullptr);
  EXPECT_EQ(sc::stream_ref(nullptr).get(), nullptr);
  EXPECT_EQ(sc::stream_ref(0).get(), nullptr);
  EXPECT_EQ(sc::stream_ref(handle).get(), handle);
  EXPECT_EQ(sc::stream_ref(cudaStreamPerThread).get(), cudaStreamPerThread);
  EXPECT_EQ(sc::stream_ref(cudaStreamLegacy).get(), cudaStreamLegacy);
  EXPECT_EQ(sc::stream_ref(cuda::stream_ref(handle)).get(), handle);
  // Implicitly, as a copy function's argument receives it.
  const auto pass = [](sc::stream_ref s) { return s.get(); };
  EXPECT_EQ(pass(handle), handle);
  EXPECT_EQ(pass(cuda::stream_ref(cudaStreamPerThread)), cudaStreamPerThread);
  EXPECT_EQ(pass({}), nullptr);
  EXPECT_EQ(pass(converting_stream_view{handle}), handle);
  EXPECT_EQ(pass(converting_stream_view{cudaStreamPerThread}), cudaStreamPerThread);
  EXPECT_EQ(sc::stream_ref(handle), sc::stream_ref(cuda::stream_ref(handle)));
  EXPECT_NE(sc::stream_ref(handle), sc::stream_ref());
}
