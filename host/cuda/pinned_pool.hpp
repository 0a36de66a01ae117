// host/cuda/pinned_pool.hpp — the caching pool of pinned host blocks behind pinned_buffer (internal).
#pragma once

#include <cstddef>

namespace stridecopy::detail {

/// A pinned block of at least `bytes` (its size in `block`), or nullptr when none can be had (no
/// driver, pinned memory exhausted).
void* pinned_allocate(std::size_t bytes, std::size_t& block);
/// Returns a block to the pool.
void pinned_release(void* p, std::size_t block) noexcept;
/// Frees the cached blocks nobody holds.
void trim_pinned_pool();

}  // namespace stridecopy::detail
