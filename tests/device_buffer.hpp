// tests/device_buffer.hpp — for GPU tests: device memory with synchronous, device-wide ordered
// upload and download, canary-guarded poisoned device destinations, and the skip when no device is
// present. Every helper finishes its device work before it returns (cudaDeviceSynchronize), so a
// test's own non-blocking streams never race the legacy stream these helpers use.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "stridecopy/copy.hpp"
#include "stridecopy/device_array.hpp"

#define SKIP_WITHOUT_GPU()                                                 \
  do {                                                                     \
    if (!::stridecopy::cuda_available()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

namespace stridecopy::test {

/// Built against the CUDA runtime simulator (tests/sim): kernels are replayed on the CPU, so the
/// largest cases shrink (each test says by how much) and the simulator's own checks run too.
#ifdef STRIDECOPY_SIMULATOR
inline constexpr bool simulated = true;
#else
inline constexpr bool simulated = false;
#endif

#define TEST_CUDA(call) ASSERT_EQ((call), cudaSuccess) << #call

/// Device bytes (stridecopy::device_buffer) whose owner waits for the whole device before freeing:
/// a failing test that returns early must not free memory a kernel still writes.
class device_bytes {
 public:
  explicit device_bytes(std::size_t n) : buffer_(n) { (void)cudaDeviceSynchronize(); }
  ~device_bytes() { (void)cudaDeviceSynchronize(); }
  device_bytes(const device_bytes&) = delete;
  device_bytes& operator=(const device_bytes&) = delete;
  [[nodiscard]] std::byte* data() { return static_cast<std::byte*>(buffer_.data()); }
  [[nodiscard]] const std::byte* data() const { return static_cast<const std::byte*>(buffer_.data()); }
  [[nodiscard]] std::size_t size() const { return buffer_.size(); }
  /// Copies `host` to the start of the buffer; complete when this returns.
  void upload(const std::vector<std::byte>& host) {
    EXPECT_EQ(cudaMemcpy(data(), host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  /// The buffer's bytes, after everything enqueued on the device so far.
  [[nodiscard]] std::vector<std::byte> download() const {
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<std::byte> host(size());
    EXPECT_EQ(cudaMemcpy(host.data(), data(), size(), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }

 private:
  device_buffer buffer_;
};

/// A device destination poisoned with 0xA5 between 256-byte canaries of 0x5C; `misalign` bytes in.
class guarded_device_buffer {
 public:
  static constexpr std::size_t guard = 256;
  explicit guarded_device_buffer(std::size_t bytes, std::size_t misalign = 0)
      : bytes_(bytes), misalign_(misalign), storage_(bytes + 2 * guard + misalign) {
    EXPECT_EQ(cudaMemset(storage_.data(), 0x5C, storage_.size()), cudaSuccess);
    EXPECT_EQ(cudaMemset(data(), 0xA5, bytes), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);  // cudaMemset is asynchronous
  }
  [[nodiscard]] std::byte* data() { return storage_.data() + guard + misalign_; }
  [[nodiscard]] std::size_t size() const { return bytes_; }
  /// Waits for the device, then returns the destination bytes; canaries_ok says whether the guards held.
  std::vector<std::byte> contents(bool& canaries_ok) const {
    const auto all = storage_.download();
    canaries_ok = true;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const bool inside = i >= guard + misalign_ && i < guard + misalign_ + bytes_;
      if (!inside && all[i] != std::byte{0x5C}) canaries_ok = false;
    }
    return {all.begin() + std::ptrdiff_t(guard + misalign_), all.begin() + std::ptrdiff_t(guard + misalign_ + bytes_)};
  }
  [[nodiscard]] bool untouched() const {
    bool canaries = false;
    const auto c = contents(canaries);
    for (auto b : c)
      if (b != std::byte{0xA5}) return false;
    return canaries;
  }

 private:
  std::size_t bytes_, misalign_;
  device_bytes storage_;
};

/// One thread of expect_threads_on_their_own_streams: what went wrong, or nothing.
template <class Body>
std::string run_on_own_stream(int id, std::uint64_t seed, Body& body) {
  cudaStream_t s = nullptr;
  if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) return "no stream";
  std::mt19937_64 g(std::uint64_t(id) * 7919 + seed);
  std::string failure;
  try {
    if (const int wrong = body(g, s); wrong != 0) failure = std::to_string(wrong) + " wrong copies";
  } catch (const std::exception& e) {
    failure = std::string("threw: ") + e.what();
  }
  (void)cudaStreamSynchronize(s);
  (void)cudaStreamDestroy(s);
  return failure;
}

/// Runs `body(rng, stream)` on `threads` host threads at once, each with its own non-blocking stream
/// and random generator (seeded from the thread's id and `seed`); `body` returns how many of its
/// copies came out wrong. Each thread's failures, a stream it could not create and an exception it
/// threw are reported per thread.
template <class Body>
void expect_threads_on_their_own_streams(int threads, std::uint64_t seed, Body body) {
  std::vector<std::string> failures(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    std::string* out = &failures[std::size_t(t)];
    pool.emplace_back([t, seed, out, &body] { *out = run_on_own_stream(t, seed, body); });
  }
  for (auto& t : pool) t.join();
  for (int t = 0; t < threads; ++t) EXPECT_EQ(failures[std::size_t(t)], "") << "thread " << t;
}

}  // namespace stridecopy::test
