// host/cuda/staging.hpp — staging rings (internal): device slots, pinned host slots, a copy stream and
// a bounce stream, with an event per slot for each hand-over. One ring per (device, stream), cached
// in a bounded cache and reused across calls.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace stridecopy::detail {

class staging_ring {
 public:
  /// Held while a call enqueues work on the ring: calls on one stream take turns.
  std::mutex mutex;

  explicit staging_ring(int device) : device_(device) {}
  staging_ring(const staging_ring&) = delete;
  staging_ring& operator=(const staging_ring&) = delete;
  /// Waits for the work that uses the ring, then frees it.
  ~staging_ring() { release(); }

  /// At least `slots` slots of `slot_bytes` each on the device and, when asked, pinned on the host.
  /// Growing waits for `user` and the ring's streams, which may still use the old slots.
  void reserve(std::size_t slot_bytes, int slots, bool host_slots, cudaStream_t user);

  [[nodiscard]] std::byte* device_slot(int s) const {
    return static_cast<std::byte*>(device_ring_) + std::size_t(s) * slot_bytes_;
  }
  [[nodiscard]] std::byte* host_slot(int s) const {
    return static_cast<std::byte*>(host_ring_) + std::size_t(s) * slot_bytes_;
  }
  [[nodiscard]] cudaStream_t copy_stream() const { return copy_; }
  [[nodiscard]] cudaStream_t bounce_stream() const { return bounce_; }
  /// Recorded when a slot's gather is done, its device-to-host copy is done, its host slot is read.
  [[nodiscard]] cudaEvent_t gathered(int s) const { return gathered_[std::size_t(s)]; }
  [[nodiscard]] cudaEvent_t copied(int s) const { return copied_[std::size_t(s)]; }
  [[nodiscard]] cudaEvent_t bounced(int s) const { return bounced_[std::size_t(s)]; }
  [[nodiscard]] cudaEvent_t done() const { return done_; }
  [[nodiscard]] std::size_t scratch_bytes() const { return device_ring_ ? slot_bytes_ * std::size_t(slots_) : 0; }

  /// Waits for everything enqueued on the ring's own streams.
  void sync() const;
  /// Waits for the ring's work and frees its memory, streams and events; the next reserve rebuilds.
  void release() noexcept;

 private:
  int device_;
  void* device_ring_ = nullptr;
  void* host_ring_ = nullptr;
  std::size_t slot_bytes_ = 0;
  int slots_ = 0;
  cudaStream_t copy_ = nullptr, bounce_ = nullptr;
  cudaEvent_t done_ = nullptr;
  std::vector<cudaEvent_t> gathered_, copied_, bounced_;
};

/// The ring of `stream` on the current device, locked by the caller through its mutex.
std::shared_ptr<staging_ring> acquire_ring(cudaStream_t stream);

/// How many rings the cache keeps beyond those in use.
inline constexpr std::size_t ring_cache_capacity = 8;

/// Device memory the cached rings hold now (benchmarks report it as scratch).
std::size_t staging_scratch_bytes();
/// Frees every cached ring nobody is using.
void release_staging_rings();

}  // namespace stridecopy::detail
