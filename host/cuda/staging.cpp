// host/cuda/staging.cpp — staging rings and their cache, keyed by (device, stream id).
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

void staging_ring::reserve(std::size_t slot_bytes, int slots, bool device_slots, bool host_slots, cudaStream_t user) {
  open();
  while (int(filled_.size()) < slots) {
    owned_event f = owned_event::create(), d = owned_event::create(), h = owned_event::create();
    filled_.push_back(std::move(f));
    device_free_.push_back(std::move(d));
    host_free_.push_back(std::move(h));
  }
  // Power-of-two slot sizes from 1 MiB: a ring grows a handful of times in its life at most.
  std::size_t want = std::size_t(1) << 20;
  while (want < slot_bytes) want *= 2;
  if (device_slots && (!device_ring_ || want > device_slot_bytes_ || slots > device_slots_)) {
    const std::size_t bytes = std::max(want, device_slot_bytes_);
    const int count = std::max(slots, device_slots_);
    void* ring = nullptr;
    STRIDECOPY_CUDA_TRY(cudaMallocAsync(&ring, bytes * std::size_t(count), copy_.get()));
    try {
      // The caller's stream writes or reads device slots too: it follows the allocation.
      allocated_.order(copy_.get(), user);
    } catch (...) {
      (void)cudaFreeAsync(ring, copy_.get());
      throw;
    }
    retire_device();
    device_ring_ = ring;
    device_slot_bytes_ = bytes;
    device_slots_ = count;
  }
  if (host_slots && (!host_ring_ || want > host_slot_bytes_ || slots > host_slots_)) {
    const std::size_t bytes = std::max(want, host_slot_bytes_);
    const int count = std::max(slots, host_slots_);
    std::size_t block = 0;
    void* ring = pinned_allocate(bytes * std::size_t(count), block);
    if (!ring)
      throw cuda_error("cannot allocate " + std::to_string(bytes * std::size_t(count)) +
                           " bytes of pinned memory for the staging slots",
                       int(cudaErrorMemoryAllocation));
    try {
      retire_host();
    } catch (...) {
      pinned_release(ring, block);
      throw;
    }
    host_ring_ = ring;
    host_block_ = block;
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
  if (!device_ring_) return;
  after_every_use();
  STRIDECOPY_CUDA_TRY(cudaFreeAsync(std::exchange(device_ring_, nullptr), copy_.get()));
  device_slot_bytes_ = 0;
  device_slots_ = 0;
}

void staging_ring::retire_host() {
  if (!host_ring_) return;
  after_every_use();
  cudaEvent_t used = nullptr;
  STRIDECOPY_CUDA_TRY(cudaEventCreateWithFlags(&used, cudaEventDisableTiming));
  if (const cudaError_t e = cudaEventRecord(used, copy_.get()); e != cudaSuccess) {
    (void)cudaEventDestroy(used);
    throw_cuda_error(e, "cudaEventRecord(used, copy_.get())");
  }
  pinned_release_after(std::exchange(host_ring_, nullptr), host_block_, used);
  host_block_ = host_slot_bytes_ = 0;
  host_slots_ = 0;
}

staging_ring::~staging_ring() {
  const device_guard on(device_, std::nothrow);
  try {
    retire_device();
    retire_host();
  } catch (...) {
    // Ordering failed (a runtime being torn down, a lost device): wait for everything instead.
    (void)cudaDeviceSynchronize();
    if (device_ring_) (void)cudaFree(device_ring_);
    if (host_ring_) pinned_release(host_ring_, host_block_);
  }
  // The streams and events go with the members, without waiting for queued work.
}

namespace {

using ring_key = std::pair<int, unsigned long long>;  // (device, stream id)

// Never destroyed: rings may be in use during static teardown, and CUDA may be gone by then.
ring_cache<ring_key, staging_ring>& rings() {
  static auto* cache = new ring_cache<ring_key, staging_ring>(ring_cache_capacity);
  return *cache;
}

}  // namespace

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
