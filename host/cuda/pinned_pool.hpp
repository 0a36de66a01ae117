// host/cuda/pinned_pool.hpp — the caching pool of pinned host blocks behind host_buffer and the
// staging rings (internal), and pinned_block, the owner of one block.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "cuda/pinned.hpp"
#include "cuda/resources.hpp"

namespace stridecopy::detail {

/// Returns a block that queued work may still use: the pool hands it out again only once `done`
/// (recorded after that work) has completed.
void pinned_release_after(void* p, std::size_t block, owned_event done) noexcept;
/// Frees the cached blocks nobody holds (waiting for the work that still uses released ones).
void trim_pinned_pool();

/// One block of the pool, move-only: back to the pool when its owner goes, or, through
/// release_after, once the work queued on it has run.
class pinned_block {
 public:
  pinned_block() = default;
  /// A block of at least `bytes`; empty (false) when none can be had. Assigned in the body: block_,
  /// which pinned_allocate fills, is initialised after data_ and would be reset to 0.
  explicit pinned_block(std::size_t bytes) { data_ = pinned_allocate(bytes, block_); }
  pinned_block(pinned_block&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), block_(std::exchange(o.block_, 0)) {}
  pinned_block& operator=(pinned_block&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(block_, o.block_);
    return *this;
  }
  pinned_block(const pinned_block&) = delete;
  pinned_block& operator=(const pinned_block&) = delete;
  ~pinned_block() {
    if (data_) pinned_release(data_, block_);
  }

  [[nodiscard]] void* get() const { return data_; }
  /// The block's size (bytes asked for, rounded up by the pool); 0 when empty.
  [[nodiscard]] std::size_t size() const { return data_ ? block_ : 0; }
  explicit operator bool() const { return data_ != nullptr; }
  /// Gives the block back once `done` (recorded after its last use) has completed; empty after.
  void release_after(owned_event done) noexcept {
    if (data_) pinned_release_after(std::exchange(data_, nullptr), std::exchange(block_, 0), std::move(done));
  }

 private:
  void* data_ = nullptr;
  std::size_t block_ = 0;
};

}  // namespace stridecopy::detail
