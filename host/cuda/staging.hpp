// host/cuda/staging.hpp — staging rings (internal): device slots, pinned host slots, a copy stream and
// a gather stream, with events per slot for each hand-over; ring_turn, one call's use of a ring. One
// ring per (device, stream), cached in a bounded cache and reused across calls, by both directions.
// Nothing a ring does waits on the host: memory is allocated and given back in stream order.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "cuda/pinned_pool.hpp"
#include "cuda/resources.hpp"
#include "stridecopy/device_array.hpp"

namespace stridecopy::detail {

/// What one call asks of a ring: at least `slots` slots of `slot_bytes` each, on the device and/or
/// pinned on the host.
struct slot_request {
  std::size_t slot_bytes = 0;
  int slots = 0;
  bool device = false;
  bool host = false;
};

class staging_ring {
 public:
  /// Held while a call enqueues work on the ring: calls on one stream take turns.
  std::mutex mutex;

  explicit staging_ring(int device) : device_(device) {}
  staging_ring(const staging_ring&) = delete;
  staging_ring& operator=(const staging_ring&) = delete;
  /// Gives the memory back after every operation that uses it, in stream order; does not wait.
  ~staging_ring();

  [[nodiscard]] std::byte* device_slot(int s) {
    return static_cast<std::byte*>(device_ring_.data()) + std::size_t(s) * device_slot_bytes_;
  }
  [[nodiscard]] std::byte* host_slot(int s) {
    return static_cast<std::byte*>(host_ring_.get()) + std::size_t(s) * host_slot_bytes_;
  }
  [[nodiscard]] cudaStream_t copy_stream() const { return copy_.get(); }
  /// The ring's own stream for gathers that a library thread queues (driven copies).
  [[nodiscard]] cudaStream_t gather_stream() const { return gather_.get(); }
  /// The hand-overs of slot s. Every pipeline records, after the last operation that reads or writes
  /// a slot, the slot's free event (device_free for its device slot, host_free for its host slot),
  /// and waits for it before it writes the slot again (also for a call's first chunks: the previous
  /// call on the ring may have used it; an event never recorded is complete). `filled` hands a slot
  /// from its writer to its reader within one chunk.
  [[nodiscard]] cudaEvent_t filled(int s) const { return filled_[std::size_t(s)].get(); }
  [[nodiscard]] cudaEvent_t device_free(int s) const { return device_free_[std::size_t(s)].get(); }
  [[nodiscard]] cudaEvent_t host_free(int s) const { return host_free_[std::size_t(s)].get(); }
  /// Recorded on the caller's stream where a call begins (work on the ring's streams waits for it)
  /// and on the ring's last stream where it ends (the caller's stream waits for that).
  [[nodiscard]] cudaEvent_t started() const { return started_.get(); }
  [[nodiscard]] cudaEvent_t done() const { return done_.get(); }
  /// Device memory the ring holds.
  [[nodiscard]] std::size_t scratch_bytes() const { return device_ring_.size(); }
  /// Pinned host memory the ring holds.
  [[nodiscard]] std::size_t pinned_bytes() const { return host_ring_.size(); }

 private:
  friend class ring_turn;
  /// Makes the streams and events (once; all or none).
  void open();
  /// The slots `want` names. New device memory is allocated in stream order on the copy stream and
  /// `user` is made to wait for it; the memory it replaces goes back once every operation that used
  /// it has run. Never waits on the host.
  void reserve(const slot_request& want, cudaStream_t user);
  /// Makes the copy stream wait for every use of the slots so far: the gather stream's work and
  /// each slot's last user, whatever stream recorded its events.
  void after_every_use() const;
  /// Frees the device slots, in stream order after every use (none when they were never made).
  void retire_device();
  /// Returns the host slots to the pinned pool, which hands them out only after every use.
  void retire_host();

  int device_;
  owned_stream copy_, gather_;
  owned_event started_, done_, allocated_, fence_;
  std::vector<owned_event> filled_, device_free_, host_free_;
  device_buffer device_ring_;  ///< allocated and freed on copy_, so declared after it
  std::size_t device_slot_bytes_ = 0;
  int device_slots_ = 0;
  pinned_block host_ring_;
  std::size_t host_slot_bytes_ = 0;
  int host_slots_ = 0;
};

/// One call's turn on a staging ring, from its reservation to its end, the same for every pipeline
/// of both directions: it holds the ring's mutex (calls on one stream take turns) and reserves the
/// slots the call asks for. A call that leaves by an exception has work queued on the ring's streams
/// and its caller's that may still read or write the slots: the turn then waits for all of it, so the
/// next call finds the ring idle.
class ring_turn {
 public:
  /// The cached ring of `stream` on the current device; `stream` works on the slots too (it waits for
  /// new device slots, and for everything on a failure).
  ring_turn(cudaStream_t stream, const slot_request& want);
  /// A ring only a library thread uses (a driven copy's): its own gather stream works on the device slots.
  ring_turn(staging_ring& ring, const slot_request& want);
  ~ring_turn();
  ring_turn(const ring_turn&) = delete;
  ring_turn& operator=(const ring_turn&) = delete;

  [[nodiscard]] staging_ring& ring() const { return ring_; }

 private:
  /// On the ring `held` owns, or on `ring` when it is given.
  ring_turn(std::shared_ptr<staging_ring> held, staging_ring* ring, const slot_request& want,
            std::optional<cudaStream_t> caller);

  std::shared_ptr<staging_ring> held_;
  staging_ring& ring_;
  std::lock_guard<std::mutex> lock_;
  std::optional<cudaStream_t> caller_;
  int exceptions_ = std::uncaught_exceptions();
};

/// How many rings the cache keeps beyond those in use, and the memory the idle ones may keep in
/// all (device and pinned host memory each): rings past either bound are given back, least
/// recently used first.
inline constexpr std::size_t ring_cache_capacity = 8;
inline constexpr std::size_t idle_ring_bytes = std::size_t(128) << 20;

/// Device memory the cached rings hold now (benchmarks report it as scratch).
std::size_t staging_scratch_bytes();
/// Frees every cached ring nobody is using.
void release_staging_rings();

}  // namespace stridecopy::detail
