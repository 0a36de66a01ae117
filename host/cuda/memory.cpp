// host/cuda/memory.cpp — owned memory: the caching pinned pool, host_buffer and host_array (pinned
// when CUDA allows), device_buffer and device_array (stream-ordered device memory).
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

void* allocate_pageable(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  const std::size_t rounded = (bytes + page - 1) / page * page;
  void* p = rounded < bytes ? nullptr : std::aligned_alloc(page, rounded);
  if (!p) throw out_of_memory("cannot allocate " + std::to_string(bytes) + " bytes of host memory");
  return p;
}

std::size_t array_bytes(const dtype& type, const layout& l, std::span<const std::int64_t> shape) {
  validate(type);
  const auto bytes = detail::checked_mul(element_count(l), type.itemsize);
  if (!bytes)
    throw invalid_view("array of shape " + shape_string(shape) + " and type " + to_descr(type) +
                       " has more than 2^63 bytes");
  return std::size_t(*bytes);
}
}  // namespace

namespace detail {
void* pinned_allocate(std::size_t bytes, std::size_t& block) { return pinned_pool::instance().allocate(bytes, block); }
void pinned_release(void* p, std::size_t block) noexcept { pinned_pool::instance().release(p, block); }
void pinned_release_after(void* p, std::size_t block, owned_event done) noexcept {
  pinned_pool::instance().release_after(p, block, std::move(done));
}
void trim_pinned_pool() { pinned_pool::instance().trim(); }
}  // namespace detail

// ---- host_buffer, host_array

host_buffer::host_buffer(std::size_t bytes, memory_kind k) : bytes_(bytes) {
  if (k != memory_kind::pinned && k != memory_kind::pageable)
    throw invalid_argument("host_buffer holds host memory: memory kind " + std::to_string(int(k)) +
                           " is not pinned or pageable (device memory is a device_buffer)");
  if (bytes > std::size_t(std::numeric_limits<std::ptrdiff_t>::max()))
    throw invalid_argument("host_buffer of " + std::to_string(bytes) + " bytes: more than any address space holds");
  if (bytes == 0) return;
  if (k == memory_kind::pinned) {
    // No driver, no device, or pinned memory exhausted: fall back to pageable memory.
    if ((data_ = detail::pinned_allocate(bytes, block_)) != nullptr) {
      pinned_ = true;
      return;
    }
  }
  data_ = allocate_pageable(bytes);
}

host_buffer::host_buffer(host_buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      block_(std::exchange(other.block_, 0)),
      pinned_(std::exchange(other.pinned_, false)) {}

host_buffer& host_buffer::operator=(host_buffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    block_ = std::exchange(other.block_, 0);
    pinned_ = std::exchange(other.pinned_, false);
  }
  return *this;
}

host_buffer::~host_buffer() { release(); }

void host_buffer::release() noexcept {
  if (!data_) return;
  if (pinned_)
    detail::pinned_release(data_, block_);
  else
    std::free(data_);
  data_ = nullptr;
  bytes_ = 0;
  block_ = 0;
  pinned_ = false;
}

host_array::host_array(dtype type, std::span<const std::int64_t> shape, order o, memory_kind k)
    : type_(type), layout_(o == order::c ? c_contiguous(shape) : f_contiguous(shape)) {
  buffer_ = host_buffer(array_bytes(type, layout_, shape), k);
}

host_array::host_array(dtype type, std::initializer_list<std::int64_t> shape, order o, memory_kind k)
    : host_array(type, std::span<const std::int64_t>(shape.begin(), shape.size()), o, k) {}

view host_array::as_view() const {
  view v;
  v.data = buffer_.data();
  v.type = type_;
  v.layout = layout_;
  v.memory = buffer_.kind();
  v.allocation = byte_range{buffer_.data(), buffer_.size()};
  return v;
}

mutable_view host_array::as_view() { return assume_writable(std::as_const(*this).as_view()); }

// ---- device_buffer, device_array

device_buffer::device_buffer(std::size_t bytes, stream_ref stream) : bytes_(bytes), stream_(stream.get()) {
  if (!cuda_available()) throw cuda_error("device_buffer: no CUDA device is available", int(cudaErrorNoDevice));
  device_ = detail::stream_device(stream_);
  if (bytes == 0) return;
  const detail::device_guard on(device_);
  STRIDECOPY_CUDA_TRY(cudaMallocAsync(&data_, bytes, stream_));
}

device_buffer::device_buffer(device_buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      stream_(std::exchange(other.stream_, nullptr)),
      device_(std::exchange(other.device_, -1)) {}

device_buffer& device_buffer::operator=(device_buffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    stream_ = std::exchange(other.stream_, nullptr);
    device_ = std::exchange(other.device_, -1);
  }
  return *this;
}

device_buffer::~device_buffer() { release(); }

void device_buffer::release() noexcept {
  if (data_) {
    // On its own device: the default stream is a device's own, and the free follows its work there.
    const detail::device_guard on(device_, std::nothrow);
    STRIDECOPY_CUDA_TRY_NOEXCEPT(cudaFreeAsync(data_, stream_));
  }
  data_ = nullptr;
  bytes_ = 0;
}

device_array::device_array(dtype type, std::span<const std::int64_t> shape, stream_ref stream)
    : type_(type), layout_(c_contiguous(shape)) {
  buffer_ = device_buffer(array_bytes(type, layout_, shape), stream);
}

device_array::device_array(dtype type, std::initializer_list<std::int64_t> shape, stream_ref stream)
    : device_array(type, std::span<const std::int64_t>(shape.begin(), shape.size()), stream) {}

view device_array::as_view() const {
  view v;
  v.data = buffer_.data();
  v.type = type_;
  v.layout = layout_;
  v.memory = memory_kind::device;
  v.allocation = byte_range{buffer_.data(), buffer_.size()};
  return v;
}

mutable_view device_array::as_view() { return assume_writable(std::as_const(*this).as_view()); }

}  // namespace stridecopy
