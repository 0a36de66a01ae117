// host/cuda/staging.cpp — staging rings and their cache, keyed by (device, stream id).
#include "cuda/staging.hpp"

#include <algorithm>
#include <utility>

#include "cuda/check.hpp"
#include "cuda/ring_cache.hpp"
#include "cuda/runtime.hpp"

namespace stridecopy::detail {

void staging_ring::reserve(std::size_t slot_bytes, int slots, bool host_slots, cudaStream_t user) {
  if (!copy_) {  // all or none, so a failure leaves nothing half made
    cudaStream_t copy = nullptr, bounce = nullptr;
    cudaEvent_t started = nullptr, done = nullptr;
    cudaError_t e = cudaStreamCreateWithFlags(&copy, cudaStreamNonBlocking);
    if (!e) e = cudaStreamCreateWithFlags(&bounce, cudaStreamNonBlocking);
    if (!e) e = cudaEventCreateWithFlags(&started, cudaEventDisableTiming);
    if (!e) e = cudaEventCreateWithFlags(&done, cudaEventDisableTiming);
    if (e != cudaSuccess) {
      if (copy) (void)cudaStreamDestroy(copy);
      if (bounce) (void)cudaStreamDestroy(bounce);
      if (started) (void)cudaEventDestroy(started);
      throw_cuda_error(e, "creating the staging streams and events");
    }
    copy_ = copy;
    bounce_ = bounce;
    started_ = started;
    done_ = done;
  }
  // Power-of-two slot sizes from 1 MiB: a ring grows a handful of times in its life at most.
  std::size_t want = std::size_t(1) << 20;
  while (want < slot_bytes) want *= 2;
  if (!device_ring_ || want > slot_bytes_ || slots > slots_) {
    // The old slots may still be read or written by earlier calls' work: wait for it first.
    STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(user));
    sync();
    if (device_ring_) STRIDECOPY_CUDA_TRY(cudaFree(device_ring_));
    if (host_ring_) STRIDECOPY_CUDA_TRY(cudaFreeHost(host_ring_));
    device_ring_ = host_ring_ = nullptr;
    const std::size_t new_slot_bytes = std::max(want, slot_bytes_);
    const int new_slots = std::max(slots, slots_);
    for (auto* events : {&filled_, &device_free_, &host_free_})
      while (int(events->size()) < new_slots) {
        cudaEvent_t e;
        STRIDECOPY_CUDA_TRY(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        events->push_back(e);
      }
    void* ring = nullptr;
    STRIDECOPY_CUDA_TRY(cudaMalloc(&ring, new_slot_bytes * std::size_t(new_slots)));
    device_ring_ = ring;  // sizes change only once the memory is there
    slot_bytes_ = new_slot_bytes;
    slots_ = new_slots;
  }
  if (host_slots && !host_ring_) {
    void* ring = nullptr;
    STRIDECOPY_CUDA_TRY(cudaHostAlloc(&ring, slot_bytes_ * std::size_t(slots_), cudaHostAllocPortable));
    host_ring_ = ring;
  }
}

void staging_ring::sync() const {
  if (copy_) STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(copy_));
  if (bounce_) STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(bounce_));
}

void staging_ring::release() noexcept {
  int previous = -1;
  (void)cudaGetDevice(&previous);
  (void)cudaSetDevice(device_);
  // Every gather into a slot is followed by a wait of the copy stream on its event, so once the
  // ring's own streams are idle, nothing uses its slots.
  if (copy_) (void)cudaStreamSynchronize(copy_);
  if (bounce_) (void)cudaStreamSynchronize(bounce_);
  if (device_ring_) (void)cudaFree(device_ring_);
  if (host_ring_) (void)cudaFreeHost(host_ring_);
  for (auto* events : {&filled_, &device_free_, &host_free_})
    for (cudaEvent_t e : *events) (void)cudaEventDestroy(e);
  if (started_) (void)cudaEventDestroy(started_);
  if (done_) (void)cudaEventDestroy(done_);
  if (copy_) (void)cudaStreamDestroy(copy_);
  if (bounce_) (void)cudaStreamDestroy(bounce_);
  if (previous >= 0) (void)cudaSetDevice(previous);
  device_ring_ = host_ring_ = nullptr;
  copy_ = bounce_ = nullptr;
  started_ = done_ = nullptr;
  filled_.clear();
  device_free_.clear();
  host_free_.clear();
  slot_bytes_ = 0;
  slots_ = 0;
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
  return rings().acquire({device, stream_id(stream)}, [&] { return new staging_ring(device); });
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
