// host/cuda/memory.cpp — owned memory that CUDA allocates: the caching pinned pool behind
// host_buffer and the staging rings, and device_buffer's stream-ordered allocation and free.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "core/checked_math.hpp"
#include "cuda/check.hpp"
#include "cuda/device_guard.hpp"
#include "cuda/pinned_pool.hpp"
#include "cuda/runtime.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/device_array.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/host_array.hpp"

namespace stridecopy {

namespace {
constexpr std::size_t page = 4096;

// cudaHostAlloc and cudaFreeHost cost milliseconds for tens of megabytes, and cudaFreeHost
// synchronises the device, so pinned blocks are cached and reused (as PyTorch's caching host
// allocator does): sizes round up to a power of two, freed blocks wait in a free list. A block
// released while queued work may still use it waits, with an event recorded after that work, until
// the event completes; nothing hands it out before.
class pinned_pool {
 public:
  static pinned_pool& instance() {
    static pinned_pool* pool = new pinned_pool;  // never destroyed: blocks may outlive static teardown
    return *pool;
  }
  void* allocate(std::size_t bytes, std::size_t& block) {
    block = std::bit_ceil(std::max(bytes, page));
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      settle();
      auto it = free_.find(block);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        return p;
      }
    }
    void* p = nullptr;
    if (cudaHostAlloc(&p, block, cudaHostAllocPortable) == cudaSuccess) return p;
    (void)cudaGetLastError();
    trim();  // cached blocks of other sizes may be what exhausted pinned memory
    if (cudaHostAlloc(&p, block, cudaHostAllocPortable) == cudaSuccess) return p;
    (void)cudaGetLastError();
    return nullptr;
  }
  void release(void* p, std::size_t block) {
    const std::lock_guard<std::mutex> lock(mutex_);
    free_.emplace(block, p);
  }
  void release_after(void* p, std::size_t block, detail::owned_event done) {
    const std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back({p, block, std::move(done)});
  }
  void trim() {
    std::multimap<std::size_t, void*> blocks;
    std::vector<pending> waiting;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      blocks.swap(free_);
      waiting.swap(pending_);
    }
    for (const pending& w : waiting) {
      (void)cudaEventSynchronize(w.done.get());
      blocks.emplace(w.block, w.p);
    }
    for (auto& [size, p] : blocks) (void)cudaFreeHost(p);
  }

 private:
  struct pending {
    void* p;
    std::size_t block;
    detail::owned_event done;
  };
  /// Moves the blocks whose work is done to the free list (under the lock; never waits).
  void settle() {
    std::erase_if(pending_, [&](const pending& w) {
      if (cudaEventQuery(w.done.get()) != cudaSuccess) return false;
      free_.emplace(w.block, w.p);
      return true;
    });
  }
  std::mutex mutex_;
  std::multimap<std::size_t, void*> free_;
  std::vector<pending> pending_;
};

}  // namespace

namespace detail {
void* pinned_allocate(std::size_t bytes, std::size_t& block) { return pinned_pool::instance().allocate(bytes, block); }
void pinned_release(void* p, std::size_t block) noexcept { pinned_pool::instance().release(p, block); }
void pinned_release_after(void* p, std::size_t block, owned_event done) noexcept {
  pinned_pool::instance().release_after(p, block, std::move(done));
}
void trim_pinned_pool() { pinned_pool::instance().trim(); }
}  // namespace detail

// ---- device_buffer: the allocation and the free (the rest of the arrays: host/arrays.cpp)

device_buffer::device_buffer(std::size_t bytes, stream_ref stream) : bytes_(bytes), stream_(stream.get()) {
  if (!cuda_available()) detail::no_device("device_buffer");
  device_ = detail::stream_device(stream_);
  if (bytes == 0) return;
  const detail::device_guard on(device_);
  STRIDECOPY_CUDA_TRY(cudaMallocAsync(&data_, bytes, stream_));
}

void device_buffer::release() noexcept {
  if (data_) {
    // On its own device: the default stream is a device's own, and the free follows its work there.
    const detail::device_guard on(device_, std::nothrow);
    STRIDECOPY_CUDA_TRY_NOEXCEPT(cudaFreeAsync(data_, stream_));
  }
  data_ = nullptr;
  bytes_ = 0;
}

}  // namespace stridecopy
