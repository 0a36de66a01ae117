// stridecopy/device_array.hpp — owned device memory: device_buffer (raw bytes) and device_array
// (bytes + dtype + layout), allocated and freed in stream order (cudaMallocAsync / cudaFreeAsync).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "stridecopy/dtype.hpp"
#include "stridecopy/layout.hpp"
#include "stridecopy/stream.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy {

/// Move-only owner of device bytes on the device of `stream` (the current device for the default
/// streams), allocated on `stream` and freed on it, with that device current, when the owner goes
/// away: work enqueued on that stream before may still use the bytes, work on other streams must be
/// ordered before the owner goes. The stream must outlive the owner. Throws cuda_error when no
/// device is present or the allocation fails.
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t bytes, stream_ref stream = {});
  device_buffer(device_buffer&& other) noexcept;
  device_buffer& operator=(device_buffer&& other) noexcept;
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  ~device_buffer();

  [[nodiscard]] void* data() noexcept { return data_; }
  [[nodiscard]] const void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
  [[nodiscard]] stream_handle stream() const noexcept { return stream_; }
  /// The device that holds the bytes.
  [[nodiscard]] int device() const noexcept { return device_; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  stream_handle stream_ = nullptr;
  int device_ = -1;
};

/// An n-d, C-contiguous array in owned device memory.
class device_array {
 public:
  device_array() = default;
  /// Uninitialised array of `shape` on the device of `stream`, allocated on `stream`.
  device_array(dtype type, std::span<const std::int64_t> shape, stream_ref stream = {});
  device_array(dtype type, std::initializer_list<std::int64_t> shape, stream_ref stream = {});

  [[nodiscard]] void* data() noexcept { return buffer_.data(); }
  [[nodiscard]] const void* data() const noexcept { return buffer_.data(); }
  [[nodiscard]] std::size_t bytes() const noexcept { return buffer_.size(); }
  [[nodiscard]] const dtype& type() const noexcept { return type_; }
  [[nodiscard]] const stridecopy::layout& layout() const noexcept { return layout_; }
  [[nodiscard]] std::span<const std::int64_t> shape() const { return layout_.extents(); }
  [[nodiscard]] std::int64_t size() const { return element_count(layout_); }
  /// A device view of the whole array, with the allocation's bounds recorded.
  [[nodiscard]] view as_view() const;
  /// The same, writable: a destination for copy.
  [[nodiscard]] mutable_view as_view();

 private:
  device_buffer buffer_;
  dtype type_{};
  stridecopy::layout layout_{};
};

}  // namespace stridecopy
