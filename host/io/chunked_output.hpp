// host/io/chunked_output.hpp — the C-order bytes of any view, handed out in bounded pieces (internal).
// save_npy writes through it, so a file never needs the whole output in memory at once.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

using piece_sink = std::function<void(const void*, std::size_t)>;

/// Calls sink(bytes, n) with consecutive pieces of the C-order bytes of plan p's view over the
/// allocation at `src`, in order, all of them before returning: pieces of at most `max_piece` bytes
/// for host views, one staging chunk at a time (through pinned slots) for device views. The source
/// is checked first, so nothing reaches the sink for a bad one.
void for_each_piece(const plan& p, const void* src, std::size_t max_piece, const piece_sink& sink, cudaStream_t stream);

}  // namespace stridecopy::detail
