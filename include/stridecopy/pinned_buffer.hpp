// stridecopy/pinned_buffer.hpp — owned host memory: pinned_buffer (raw bytes) and host_array
// (bytes + dtype + layout). Pinned when a CUDA driver is present, aligned pageable memory otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "stridecopy/dtype.hpp"
#include "stridecopy/layout.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy {

/// Move-only owner of host bytes. Page-locked where a CUDA driver is present and pinned memory was
/// asked for; otherwise 4096-byte-aligned pageable memory, and is_pinned() says so. Pinned blocks come
/// from a caching pool (cudaHostAlloc and cudaFreeHost are slow and the latter synchronises the
/// device): they are reused, not freed; release_cached_memory() (copy.hpp) returns them.
class pinned_buffer {
 public:
  pinned_buffer() = default;
  /// `bytes` of host memory of kind `k` (pinned or pageable; pinned falls back to pageable when no
  /// CUDA driver is present). Throws invalid_argument for memory_kind::device.
  explicit pinned_buffer(std::size_t bytes, memory_kind k = memory_kind::pinned);
  pinned_buffer(pinned_buffer&& other) noexcept;
  pinned_buffer& operator=(pinned_buffer&& other) noexcept;
  pinned_buffer(const pinned_buffer&) = delete;
  pinned_buffer& operator=(const pinned_buffer&) = delete;
  ~pinned_buffer();

  [[nodiscard]] void* data() noexcept { return data_; }
  [[nodiscard]] const void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
  [[nodiscard]] bool is_pinned() const noexcept { return pinned_; }
  [[nodiscard]] memory_kind kind() const noexcept { return pinned_ ? memory_kind::pinned : memory_kind::pageable; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  std::size_t block_ = 0;  ///< the pool block's size, for pinned memory
  bool pinned_ = false;
};

/// Element order of an owned array.
enum class order : std::uint8_t { c, f };

/// An n-d array in owned host memory: what to_host and load_npy return.
class host_array {
 public:
  host_array() = default;
  /// Uninitialised array of `shape`, C order unless `o` says otherwise, in host memory of kind `k`.
  host_array(dtype type, std::span<const std::int64_t> shape, order o = order::c, memory_kind k = memory_kind::pinned);
  host_array(dtype type, std::initializer_list<std::int64_t> shape, order o = order::c,
             memory_kind k = memory_kind::pinned);

  [[nodiscard]] void* data() noexcept { return buffer_.data(); }
  [[nodiscard]] const void* data() const noexcept { return buffer_.data(); }
  [[nodiscard]] std::size_t bytes() const noexcept { return buffer_.size(); }
  [[nodiscard]] const dtype& type() const noexcept { return type_; }
  [[nodiscard]] const layout& lay() const noexcept { return layout_; }
  [[nodiscard]] std::span<const std::int64_t> shape() const { return layout_.extents(); }
  [[nodiscard]] std::int64_t size() const { return element_count(layout_); }
  [[nodiscard]] bool is_pinned() const noexcept { return buffer_.is_pinned(); }
  /// A view of the whole array, with the allocation's bounds recorded.
  [[nodiscard]] view as_view() const;
  /// The same, writable: a destination for copy.
  [[nodiscard]] mutable_view as_view();

 private:
  pinned_buffer buffer_;
  dtype type_{};
  layout layout_{};
};

}  // namespace stridecopy
