// host/cuda/staging.hpp — staging rings (internal): device slots, pinned host slots, a copy stream and
// a bounce stream, with events per slot for each hand-over. One ring per (device, stream), cached in a
// bounded cache and reused across calls, by both directions.
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
  /// The hand-overs of slot s. Every pipeline records, after the last operation that reads or writes
  /// a slot, the slot's free event, and waits for it before it writes the slot again (also for a
  /// call's first chunks: the previous call on the ring may have used it; an event never recorded
  /// is complete). `filled` hands a slot from its writer to its reader within one chunk.
  [[nodiscard]] cudaEvent_t filled(int s) const { return filled_[std::size_t(s)]; }
  [[nodiscard]] cudaEvent_t device_free(int s) const { return device_free_[std::size_t(s)]; }
  [[nodiscard]] cudaEvent_t host_free(int s) const { return host_free_[std::size_t(s)]; }
  /// Recorded on the caller's stream where a call begins (work on the ring's streams waits for it)
  /// and on the ring's last stream where it ends (the caller's stream waits for that).
  [[nodiscard]] cudaEvent_t started() const { return started_; }
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
  cudaEvent_t started_ = nullptr, done_ = nullptr;
  std::vector<cudaEvent_t> filled_, device_free_, host_free_;
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
