// tests/device_buffer.hpp — for GPU tests: device memory RAII, canary-guarded poisoned device
// destinations, and the skip when no device is present.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "stridecopy/copy.hpp"

#define SKIP_WITHOUT_GPU()                                                  \
  do {                                                                      \
    if (!::stridecopy::cuda_available()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

namespace stridecopy::test {

#define TEST_CUDA(call) ASSERT_EQ((call), cudaSuccess) << #call

class device_bytes {
 public:
  explicit device_bytes(std::size_t n) : n_(n) {
    if (n && cudaMalloc(&p_, n) != cudaSuccess) {
      p_ = nullptr;
      (void)cudaGetLastError();
    }
  }
  ~device_bytes() {
    if (p_) (void)cudaFree(p_);
  }
  device_bytes(const device_bytes&) = delete;
  device_bytes& operator=(const device_bytes&) = delete;
  [[nodiscard]] bool ok() const { return p_ || n_ == 0; }
  [[nodiscard]] std::byte* data() const { return static_cast<std::byte*>(p_); }
  [[nodiscard]] std::size_t size() const { return n_; }
  void upload(const std::vector<std::byte>& host) const { (void)cudaMemcpy(p_, host.data(), host.size(), cudaMemcpyHostToDevice); }
  [[nodiscard]] std::vector<std::byte> download() const {
    std::vector<std::byte> host(n_);
    (void)cudaMemcpy(host.data(), p_, n_, cudaMemcpyDeviceToHost);
    return host;
  }

 private:
  void* p_ = nullptr;
  std::size_t n_;
};

/// A device destination poisoned with 0xA5 between 256-byte canaries of 0x5C; `misalign` bytes in.
class guarded_device_buffer {
 public:
  static constexpr std::size_t guard = 256;
  guarded_device_buffer(std::size_t bytes, std::size_t misalign = 0)
      : bytes_(bytes), misalign_(misalign), storage_(bytes + 2 * guard + misalign) {
    if (!storage_.ok()) return;
    (void)cudaMemset(storage_.data(), 0x5C, storage_.size());
    (void)cudaMemset(data(), 0xA5, bytes);
  }
  [[nodiscard]] bool ok() const { return storage_.ok(); }
  [[nodiscard]] std::byte* data() const { return storage_.data() + guard + misalign_; }
  [[nodiscard]] std::size_t size() const { return bytes_; }
  /// Waits for the device, then returns the destination bytes; canaries_ok says whether the guards held.
  std::vector<std::byte> contents(bool& canaries_ok) const {
    (void)cudaDeviceSynchronize();
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

}  // namespace stridecopy::test
