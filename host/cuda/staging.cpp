// host/cuda/staging.cpp — staging rings, their cache keyed by (device, stream id), and one call's turn on a ring.
#include "cuda/staging.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "cuda/check.hpp"
#include "cuda/device_guard.hpp"
#include "cuda/pinned_pool.hpp"
#include "cuda/ring_cache.hpp"
#include "cuda/runtime.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy::detail {

void staging_ring::open() {
  if (!copy_) {  // all or none, so a failure leaves nothing half made
    owned_stream copy = owned_stream::create(), gather = owned_stream::create();
    owned_event started = owned_event::create(), done = owned_event::create(), allocated = owned_event::create(),
                fence = owned_event::create();
    copy_ = std::move(copy);
    gather_ = std::move(gather);
    started_ = std::move(started);
    done_ = std::move(done);
    allocated_ = std::move(allocated);
    fence_ = std::move(fence);
  }
}

void staging_ring::reserve(const slot_request& want, cudaStream_t user) {
  open();
  while (int(filled_.size()) < want.slots) {
    owned_event f = owned_event::create(), d = owned_event::create(), h = owned_event::create();
    filled_.push_back(std::move(f));
    device_free_.push_back(std::move(d));
    host_free_.push_back(std::move(h));
  }
  // Power-of-two slot sizes from 1 MiB: a ring grows a handful of times in its life at most.
  std::size_t slot_bytes = std::size_t(1) << 20;
  while (slot_bytes < want.slot_bytes) slot_bytes *= 2;
  if (want.device && (!device_ring_.data() || slot_bytes > device_slot_bytes_ || want.slots > device_slots_)) {
    const std::size_t bytes = std::max(slot_bytes, device_slot_bytes_);
    const int count = std::max(want.slots, device_slots_);
    device_buffer ring(bytes * std::size_t(count), copy_.get());
    // The caller's stream writes or reads device slots too: it follows the allocation.
    allocated_.order(copy_.get(), user);
    retire_device();
    device_ring_ = std::move(ring);
    device_slot_bytes_ = bytes;
    device_slots_ = count;
  }
  if (want.host && (!host_ring_ || slot_bytes > host_slot_bytes_ || want.slots > host_slots_)) {
    const std::size_t bytes = std::max(slot_bytes, host_slot_bytes_);
    const int count = std::max(want.slots, host_slots_);
    pinned_block ring(bytes * std::size_t(count));
    if (!ring)
      throw cuda_error("cannot allocate " + std::to_string(bytes * std::size_t(count)) +
                           " bytes of pinned memory for the staging slots",
                       int(cudaErrorMemoryAllocation));
    retire_host();
    host_ring_ = std::move(ring);
    host_slot_bytes_ = bytes;
    host_slots_ = count;
  }
}

void staging_ring::after_every_use() const {
  fence_.order(gather_.get(), copy_.get());
  for (const auto* events : {&filled_, &device_free_, &host_free_})
    for (const owned_event& e : *events) STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(copy_.get(), e.get(), 0));
}

void staging_ring::retire_device() {
  if (!device_ring_.data()) return;
  after_every_use();
  device_ring_ = device_buffer{};  // freed on the copy stream, which now follows every use
  device_slot_bytes_ = 0;
  device_slots_ = 0;
}

void staging_ring::retire_host() {
  if (!host_ring_) return;
  after_every_use();
  owned_event used = owned_event::create();
  STRIDECOPY_CUDA_TRY(cudaEventRecord(used.get(), copy_.get()));
  host_ring_.release_after(std::move(used));
  host_slot_bytes_ = 0;
  host_slots_ = 0;
}

staging_ring::~staging_ring() {
  const device_guard on(device_, std::nothrow);
  try {
    retire_device();
    retire_host();
  } catch (...) {
    // Ordering failed (a runtime being torn down, a lost device): wait for everything instead; the
    // owners then give the memory back at once.
    (void)cudaDeviceSynchronize();
  }
  // The memory, streams and events go with the members, without waiting for queued work.
}

namespace {

using ring_key = std::pair<int, unsigned long long>;  // (device, stream id)

// Never destroyed: rings may be in use during static teardown, and CUDA may be gone by then.
ring_cache<ring_key, staging_ring>& rings() {
  static auto* cache = new ring_cache<ring_key, staging_ring>(ring_cache_capacity);
  return *cache;
}

/// The cached ring of `stream` on the current device.
std::shared_ptr<staging_ring> acquire_ring(cudaStream_t stream) {
  const int device = current_device();
  auto ring = rings().acquire({device, stream_id(stream)}, [&] { return new staging_ring(device); });
  // Idle rings keep a bounded amount of memory: the device's and the host's are each held to the limit.
  rings().trim_idle([](const std::vector<const staging_ring*>& idle) {
    std::size_t on_device = 0, pinned = 0;
    for (const staging_ring* r : idle) {
      on_device += r->scratch_bytes();
      pinned += r->pinned_bytes();
    }
    return on_device > idle_ring_bytes || pinned > idle_ring_bytes;
  });
  return ring;
}

}  // namespace

ring_turn::ring_turn(std::shared_ptr<staging_ring> held, staging_ring* ring, const slot_request& want,
                     std::optional<cudaStream_t> caller)
    : held_(std::move(held)), ring_(ring ? *ring : *held_), lock_(ring_.mutex), caller_(caller) {
  ring_.open();  // a driven copy's gather stream must exist before it can wait for the device slots
  ring_.reserve(want, caller_ ? *caller_ : ring_.gather_stream());
}

ring_turn::ring_turn(cudaStream_t stream, const slot_request& want)
    : ring_turn(acquire_ring(stream), nullptr, want, stream) {}

ring_turn::ring_turn(staging_ring& ring, const slot_request& want) : ring_turn(nullptr, &ring, want, std::nullopt) {}

ring_turn::~ring_turn() {
  if (std::uncaught_exceptions() <= exceptions_) return;
  // Nothing the failed call queued may outlive it: the next call must find the ring idle.
  if (caller_) (void)cudaStreamSynchronize(*caller_);
  (void)cudaStreamSynchronize(ring_.copy_stream());
  (void)cudaStreamSynchronize(ring_.gather_stream());
}

std::size_t staging_scratch_bytes() {
  std::size_t total = 0;
  rings().for_each([&](staging_ring& ring) {
    const std::lock_guard<std::mutex> lock(ring.mutex);
    total += ring.scratch_bytes();
  });
  return total;
}

void release_staging_rings() {
  (void)rings().clear_idle();
  // Rings in use by another thread stay; releasing their memory under them would be a race.
}

}  // namespace stridecopy::detail
