// host/cuda/resources.hpp — owned CUDA resources (internal), as RMM's cuda_stream and device_buffer
// are: a non-blocking stream and an event, each destroyed by its owner. Move-only; a failed creation
// throws cuda_error naming the call; destruction ignores failures (it may run during teardown).
#pragma once

#include <cuda_runtime_api.h>

#include <utility>

#include "cuda/check.hpp"

namespace stridecopy::detail {

/// A non-blocking stream of the current device. Destroying it does not wait: work already queued
/// runs to the end (cudaStreamDestroy).
class owned_stream {
 public:
  owned_stream() = default;
  static owned_stream create() {
    owned_stream s;
    STRIDECOPY_CUDA_TRY(cudaStreamCreateWithFlags(&s.handle_, cudaStreamNonBlocking));
    return s;
  }
  owned_stream(owned_stream&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
  owned_stream& operator=(owned_stream&& o) noexcept {
    std::swap(handle_, o.handle_);
    return *this;
  }
  owned_stream(const owned_stream&) = delete;
  owned_stream& operator=(const owned_stream&) = delete;
  ~owned_stream() {
    if (handle_) STRIDECOPY_CUDA_TRY_NOEXCEPT(cudaStreamDestroy(handle_));
  }
  [[nodiscard]] cudaStream_t get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  cudaStream_t handle_ = nullptr;
};

/// An event of the current device, without timing. Destroying it does not wait for a pending record.
class owned_event {
 public:
  owned_event() = default;
  static owned_event create() {
    owned_event e;
    STRIDECOPY_CUDA_TRY(cudaEventCreateWithFlags(&e.handle_, cudaEventDisableTiming));
    return e;
  }
  owned_event(owned_event&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
  owned_event& operator=(owned_event&& o) noexcept {
    std::swap(handle_, o.handle_);
    return *this;
  }
  owned_event(const owned_event&) = delete;
  owned_event& operator=(const owned_event&) = delete;
  ~owned_event() {
    if (handle_) STRIDECOPY_CUDA_TRY_NOEXCEPT(cudaEventDestroy(handle_));
  }
  [[nodiscard]] cudaEvent_t get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }
  /// Records the event on `s`, then makes `waiter` wait for it: `waiter`'s later work follows `s`'s
  /// work so far.
  void order(cudaStream_t s, cudaStream_t waiter) const {
    STRIDECOPY_CUDA_TRY(cudaEventRecord(handle_, s));
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(waiter, handle_, 0));
  }

 private:
  cudaEvent_t handle_ = nullptr;
};

}  // namespace stridecopy::detail
