// host/cuda/pinned_pool.hpp — the caching pool of pinned host blocks behind pinned_buffer (internal).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace stridecopy::detail {

/// A pinned block of at least `bytes` (its size in `block`), or nullptr when none can be had (no
/// driver, pinned memory exhausted).
void* pinned_allocate(std::size_t bytes, std::size_t& block);
/// Returns a block to the pool.
void pinned_release(void* p, std::size_t block) noexcept;
/// Returns a block that queued work may still use: the pool hands it out again only once `done`
/// (recorded after that work) has completed, and destroys the event then.
void pinned_release_after(void* p, std::size_t block, cudaEvent_t done) noexcept;
/// Frees the cached blocks nobody holds (waiting for the work that still uses released ones).
void trim_pinned_pool();

}  // namespace stridecopy::detail
