// host/arrays.cpp — the owned arrays' CUDA-free parts: host_buffer and host_array (pinned when CUDA
// allows, through the pool of cuda/memory.cpp), and device_buffer and device_array apart from the
// allocation and the free (cuda/memory.cpp; host/no_cuda.cpp in a build without CUDA).
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "core/checked_math.hpp"
#include "cuda/pinned.hpp"
#include "stridecopy/device_array.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/host_array.hpp"

namespace stridecopy {

namespace {
constexpr std::size_t page = 4096;

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
