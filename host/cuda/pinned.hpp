// host/cuda/pinned.hpp — pinned host blocks as host_buffer asks for them (internal), declared without
// CUDA's headers: cuda/memory.cpp's caching pool implements them; host/no_cuda.cpp has none to give.
#pragma once

#include <cstddef>

namespace stridecopy::detail {

/// A pinned block of at least `bytes` (its size in `block`), or nullptr when none can be had (no
/// driver, pinned memory exhausted, a build without CUDA).
void* pinned_allocate(std::size_t bytes, std::size_t& block);
/// Returns a block to the pool.
void pinned_release(void* p, std::size_t block) noexcept;

}  // namespace stridecopy::detail
