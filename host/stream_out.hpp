// host/stream_out.hpp — the C-order bytes of any view, handed out in bounded pieces (internal).
// save_npy writes through it, so a file never needs the whole output in memory at once.
#pragma once

#include <cstddef>
#include <functional>

#include <cuda/stream_ref>

#include "stridecopy/view.hpp"

namespace stridecopy::detail {

/// Calls sink(bytes, n) with consecutive pieces of v's C-order bytes, each at most `max_piece`
/// bytes, in order, all of them before returning. Validates v first
/// (make_plan) so that nothing reaches the sink for a bad view.
void stream_c_order(const view& v, std::size_t max_piece, const std::function<void(const void*, std::size_t)>& sink,
                    cuda::stream_ref stream);

}  // namespace stridecopy::detail
