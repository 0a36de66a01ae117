// host/pinned_buffer.cpp — pinned_buffer and host_array: owned host memory, pinned when CUDA allows.
#include "stridecopy/pinned_buffer.hpp"

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <new>
#include <string>
#include <utility>

#include "checked_math.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {

namespace {
constexpr std::size_t page = 4096;

void* allocate_pageable(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  const std::size_t rounded = (bytes + page - 1) / page * page;
  if (rounded < bytes) throw std::bad_alloc();
  void* p = std::aligned_alloc(page, rounded);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

pinned_buffer::pinned_buffer(std::size_t bytes, kind k) : bytes_(bytes) {
  if (bytes == 0) return;
  if (k == kind::pinned) {
    void* p = nullptr;
    if (cudaHostAlloc(&p, bytes, cudaHostAllocPortable) == cudaSuccess) {
      data_ = p;
      pinned_ = true;
      return;
    }
    // No driver, no device, or pinned memory exhausted: clear the (non-sticky) error and fall back.
    (void)cudaGetLastError();
  }
  data_ = allocate_pageable(bytes);
}

pinned_buffer::pinned_buffer(pinned_buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      pinned_(std::exchange(other.pinned_, false)) {}

pinned_buffer& pinned_buffer::operator=(pinned_buffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    pinned_ = std::exchange(other.pinned_, false);
  }
  return *this;
}

pinned_buffer::~pinned_buffer() { release(); }

void pinned_buffer::release() noexcept {
  if (!data_) return;
  if (pinned_)
    (void)cudaFreeHost(data_);
  else
    std::free(data_);
  data_ = nullptr;
  bytes_ = 0;
  pinned_ = false;
}

host_array::host_array(dtype type, std::span<const std::int64_t> shape, order o, pinned_buffer::kind k)
    : type_(type), layout_(o == order::c ? c_contiguous(shape) : f_contiguous(shape)) {
  validate(type);
  auto bytes = detail::checked_mul(element_count(layout_), type.itemsize);
  if (!bytes) throw invalid_view("array of shape " + shape_string(shape) + " and type " + to_descr(type) +
                                 " has more than 2^63 bytes");
  buffer_ = pinned_buffer(std::size_t(*bytes), k);
}

view host_array::as_view() const {
  view v;
  v.data = buffer_.data();
  v.type = type_;
  v.lay = layout_;
  v.space = buffer_.is_pinned() ? memory_space::pinned_host : memory_space::host;
  v.allocation = byte_range{buffer_.data(), buffer_.size()};
  return v;
}

}  // namespace stridecopy
