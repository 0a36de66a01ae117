// tests/ordering_test.cu — the orchestration of the GPU paths (skipped without a device; run on a GPU
// and against the CUDA runtime simulator): every async copy returns while its stream is held by a
// host function and sees what the held work writes, driven copies working while a host function of
// another stream waits, a ring dropped while its gathers are queued, back-to-back copies on one stream, copies
// captured into a graph and replayed with new inputs, blocking calls refused under capture, a
// failure at each CUDA call of each strategy (simulator), data on another device than the current
// one, and a stream of another device refused.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cuda/driven.hpp"
#include "device_buffer.hpp"
#include "dispatch.hpp"
#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/npy.hpp"
#include "test_util.hpp"

#ifdef STRIDECOPY_SIMULATOR
#include "stridecopy_sim/control.h"
#endif

namespace sc = stridecopy;
namespace sd = stridecopy::detail;
using shape_t = std::vector<std::int64_t>;

namespace {

enum class memory { device, pinned, pageable };
const char* name_of(memory m) { return m == memory::device ? "device" : m == memory::pinned ? "pinned" : "pageable"; }

/// Bytes of one kind of memory, filled from host bytes and read back, with canaries around (the
/// canaries of device memory are checked on read-back).
class buffer {
 public:
  buffer(memory kind, std::size_t bytes) : kind_(kind), bytes_(bytes) {
    if (kind == memory::device)
      device_ = std::make_unique<sc::test::guarded_device_buffer>(bytes);
    else
      host_ = std::make_unique<sc::host_buffer>(
          bytes + 2 * guard, kind == memory::pinned ? sc::memory_kind::pinned : sc::memory_kind::pageable);
    fill(std::vector<std::byte>(bytes, std::byte{0xA5}));
    if (host_) {
      std::memset(host_->data(), 0x5C, guard);
      std::memset(static_cast<std::byte*>(host_->data()) + guard + bytes, 0x5C, guard);
    }
  }
  [[nodiscard]] std::byte* data() { return device_ ? device_->data() : static_cast<std::byte*>(host_->data()) + guard; }
  [[nodiscard]] std::size_t size() const { return bytes_; }
  [[nodiscard]] memory kind() const { return kind_; }
  /// Writes `bytes` at once (host code; device memory through a synchronous copy).
  void fill(const std::vector<std::byte>& bytes) {
    if (bytes.empty()) return;
    if (device_)
      EXPECT_EQ(cudaMemcpy(device_->data(), bytes.data(), bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
    else
      std::memcpy(data(), bytes.data(), bytes.size());
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  /// The bytes, once everything queued on the device is done; `canaries` says whether the guards held.
  std::vector<std::byte> contents(bool& canaries) {
    if (device_) return device_->contents(canaries);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const auto* b = static_cast<const std::byte*>(host_->data());
    canaries = true;
    for (std::size_t i = 0; i < guard; ++i)
      canaries = canaries && b[i] == std::byte{0x5C} && b[guard + bytes_ + i] == std::byte{0x5C};
    return {b + guard, b + guard + bytes_};
  }

 private:
  static constexpr std::size_t guard = 64;
  memory kind_;
  std::size_t bytes_;
  std::unique_ptr<sc::test::guarded_device_buffer> device_;
  std::unique_ptr<sc::host_buffer> host_;
};

/// One way of copying: where the source and destination live, the view (an index on an NCHW
/// float32 base, "T" for transpose(0, 2, 3, 1)), and the strategy and staged gather to force.
struct way {
  const char* name;
  memory from, to;
  const char* index;
  sc::test::asked_strategy how;
  sd::h2d_gather gather = sd::h2d_gather::automatic;
};

const way ways[] = {
    {"device to pinned, dma", memory::device, memory::pinned, "[:, ::-1, :, :]", sc::strategy::dma},
    {"device to pinned, staged", memory::device, memory::pinned, "[..., ::-1]", sc::strategy::staged},
    {"device to pinned, direct", memory::device, memory::pinned, "[..., ::-1]", sc::strategy::direct},
    {"device to pageable, staged", memory::device, memory::pageable, "[..., ::-1]", std::nullopt},
    {"pinned to device, dma", memory::pinned, memory::device, "[:, ::-1, :, :]", sc::strategy::dma},
    {"pinned to device, staged CPU gather", memory::pinned, memory::device, "[..., ::-1]", sc::strategy::staged,
     sd::h2d_gather::cpu},
    {"pinned to device, staged device gather", memory::pinned, memory::device, "[..., ::-1]", sc::strategy::staged,
     sd::h2d_gather::device},
    {"pinned to device, direct", memory::pinned, memory::device, "[..., ::-1]", sc::strategy::direct},
    {"pageable to device, staged", memory::pageable, memory::device, "T", std::nullopt},
    {"device to device, dma", memory::device, memory::device, "", std::nullopt},
    {"device to device, direct", memory::device, memory::device, "T", std::nullopt},
    {"host to host, cpu", memory::pageable, memory::pageable, "[..., ::-1]", std::nullopt},
};

/// A copy of one way over an NCHW float32 array: the source, the destination, and what it must hold.
struct copy_case {
  const way& w;
  shape_t shape;
  std::vector<std::byte> initial, updated;  ///< the source's bytes before and after the held work
  buffer src, dst;
  sc::view host_view;  ///< the view over `updated` (for the reference)
  sc::plan p;

  copy_case(const way& w_, shape_t shape_)
      : w(w_),
        shape(std::move(shape_)),
        initial(sc::test::random_bytes(bytes_of(shape))),
        updated(sc::test::random_bytes(bytes_of(shape))),
        src(w.from, initial.size()),
        dst(w.to, bytes_of(shape)),
        host_view(view_over(updated.data(), memory::pageable)) {
    src.fill(initial);
    sc::view v = view_over(src.data(), w.from);
    p = sc::make_plan(v, w.to == memory::device ? sc::memory_kind::device : sc::memory_kind::pageable);
  }
  static std::size_t bytes_of(const shape_t& s) { return std::size_t(s[0] * s[1] * s[2] * s[3]) * 4; }
  sc::view view_over(void* base, memory kind) const {
    const sc::view b =
        sc::contiguous_view(base, sc::dtype_of<float>(), shape,
                            kind == memory::device ? sc::memory_kind::device : sc::memory_kind::pageable);
    if (std::string(w.index) == "T") return sc::permute(b, {0, 2, 3, 1});
    return std::string(w.index).empty() ? b : sc::slice(b, w.index);
  }
  /// Enqueues the copy on `stream`; returns what ran.
  sc::strategy enqueue(cudaStream_t stream) {
    sd::exec_options exec;
    exec.staged_gather = w.gather;
    return sd::execute(p, src.data(), dst.data(), dst.size(), stream, {w.how}, exec);
  }
  /// Checks the destination against the view of `source` bytes.
  void expect_copy_of(const std::vector<std::byte>& source) {
    const sc::view v = sc::contiguous_view(const_cast<std::byte*>(source.data()), sc::dtype_of<float>(), shape);
    const sc::view hv = std::string(w.index) == "T"    ? sc::permute(v, {0, 2, 3, 1})
                        : std::string(w.index).empty() ? v
                                                       : sc::slice(v, w.index);
    const auto expected = sc::test::reference_copy(hv);
    bool canaries = false;
    const auto got = dst.contents(canaries);
    EXPECT_TRUE(canaries);
    EXPECT_EQ(sc::test::first_difference(got, expected), -1);
  }
};

/// A non-blocking stream held by a host function until open(); when it opens, the held work writes
/// `updated` into the source (host memory directly; device memory by a copy queued behind the gate).
class gated_stream {
 public:
  gated_stream() { EXPECT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess); }
  ~gated_stream() {
    open();
    (void)cudaStreamSynchronize(stream_);
    (void)cudaStreamDestroy(stream_);
  }
  [[nodiscard]] cudaStream_t get() const { return stream_; }
  void close_over(copy_case& c) {
    open_ = false;
    target_ = &c;
    staging_ = std::make_unique<sc::host_buffer>(c.updated.size());
    std::memcpy(staging_->data(), c.updated.data(), c.updated.size());
    ASSERT_EQ(cudaLaunchHostFunc(stream_, hold, this), cudaSuccess);
    if (c.src.kind() == memory::device) {
      ASSERT_EQ(cudaMemcpyAsync(c.src.data(), staging_->data(), c.updated.size(), cudaMemcpyHostToDevice, stream_),
                cudaSuccess);
    }
  }
  /// Holds the stream until open(), writing nothing; returns once the holding host function runs.
  void close() {
    open_ = false;
    holding_ = false;
    target_ = nullptr;
    ASSERT_EQ(cudaLaunchHostFunc(stream_, hold, this), cudaSuccess);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!holding_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    ASSERT_TRUE(holding_) << "the holding host function did not start";
  }
  void open() { open_ = true; }

 private:
  static void CUDART_CB hold(void* p) {
    auto* g = static_cast<gated_stream*>(p);
    g->holding_ = true;
    while (!g->open_.load()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (g->target_ && g->target_->src.kind() != memory::device)
      std::memcpy(g->target_->src.data(), g->target_->updated.data(), g->target_->updated.size());
  }
  cudaStream_t stream_ = nullptr;
  std::atomic<bool> open_{true};
  std::atomic<bool> holding_{false};
  copy_case* target_ = nullptr;
  std::unique_ptr<sc::host_buffer> staging_;
};

/// Runs `call` on another thread; true when it returned within `limit` (it is waited for either way,
/// after `release` has run).
bool returns_within(const std::function<void()>& call, std::chrono::milliseconds limit,
                    const std::function<void()>& release) {
  std::atomic<bool> done{false};
  std::exception_ptr error;
  std::thread t([&] {
    try {
      call();
    } catch (...) {
      error = std::current_exception();
    }
    done = true;
  });
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const bool returned = done;
  release();
  t.join();
  if (error) std::rethrow_exception(error);
  return returned;
}

}  // namespace

// Every async copy returns while its stream is held, on a fresh stream (its first staging ring) and
// again on the same stream with a copy four times larger (the ring grows), and sees what the held
// work wrote to its source.
TEST(Ordering, EveryAsyncCopyReturnsWhileItsStreamIsHeld) {
  SKIP_WITHOUT_GPU();
  for (const way& w : ways) {
    SCOPED_TRACE(w.name);
    gated_stream s;
    for (const shape_t& shape : {shape_t{2, 3, 128, 512}, shape_t{2, 3, 256, 1024}}) {
      SCOPED_TRACE(sc::shape_string(shape));
      copy_case c(w, shape);
      s.close_over(c);
      if (HasFatalFailure()) return;
      sc::strategy ran = sc::strategy::none;
      const bool returned =
          returns_within([&] { ran = c.enqueue(s.get()); }, std::chrono::seconds(10), [&] { s.open(); });
      EXPECT_TRUE(returned) << "the call waited for its stream";
      if (w.how) {
        EXPECT_EQ(ran, *w.how);
      }
      ASSERT_EQ(cudaStreamSynchronize(s.get()), cudaSuccess);
      c.expect_copy_of(c.updated);
    }
  }
}

// to_device returns an array whose copy is queued behind the held work.
TEST(Ordering, ToDeviceReturnsWhileItsStreamIsHeld) {
  SKIP_WITHOUT_GPU();
  for (memory from : {memory::pageable, memory::pinned, memory::device}) {
    SCOPED_TRACE(name_of(from));
    const way w{"to_device", from, memory::device, "[:, ::-1, :, ::-1]", std::nullopt};
    gated_stream s;
    copy_case c(w, {2, 3, 64, 96});
    s.close_over(c);
    std::unique_ptr<sc::device_array> out;
    const bool returned = returns_within(
        [&] { out = std::make_unique<sc::device_array>(sc::to_device(c.view_over(c.src.data(), from), s.get())); },
        std::chrono::seconds(10), [&] { s.open(); });
    EXPECT_TRUE(returned) << "to_device waited for its stream";
    ASSERT_TRUE(out);
    const sc::host_array back = sc::to_host(out->as_view(), s.get());
    const auto expected = sc::test::reference_copy(c.view_over(c.updated.data(), memory::pageable));
    ASSERT_EQ(back.bytes(), expected.size());
    EXPECT_EQ(std::memcmp(back.data(), expected.data(), expected.size()), 0);
  }
}

// 32 copies each way of mixed sizes on one stream, one synchronisation at the end: the staging
// slots wrap many times, the ring grows, and every result is whole.
TEST(Ordering, BackToBackCopiesOnOneStream) {
  SKIP_WITHOUT_GPU();
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  const std::array<shape_t, 4> shapes{shape_t{1, 3, 8, 8}, shape_t{2, 3, 64, 64}, shape_t{2, 3, 200, 300},
                                      shape_t{1, 3, 512, 700}};
  std::vector<std::unique_ptr<copy_case>> cases;
  const way d2h_pinned{"d2h", memory::device, memory::pinned, "[..., ::-1]", sc::strategy::staged};
  const way d2h_pageable{"d2h", memory::device, memory::pageable, "[:, ::-1, :, ::-1]", std::nullopt};
  const way h2d_pinned{"h2d", memory::pinned, memory::device, "T", std::nullopt};
  const way h2d_pageable{"h2d", memory::pageable, memory::device, "[..., ::-1]", std::nullopt};
  for (int i = 0; i < 32; ++i) {
    const shape_t& shape = shapes[std::size_t(i * 7 % 4)];
    cases.push_back(std::make_unique<copy_case>(i % 2 ? d2h_pinned : d2h_pageable, shape));
    cases.push_back(std::make_unique<copy_case>(i % 3 ? h2d_pinned : h2d_pageable, shape));
  }
  for (auto& c : cases) (void)c->enqueue(s);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("copy " + std::to_string(i));
    cases[i]->expect_copy_of(cases[i]->initial);
    if (HasFailure()) break;
  }
  (void)cudaStreamDestroy(s);
}

// A copy whose host side is CPU work (pageable memory, the CPU gather) does that work on a library
// thread, not in a CUDA host function: it goes on while a host function of another stream waits,
// although CUDA may run the host functions of a device one at a time (the simulator does). Only its
// completion on its own stream, held by one host function, may wait behind the other.
TEST(Ordering, DrivenCopiesWorkWhileAHostFunctionOfAnotherStreamWaits) {
  SKIP_WITHOUT_GPU();
  const way driven[] = {
      {"device to pageable", memory::device, memory::pageable, "[..., ::-1]", std::nullopt},
      {"pinned to device, CPU gather", memory::pinned, memory::device, "[..., ::-1]", sc::strategy::staged,
       sd::h2d_gather::cpu},
      {"pageable to device", memory::pageable, memory::device, "T", std::nullopt},
  };
  for (const way& w : driven) {
    SCOPED_TRACE(w.name);
    cudaStream_t s = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    copy_case c(w, {2, 3, 128, 512});  // before the gate: filling it synchronises the device
    gated_stream other;
    other.close();
    if (HasFatalFailure()) return;
    const std::uint64_t before = sd::driven_copies_finished();
    EXPECT_EQ(c.enqueue(s), sc::strategy::staged);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sd::driven_copies_finished() == before && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const bool worked = sd::driven_copies_finished() != before;
    other.open();
    EXPECT_TRUE(worked) << "the copy's work waited for a host function of another stream";
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    c.expect_copy_of(c.initial);
    (void)cudaStreamDestroy(s);
  }
}

// The device slots a staged device gather reads on the caller's stream are freed in stream order
// after the last gather, whatever stream frees them: the ring is dropped (release_cached_memory)
// as soon as the call returns, while its gathers are still queued. The simulator reports a free
// that is not ordered after a use; the result must be whole.
TEST(Ordering, ARingDroppedWhileItsGathersAreQueuedIsFreedAfterThem) {
  SKIP_WITHOUT_GPU();
  const way w{"pinned to device, staged device gather",
              memory::pinned,
              memory::device,
              "[..., ::-1]",
              sc::strategy::staged,
              sd::h2d_gather::device};
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  for (const shape_t& shape : {shape_t{2, 3, 128, 512}, shape_t{2, 3, 512, 1024}}) {
    SCOPED_TRACE(sc::shape_string(shape));
    copy_case c(w, shape);
    EXPECT_EQ(c.enqueue(s), sc::strategy::staged);
    sc::release_cached_memory();
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    c.expect_copy_of(c.initial);
  }
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
#ifdef STRIDECOPY_SIMULATOR
  std::vector<char> reports(1 << 14);
  EXPECT_EQ(stridecopy_sim_take_reports(reports.data(), reports.size()), 0) << reports.data();
#endif
  (void)cudaStreamDestroy(s);
}

// Each strategy that captures, captured into a graph and launched three times, the source
// rewritten before each launch.
TEST(Ordering, CapturedCopiesReplayWithNewInputs) {
  SKIP_WITHOUT_GPU();
  const way capturable[] = {
      {"device to pinned, dma", memory::device, memory::pinned, "[:, ::-1, :, :]", sc::strategy::dma},
      {"device to pinned, direct", memory::device, memory::pinned, "[..., ::-1]", sc::strategy::direct},
      {"device to pinned, automatic", memory::device, memory::pinned, "T", std::nullopt},
      {"pinned to device, dma", memory::pinned, memory::device, "[:, ::-1, :, :]", sc::strategy::dma},
      {"pinned to device, direct", memory::pinned, memory::device, "[..., ::-1]", sc::strategy::direct},
      {"device to device, dma", memory::device, memory::device, "", std::nullopt},
      {"device to device, direct", memory::device, memory::device, "T", std::nullopt},
      {"host to host, cpu", memory::pinned, memory::pageable, "[..., ::-1]", std::nullopt},
  };
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  for (const way& w : capturable) {
    SCOPED_TRACE(w.name);
    copy_case c(w, {2, 3, 40, 72});
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    try {
      (void)c.enqueue(s);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "refused under capture: " << e.what();
    }
    cudaGraph_t graph = nullptr;
    ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
    cudaGraphExec_t exec = nullptr;
    ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess);
    for (int launch = 0; launch < 3; ++launch) {
      SCOPED_TRACE("launch " + std::to_string(launch));
      const auto input = sc::test::random_bytes(c.initial.size());
      c.src.fill(input);
      ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
      ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
      c.expect_copy_of(input);
    }
    ASSERT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  }
  (void)cudaStreamDestroy(s);
}

// What cannot be captured is refused before any work, and the capture goes on.
TEST(Ordering, UncapturableCallsAreRefusedAndTheCaptureGoesOn) {
  SKIP_WITHOUT_GPU();
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  const way staged{"staged", memory::device, memory::pinned, "[..., ::-1]", sc::strategy::staged};
  const way pageable{"pageable", memory::device, memory::pageable, "[..., ::-1]", std::nullopt};
  copy_case a(staged, {2, 3, 40, 72}), b(pageable, {2, 3, 40, 72});
  const sc::view dv = a.view_over(a.src.data(), memory::device);
  const sc::view hv = a.view_over(a.initial.data(), memory::pageable);
  std::vector<std::byte> out(a.dst.size());
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_THROW((void)a.enqueue(s), sc::invalid_view);
  EXPECT_THROW((void)b.enqueue(s), sc::invalid_view);
  EXPECT_THROW(sc::copy(dv, a.dst.data(), a.dst.size(), s), sc::invalid_argument);
  EXPECT_THROW((void)sc::to_host(dv, s), sc::invalid_argument);
  EXPECT_THROW(sc::copy(hv, a.src.data(), a.src.size(), s), sc::invalid_argument);
  EXPECT_THROW(sc::copy(a.p, a.src.data(), a.dst.data(), a.dst.size(), s), sc::invalid_argument);
  EXPECT_THROW((void)sc::to_device(dv, s), sc::invalid_argument);
  cudaStreamCaptureStatus status{};
  ASSERT_EQ(cudaStreamIsCapturing(s, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusActive);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  if (graph) (void)cudaGraphDestroy(graph);
  bool canaries = false;
  const auto untouched = a.dst.contents(canaries);
  EXPECT_TRUE(canaries);
  EXPECT_EQ(untouched, std::vector<std::byte>(untouched.size(), std::byte{0xA5}));
  (void)cudaStreamDestroy(s);
}

// Data on device 1 while device 0 is current: every entry point runs on the data's device, leaves the
// current device as it was, and copies right.
TEST(Ordering, DataOnAnotherDeviceThanTheCurrentOne) {
  SKIP_WITHOUT_GPU();
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "needs two devices";
  const shape_t shape{2, 3, 50, 70};
  const auto host = sc::test::random_bytes(std::size_t(2 * 3 * 50 * 70) * 4);
  const sc::view hv = sc::slice(sc::contiguous_view(host.data(), sc::dtype_of<float>(), shape), "[:, ::-1, :, ::-1]");
  const auto expected = sc::test::reference_copy(hv);
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  void* mem1 = nullptr;
  ASSERT_EQ(cudaMalloc(&mem1, host.size()), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(mem1, host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  const sc::view dv =
      sc::slice(sc::contiguous_view(mem1, sc::dtype_of<float>(), shape, sc::memory_kind::device), "[:, ::-1, :, ::-1]");
  const auto current_is_0 = [] {
    int d = -1;
    return cudaGetDevice(&d) == cudaSuccess && d == 0;
  };
  for (const sc::test::asked_strategy how :
       std::array<sc::test::asked_strategy, 3>{std::nullopt, sc::strategy::staged, sc::strategy::direct}) {
    SCOPED_TRACE(sc::test::name_of(how));
    sc::host_buffer out(expected.size());
    sc::copy(dv, out.data(), out.size(), cudaStream_t{}, {how});
    EXPECT_TRUE(current_is_0());
    EXPECT_EQ(std::memcmp(out.data(), expected.data(), expected.size()), 0);
    std::vector<std::byte> pageable(expected.size());
    sc::copy(dv, pageable.data(), pageable.size(), cudaStream_t{},
             {how == sc::strategy::direct ? sc::strategy::staged : how});
    EXPECT_EQ(pageable, expected);
  }
  {
    const sc::host_array a = sc::to_host(dv);
    EXPECT_TRUE(current_is_0());
    EXPECT_EQ(std::memcmp(a.data(), expected.data(), expected.size()), 0);
  }
  {
    const sc::device_array d = sc::to_device(dv);  // on the view's device
    EXPECT_TRUE(current_is_0());
    cudaPointerAttributes attr{};
    ASSERT_EQ(cudaPointerGetAttributes(&attr, d.data()), cudaSuccess);
    EXPECT_EQ(attr.device, 1);
    const sc::host_array back = sc::to_host(d.as_view());
    EXPECT_EQ(std::memcmp(back.data(), expected.data(), expected.size()), 0);
  }
  {
    void* dst1 = nullptr;
    ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&dst1, expected.size()), cudaSuccess);
    ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
    for (bool from_host : {false, true}) {
      SCOPED_TRACE(from_host ? "host view into device 1" : "device 1 view into device 1");
      ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
      ASSERT_EQ(cudaMemset(dst1, 0, expected.size()), cudaSuccess);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
      sc::copy(from_host ? hv : dv, dst1, expected.size());
      EXPECT_TRUE(current_is_0());
      std::vector<std::byte> back(expected.size());
      ASSERT_EQ(cudaMemcpy(back.data(), dst1, back.size(), cudaMemcpyDeviceToHost), cudaSuccess);
      EXPECT_EQ(back, expected);
    }
    ASSERT_EQ(cudaFree(dst1), cudaSuccess);
  }
  {
    const auto dir = std::filesystem::temp_directory_path() / ("stridecopy_dev1_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    sc::save_npy(dir / "a.npy", dv);
    EXPECT_TRUE(current_is_0());
    const sc::host_array back = sc::load_npy(dir / "a.npy");
    EXPECT_EQ(std::memcmp(back.data(), expected.data(), expected.size()), 0);
    std::filesystem::remove_all(dir);
  }
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaFree(mem1), cudaSuccess);
}

// A stream of another device than the data's is refused before any work, naming both devices.
TEST(Ordering, AStreamOfAnotherDeviceIsRefused) {
  SKIP_WITHOUT_GPU();
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "needs two devices";
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  void* mem1 = nullptr;
  ASSERT_EQ(cudaMalloc(&mem1, 4096), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  cudaStream_t s0 = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s0, cudaStreamNonBlocking), cudaSuccess);
  const sc::view dv = sc::flip(sc::contiguous_view(mem1, sc::dtype_of<float>(), {1024}, sc::memory_kind::device), 0);
  sc::host_buffer out(4096);
  std::memset(out.data(), 0xA5, 4096);
  try {
    sc::copy_async(dv, out.data(), 4096, s0);
    ADD_FAILURE() << "no error";
  } catch (const sc::invalid_view& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("device 0"), std::string::npos) << what;
    EXPECT_NE(what.find("device 1"), std::string::npos) << what;
  }
  for (std::size_t i = 0; i < 4096; ++i) ASSERT_EQ(static_cast<const std::byte*>(out.data())[i], std::byte{0xA5});
  (void)cudaStreamDestroy(s0);
  ASSERT_EQ(cudaFree(mem1), cudaSuccess);
}

#ifdef STRIDECOPY_SIMULATOR
// A failure at each CUDA call a copy makes, in turn: the error names the call (thrown by the call,
// or by the next one on the stream when the copy's library thread failed), nothing is left running,
// no report is made, and the next copy on the same stream is right.
TEST(Ordering, AFailureAtEachCudaCallOfEachStrategy) {
  for (const way& w : ways) {
    SCOPED_TRACE(w.name);
    cudaStream_t s = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    long calls = 0;
    {
      copy_case c(w, {2, 3, 128, 256});
      const long before = stridecopy_sim_calls(nullptr);
      (void)c.enqueue(s);
      calls = stridecopy_sim_calls(nullptr) - before;
      ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
      c.expect_copy_of(c.initial);
    }
    for (long k = 1; k <= calls; ++k) {
      SCOPED_TRACE("failing call " + std::to_string(k) + " of " + std::to_string(calls));
      copy_case c(w, {2, 3, 128, 256});
      stridecopy_sim_fail(nullptr, k, 0);
      try {
        (void)c.enqueue(s);
      } catch (const sc::cuda_error& e) {
        EXPECT_NE(std::string(e.what()).find(" failed: cuda"), std::string::npos) << e.what();
      }
      stridecopy_sim_clear_faults();
      (void)cudaGetLastError();
      ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
      copy_case next(w, {2, 3, 128, 256});
      try {
        (void)next.enqueue(s);
      } catch (const sc::cuda_error& e) {
        // A failure on a copy's library thread, after its call returned, is reported by the next call.
        EXPECT_NE(std::string(e.what()).find("an earlier copy on this stream failed"), std::string::npos) << e.what();
        (void)next.enqueue(s);
      }
      ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
      next.expect_copy_of(next.initial);
      std::vector<char> reports(1 << 14);
      EXPECT_EQ(stridecopy_sim_take_reports(reports.data(), reports.size()), 0) << reports.data();
      if (HasFailure()) break;
    }
    (void)cudaStreamDestroy(s);
  }
}

// to_host fails in the middle of its copies; the pinned block it drew goes back to the pool, and the
// next to_host, on another stream, may draw it: it must not find copies of the failed call still
// writing it.
TEST(Ordering, AFailedToHostLeavesNoCopyWritingItsBlock) {
  const shape_t shape{4, 3, 64, 96};
  const auto host = sc::test::random_bytes(std::size_t(4 * 3 * 64 * 96) * 4);
  sc::test::device_bytes mem(host.size());
  mem.upload(host);
  const sc::view dv =
      sc::slice(sc::contiguous_view(mem.data(), sc::dtype_of<float>(), shape, sc::memory_kind::device), "[:, ::-1]");
  const sc::view dv2 =
      sc::slice(sc::contiguous_view(mem.data(), sc::dtype_of<float>(), shape, sc::memory_kind::device), "[::-1]");
  const sc::view hv2 =
      sc::slice(sc::contiguous_view(const_cast<std::byte*>(host.data()), sc::dtype_of<float>(), shape), "[::-1]");
  const auto expected = sc::test::reference_copy(hv2);
  // On the legacy stream the runs are copied one by one (no batched copy): the sixth fails.
  const cudaStream_t a = cudaStreamLegacy;
  cudaStream_t b = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(stridecopy_sim_sleep(a, 20000), cudaSuccess);  // the first copies run late
  stridecopy_sim_fail("cudaMemcpyAsync", 6, 0);
  EXPECT_THROW((void)sc::to_host(dv, a, {sc::strategy::dma}), sc::cuda_error);
  stridecopy_sim_clear_faults();
  (void)cudaGetLastError();
  const sc::host_array out = sc::to_host(dv2, b, {sc::strategy::dma});
  EXPECT_EQ(std::memcmp(out.data(), expected.data(), expected.size()), 0);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(stridecopy_sim_take_reports(nullptr, 0), 0);
  (void)cudaStreamDestroy(b);
}
#endif
