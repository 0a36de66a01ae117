// stridecopy/host_buffer.hpp — host_buffer: owned host bytes, pinned (page-locked, from a caching
// pool) where a CUDA driver is present and pinned memory is asked for, aligned pageable otherwise.
#pragma once

#include <cstddef>

#include "stridecopy/view.hpp"

namespace stridecopy {

/// Move-only owner of host bytes. Page-locked where a CUDA driver is present and pinned memory was
/// asked for; otherwise 4096-byte-aligned pageable memory, and is_pinned() says so. Pinned blocks come
/// from a caching pool (cudaHostAlloc and cudaFreeHost are slow and the latter synchronises the
/// device): they are reused, not freed; release_cached_memory() (copy.hpp) returns them.
class host_buffer {
 public:
  host_buffer() = default;
  /// `bytes` of host memory of kind `k` (pinned or pageable; pinned falls back to pageable when no
  /// CUDA driver is present). Throws invalid_argument for memory_kind::device.
  explicit host_buffer(std::size_t bytes, memory_kind k = memory_kind::pinned);
  host_buffer(host_buffer&& other) noexcept;
  host_buffer& operator=(host_buffer&& other) noexcept;
  host_buffer(const host_buffer&) = delete;
  host_buffer& operator=(const host_buffer&) = delete;
  ~host_buffer();

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

}  // namespace stridecopy
