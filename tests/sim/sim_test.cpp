// tests/sim/sim_test.cpp — the CUDA runtime simulator's own tests: it reports what it claims to
// catch (unordered accesses between streams, frees of memory still in use, CUDA calls in host
// functions, destroyed handles, events on another device's stream, kernel accesses outside any
// allocation, host reads of device memory), keeps CUDA's ordering and synchronisation rules (legacy
// stream, pageable copies, stream-ordered reuse), enforces the capture rules, replays graphs, and
// injects faults.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "stridecopy_sim/control.h"
#include "stridecopy_sim/kernel.hpp"

namespace {

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

/// The reports made since the last call, as text.
std::string take_reports() {
  std::vector<char> text(1 << 16);
  (void)stridecopy_sim_take_reports(text.data(), text.size());
  return text.data();
}

/// Every test ends with no report it did not expect (and takes none another test should see).
class Sim : public ::testing::Test {
 protected:
  void SetUp() override { (void)take_reports(); }
  void TearDown() override { EXPECT_EQ(take_reports(), ""); }
};

#define EXPECT_REPORT(substring)                                            \
  do {                                                                      \
    const std::string reports_ = take_reports();                            \
    EXPECT_NE(reports_.find(substring), std::string::npos)                  \
        << "expected a report containing \"" << (substring) << "\", got:\n" \
        << reports_;                                                        \
  } while (0)

struct stream_pair {
  cudaStream_t a = nullptr, b = nullptr;
  stream_pair() {
    EXPECT_EQ(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_EQ(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
  }
  ~stream_pair() {
    (void)cudaDeviceSynchronize();
    (void)cudaStreamDestroy(a);
    (void)cudaStreamDestroy(b);
  }
};

TEST_F(Sim, IsTheRuntimeOfThisProcess) {
  EXPECT_EQ(stridecopy_sim_active(), 1);
  int n = 0;
  CUDA_OK(cudaGetDeviceCount(&n));
  EXPECT_GE(n, 1);
  cudaDeviceProp p{};
  CUDA_OK(cudaGetDeviceProperties(&p, 0));
  EXPECT_EQ(p.major, 9);
  EXPECT_NE(std::string(p.name).find("simulator"), std::string::npos);
}

TEST_F(Sim, AMissingEventWaitBetweenTwoStreamsIsReported) {
  stream_pair s;
  void* buf = nullptr;
  void* out = nullptr;
  CUDA_OK(cudaMalloc(&buf, 4096));
  CUDA_OK(cudaHostAlloc(&out, 4096, cudaHostAllocDefault));
  CUDA_OK(stridecopy_sim_sleep(s.a, 20000));  // the writer runs late
  CUDA_OK(cudaMemsetAsync(buf, 7, 4096, s.a));
  CUDA_OK(cudaMemcpyAsync(out, buf, 4096, cudaMemcpyDeviceToHost, s.b));  // no wait for s.a
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_REPORT("unordered accesses");
  // The delay makes the missing wait a wrong result too: the copy ran before the memset.
  EXPECT_NE(static_cast<unsigned char*>(out)[0], 7);
  CUDA_OK(cudaFree(buf));
  CUDA_OK(cudaFreeHost(out));
}

TEST_F(Sim, AnEventWaitOrdersTwoStreamsWithoutAReport) {
  stream_pair s;
  void* buf = nullptr;
  void* out = nullptr;
  cudaEvent_t written = nullptr;
  CUDA_OK(cudaMalloc(&buf, 4096));
  CUDA_OK(cudaHostAlloc(&out, 4096, cudaHostAllocDefault));
  CUDA_OK(cudaEventCreateWithFlags(&written, cudaEventDisableTiming));
  CUDA_OK(stridecopy_sim_sleep(s.a, 20000));
  CUDA_OK(cudaMemsetAsync(buf, 7, 4096, s.a));
  CUDA_OK(cudaEventRecord(written, s.a));
  CUDA_OK(cudaStreamWaitEvent(s.b, written, 0));
  CUDA_OK(cudaMemcpyAsync(out, buf, 4096, cudaMemcpyDeviceToHost, s.b));
  CUDA_OK(cudaStreamSynchronize(s.b));
  EXPECT_EQ(static_cast<unsigned char*>(out)[4095], 7);
  CUDA_OK(cudaEventDestroy(written));
  CUDA_OK(cudaFree(buf));
  CUDA_OK(cudaFreeHost(out));
}

TEST_F(Sim, StreamOrderedFreeOfMemoryAnotherStreamStillReadsIsReported) {
  stream_pair s;
  void* buf = nullptr;
  void* out = nullptr;
  CUDA_OK(cudaHostAlloc(&out, 4096, cudaHostAllocDefault));
  CUDA_OK(cudaMallocAsync(&buf, 4096, s.a));
  CUDA_OK(cudaMemsetAsync(buf, 1, 4096, s.a));
  CUDA_OK(cudaStreamSynchronize(s.a));
  CUDA_OK(stridecopy_sim_sleep(s.b, 10000));
  CUDA_OK(cudaMemcpyAsync(out, buf, 4096, cudaMemcpyDeviceToHost, s.b));
  CUDA_OK(cudaFreeAsync(buf, s.a));  // nothing orders the copy on s.b before this free
  CUDA_OK(cudaDeviceSynchronize());
  const std::string reports = take_reports();
  // The free is reported if the copy ran first, the copy if the free did.
  EXPECT_TRUE(reports.find("may still use it") != std::string::npos || reports.find("released") != std::string::npos)
      << reports;
  CUDA_OK(cudaFreeHost(out));
}

TEST_F(Sim, AStreamOrderedFreeIsReusedAtOnceOnTheSameStream) {
  stream_pair s;
  void* first = nullptr;
  void* second = nullptr;
  CUDA_OK(stridecopy_sim_sleep(s.a, 10000));  // nothing has run when the second allocation is made
  CUDA_OK(cudaMallocAsync(&first, 1000, s.a));
  CUDA_OK(cudaFreeAsync(first, s.a));
  CUDA_OK(cudaMallocAsync(&second, 1000, s.a));
  EXPECT_EQ(first, second);
  CUDA_OK(cudaFreeAsync(second, s.a));
  CUDA_OK(cudaStreamSynchronize(s.a));
}

TEST_F(Sim, UseOfStreamOrderedMemoryBeforeItsAllocationIsReported) {
  stream_pair s;
  void* buf = nullptr;
  CUDA_OK(stridecopy_sim_sleep(s.a, 10000));
  CUDA_OK(cudaMallocAsync(&buf, 4096, s.a));
  // On s.b without a wait: the allocation may not exist yet.
  const cudaError_t e = cudaMemsetAsync(buf, 0, 4096, s.b);
  CUDA_OK(cudaDeviceSynchronize());
  if (e == cudaSuccess) {
    const std::string reports = take_reports();
    EXPECT_NE(reports.find("stream-ordered allocation"), std::string::npos) << reports;
  }
  CUDA_OK(cudaFreeAsync(buf, s.a));
  CUDA_OK(cudaStreamSynchronize(s.a));
}

TEST_F(Sim, ACudaCallInsideAHostFunctionIsReported) {
  cudaStream_t s = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  static std::atomic<int> seen{-1};
  CUDA_OK(cudaLaunchHostFunc(
      s,
      [](void*) {
        int d = -1;
        seen = int(cudaGetDevice(&d));
      },
      nullptr));
  CUDA_OK(cudaStreamSynchronize(s));
  EXPECT_EQ(seen.load(), int(cudaErrorNotPermitted));
  EXPECT_REPORT("inside a host function");
  CUDA_OK(cudaStreamDestroy(s));
}

TEST_F(Sim, UseOfADestroyedStreamOrEventIsReported) {
  cudaStream_t s = nullptr;
  cudaEvent_t e = nullptr;
  CUDA_OK(cudaStreamCreate(&s));
  CUDA_OK(cudaEventCreate(&e));
  CUDA_OK(cudaStreamDestroy(s));
  CUDA_OK(cudaEventDestroy(e));
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorInvalidResourceHandle);
  EXPECT_REPORT("which was destroyed");
  EXPECT_EQ(cudaEventQuery(e), cudaErrorInvalidResourceHandle);
  EXPECT_REPORT("which was destroyed");
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST_F(Sim, AnEventRecordedOnAnotherDevicesStreamIsReported) {
  int n = 0;
  CUDA_OK(cudaGetDeviceCount(&n));
  if (n < 2) GTEST_SKIP() << "needs STRIDECOPY_SIM_DEVICES=2";
  cudaEvent_t e = nullptr;
  cudaStream_t s1 = nullptr;
  CUDA_OK(cudaSetDevice(0));
  CUDA_OK(cudaEventCreate(&e));
  CUDA_OK(cudaSetDevice(1));
  CUDA_OK(cudaStreamCreate(&s1));
  EXPECT_EQ(cudaEventRecord(e, s1), cudaErrorInvalidResourceHandle);
  EXPECT_REPORT("must be on the same device");
  (void)cudaGetLastError();
  CUDA_OK(cudaStreamDestroy(s1));
  CUDA_OK(cudaSetDevice(0));
  CUDA_OK(cudaEventDestroy(e));
}

TEST_F(Sim, KernelsSeeOnlyLiveAllocationsOfTheirDevice) {
  void* buf = nullptr;
  CUDA_OK(cudaMalloc(&buf, 1024));
  CUDA_OK(cudaMemset(buf, 3, 1024));
  auto* base = static_cast<unsigned char*>(buf);
  std::atomic<int> sum{0};
  // One block of one thread: reads the last byte, then one past the end.
  CUDA_OK(stridecopy_sim::launch(nullptr, "probe", 1, 1, 1, 0,
                                 [&](const stridecopy_sim::kernel_memory& mem, long long, int, int) {
                                   sum += mem.load(base + 1023);
                                   sum += mem.load(base + 1024);
                                 }));
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_EQ(sum.load(), 3);  // the access outside reads zeros
  EXPECT_REPORT("0 bytes past the end of a 1024-byte device allocation");
  CUDA_OK(cudaFree(buf));
}

TEST_F(Sim, AKernelsMisalignedAccessIsReported) {
  void* buf = nullptr;
  CUDA_OK(cudaMalloc(&buf, 1024));
  auto* base = static_cast<unsigned char*>(buf);
  CUDA_OK(stridecopy_sim::launch(nullptr, "misaligned", 1, 1, 1, 0,
                                 [&](const stridecopy_sim::kernel_memory& mem, long long, int, int) {
                                   mem.store(reinterpret_cast<std::uint32_t*>(base + 2), 1u);
                                 }));
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_REPORT("not aligned");
  CUDA_OK(cudaFree(buf));
}

TEST_F(Sim, AKernelLaunchOutsideTheDevicesLimitsFails) {
  const auto nothing = [](const stridecopy_sim::kernel_memory&, long long, int, int) {};
  EXPECT_EQ(stridecopy_sim::launch(nullptr, "empty", 0, 32, 1, 0, nothing), cudaErrorInvalidConfiguration);
  EXPECT_EQ(stridecopy_sim::launch(nullptr, "wide", 1, 2048, 1, 0, nothing), cudaErrorInvalidConfiguration);
  EXPECT_EQ(stridecopy_sim::launch(nullptr, "shared", 1, 32, 1, 64 * 1024, nothing), cudaErrorInvalidConfiguration);
  (void)cudaGetLastError();
}

TEST_F(Sim, HostCodeReadingDeviceMemoryEndsTheProcessWithAReport) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        void* buf = nullptr;
        (void)cudaMalloc(&buf, 64);
        volatile unsigned char x = *static_cast<volatile unsigned char*>(buf);
        (void)x;
      },
      ::testing::ExitedWithCode(66), "host code accessed device memory");
}

TEST_F(Sim, AReportNoTestTookFailsTheProcessAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        cudaStream_t s = nullptr;
        (void)cudaStreamCreate(&s);
        (void)cudaStreamDestroy(s);
        (void)cudaStreamQuery(s);  // reported
        std::exit(0);
      },
      ::testing::ExitedWithCode(66), "which was destroyed");
}

TEST_F(Sim, TheLegacyStreamWaitsForBlockingStreamsAndNonBlockingOnesDoNot) {
  cudaStream_t blocking = nullptr;
  CUDA_OK(cudaStreamCreate(&blocking));
  void* buf = nullptr;
  void* out = nullptr;
  CUDA_OK(cudaMalloc(&buf, 256));
  CUDA_OK(cudaHostAlloc(&out, 256, cudaHostAllocDefault));
  CUDA_OK(stridecopy_sim_sleep(blocking, 20000));
  CUDA_OK(cudaMemsetAsync(buf, 9, 256, blocking));
  CUDA_OK(cudaMemcpyAsync(out, buf, 256, cudaMemcpyDeviceToHost, nullptr));  // waits for `blocking`
  CUDA_OK(cudaStreamSynchronize(nullptr));
  EXPECT_EQ(static_cast<unsigned char*>(out)[255], 9);
  CUDA_OK(cudaStreamDestroy(blocking));
  CUDA_OK(cudaFree(buf));
  CUDA_OK(cudaFreeHost(out));
}

TEST_F(Sim, PageableCopiesFollowCudasHostSynchronisation) {
  stream_pair s;
  void* buf = nullptr;
  CUDA_OK(cudaMalloc(&buf, 4096));
  std::vector<unsigned char> source(4096, 5), back(4096, 0);
  CUDA_OK(stridecopy_sim_sleep(s.a, 10000));
  // Pageable to device: staged before the call returns, so the source may change at once.
  CUDA_OK(cudaMemcpyAsync(buf, source.data(), 4096, cudaMemcpyHostToDevice, s.a));
  std::fill(source.begin(), source.end(), 6);
  // Device to pageable: complete when the call returns.
  CUDA_OK(cudaMemcpyAsync(back.data(), buf, 4096, cudaMemcpyDeviceToHost, s.a));
  EXPECT_EQ(back[0], 5);
  EXPECT_EQ(back[4095], 5);
  CUDA_OK(cudaFree(buf));
}

TEST_F(Sim, CopiesCheckTheirDirectionAndRanges) {
  void* buf = nullptr;
  CUDA_OK(cudaMalloc(&buf, 256));
  std::vector<unsigned char> host(512);
  EXPECT_EQ(cudaMemcpy(host.data(), buf, 256, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(host.data(), buf, 512, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);  // past the end
  EXPECT_EQ(cudaMemcpy2DAsync(host.data(), 8, buf, 16, 16, 4, cudaMemcpyDeviceToHost, nullptr),
            cudaErrorInvalidPitchValue);
  (void)cudaGetLastError();
  CUDA_OK(cudaFree(buf));
  EXPECT_EQ(cudaFree(buf), cudaErrorInvalidValue);
  (void)cudaGetLastError();
}

TEST_F(Sim, CaptureRulesAreEnforced) {
  stream_pair s;
  cudaGraph_t graph = nullptr;
  // Synchronising a capturing stream fails and invalidates the capture.
  CUDA_OK(cudaStreamBeginCapture(s.a, cudaStreamCaptureModeGlobal));
  EXPECT_EQ(cudaStreamSynchronize(s.a), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(s.a, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(graph, nullptr);
  // The legacy stream may not be used while a blocking stream of its device captures.
  cudaStream_t blocking = nullptr;
  CUDA_OK(cudaStreamCreate(&blocking));
  CUDA_OK(cudaStreamBeginCapture(blocking, cudaStreamCaptureModeGlobal));
  cudaStreamCaptureStatus status{};
  EXPECT_EQ(cudaStreamIsCapturing(nullptr, &status), cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(cudaLaunchHostFunc(
                nullptr, [](void*) {}, nullptr),
            cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(cudaStreamEndCapture(blocking, &graph), cudaErrorStreamCaptureInvalidated);
  CUDA_OK(cudaStreamDestroy(blocking));
  // Potentially unsafe calls are refused while capturing in global mode.
  CUDA_OK(cudaStreamBeginCapture(s.a, cudaStreamCaptureModeGlobal));
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, 64), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(s.a, &graph), cudaErrorStreamCaptureInvalidated);
  // Pageable memory cannot be captured.
  std::vector<unsigned char> pageable(64);
  void* dev = nullptr;
  CUDA_OK(cudaMalloc(&dev, 64));
  CUDA_OK(cudaStreamBeginCapture(s.a, cudaStreamCaptureModeGlobal));
  EXPECT_EQ(cudaMemcpyAsync(dev, pageable.data(), 64, cudaMemcpyHostToDevice, s.a), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(s.a, &graph), cudaErrorStreamCaptureInvalidated);
  // A stream that joined the capture must rejoin the origin before it ends.
  cudaEvent_t fork = nullptr;
  CUDA_OK(cudaEventCreateWithFlags(&fork, cudaEventDisableTiming));
  CUDA_OK(cudaStreamBeginCapture(s.a, cudaStreamCaptureModeGlobal));
  CUDA_OK(cudaEventRecord(fork, s.a));
  CUDA_OK(cudaStreamWaitEvent(s.b, fork, 0));
  CUDA_OK(cudaMemsetAsync(dev, 0, 64, s.b));
  EXPECT_EQ(cudaStreamEndCapture(s.a, &graph), cudaErrorStreamCaptureUnjoined);
  // A capturing stream may not wait for an event recorded outside its capture.
  cudaEvent_t outside = nullptr;
  CUDA_OK(cudaEventCreateWithFlags(&outside, cudaEventDisableTiming));
  CUDA_OK(cudaEventRecord(outside, s.b));
  CUDA_OK(cudaStreamBeginCapture(s.a, cudaStreamCaptureModeGlobal));
  EXPECT_EQ(cudaStreamWaitEvent(s.a, outside, 0), cudaErrorStreamCaptureIsolation);
  EXPECT_EQ(cudaStreamEndCapture(s.a, &graph), cudaErrorStreamCaptureInvalidated);
  (void)cudaGetLastError();
  CUDA_OK(cudaEventDestroy(fork));
  CUDA_OK(cudaEventDestroy(outside));
  CUDA_OK(cudaFree(dev));
}

struct counter {
  std::atomic<int> runs{0};
  std::atomic<int> destroyed{0};
};

TEST_F(Sim, AGraphReplaysItsWorkAndReleasesItsUserObjects) {
  stream_pair s;
  counter c;
  void* dev = nullptr;
  void* out = nullptr;
  CUDA_OK(cudaMalloc(&dev, 64));
  CUDA_OK(cudaHostAlloc(&out, 64, cudaHostAllocDefault));
  cudaEvent_t fork = nullptr, join = nullptr;
  CUDA_OK(cudaEventCreateWithFlags(&fork, cudaEventDisableTiming));
  CUDA_OK(cudaEventCreateWithFlags(&join, cudaEventDisableTiming));
  cudaGraph_t graph = nullptr;
  CUDA_OK(cudaStreamBeginCapture(s.a, cudaStreamCaptureModeGlobal));
  CUDA_OK(cudaLaunchHostFunc(
      s.a, [](void* p) { ++static_cast<counter*>(p)->runs; }, &c));
  CUDA_OK(cudaEventRecord(fork, s.a));
  CUDA_OK(cudaStreamWaitEvent(s.b, fork, 0));  // s.b joins the capture
  CUDA_OK(cudaMemsetAsync(dev, 4, 64, s.b));
  CUDA_OK(cudaEventRecord(join, s.b));
  CUDA_OK(cudaStreamWaitEvent(s.a, join, 0));  // and rejoins
  CUDA_OK(cudaMemcpyAsync(out, dev, 64, cudaMemcpyDeviceToHost, s.a));
  CUDA_OK(cudaStreamEndCapture(s.a, &graph));
  cudaStreamCaptureStatus status{};
  CUDA_OK(cudaStreamIsCapturing(s.b, &status));
  EXPECT_EQ(status, cudaStreamCaptureStatusNone);
  EXPECT_EQ(c.runs.load(), 0);  // captured, not run
  cudaUserObject_t object = nullptr;
  CUDA_OK(cudaUserObjectCreate(
      &object, &c, [](void* p) { ++static_cast<counter*>(p)->destroyed; }, 1, cudaUserObjectNoDestructorSync));
  CUDA_OK(cudaGraphRetainUserObject(graph, object, 1, cudaGraphUserObjectMove));
  cudaGraphExec_t exec = nullptr;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  CUDA_OK(cudaGraphDestroy(graph));
  EXPECT_EQ(c.destroyed.load(), 0);  // the executable holds a reference of its own
  for (int i = 1; i <= 3; ++i) {
    std::memset(out, 0, 64);
    CUDA_OK(cudaGraphLaunch(exec, s.a));
    CUDA_OK(cudaStreamSynchronize(s.a));
    EXPECT_EQ(c.runs.load(), i);
    EXPECT_EQ(static_cast<unsigned char*>(out)[63], 4);
  }
  CUDA_OK(cudaGraphExecDestroy(exec));
  EXPECT_EQ(c.destroyed.load(), 1);
  CUDA_OK(cudaEventDestroy(fork));
  CUDA_OK(cudaEventDestroy(join));
  CUDA_OK(cudaFree(dev));
  CUDA_OK(cudaFreeHost(out));
}

TEST_F(Sim, FaultInjectionFailsTheNthCallOfAFunction) {
  void* buf = nullptr;
  CUDA_OK(cudaMalloc(&buf, 64));
  stridecopy_sim_fail("cudaMemsetAsync", 2, cudaErrorLaunchFailure);
  EXPECT_EQ(cudaMemsetAsync(buf, 0, 64, nullptr), cudaSuccess);
  EXPECT_EQ(cudaMemsetAsync(buf, 0, 64, nullptr), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaMemsetAsync(buf, 0, 64, nullptr), cudaSuccess);
  stridecopy_sim_fail(nullptr, 1, 0);  // the next call of any function
  const long before = stridecopy_sim_calls(nullptr);
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaErrorUnknown);
  EXPECT_EQ(stridecopy_sim_calls(nullptr), before + 1);
  (void)cudaGetLastError();
  CUDA_OK(cudaFree(buf));
}

TEST_F(Sim, PointerAttributesTellDevicePinnedAndPageableMemoryApart) {
  void* dev = nullptr;
  void* pinned = nullptr;
  int pageable = 0;
  CUDA_OK(cudaMalloc(&dev, 100));
  CUDA_OK(cudaHostAlloc(&pinned, 100, cudaHostAllocMapped));
  cudaPointerAttributes a{};
  CUDA_OK(cudaPointerGetAttributes(&a, static_cast<char*>(dev) + 99));
  EXPECT_EQ(a.type, cudaMemoryTypeDevice);
  EXPECT_EQ(a.device, 0);
  CUDA_OK(cudaPointerGetAttributes(&a, static_cast<char*>(pinned) + 10));
  EXPECT_EQ(a.type, cudaMemoryTypeHost);
  EXPECT_EQ(a.devicePointer, static_cast<char*>(pinned) + 10);
  CUDA_OK(cudaPointerGetAttributes(&a, &pageable));
  EXPECT_EQ(a.type, cudaMemoryTypeUnregistered);
  CUDA_OK(cudaHostRegister(&pageable, sizeof pageable, cudaHostRegisterDefault));
  CUDA_OK(cudaPointerGetAttributes(&a, &pageable));
  EXPECT_EQ(a.type, cudaMemoryTypeHost);
  CUDA_OK(cudaHostUnregister(&pageable));
  CUDA_OK(cudaFree(dev));
  CUDA_OK(cudaFreeHost(pinned));
}

}  // namespace
