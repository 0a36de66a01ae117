// host/io/chunked_output.hpp — the C-order bytes of any view, handed out in bounded pieces (internal).
// save_npy writes through it, so a file never needs the whole output in memory at once.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <functional>

#include "dispatch.hpp"
#include "stridecopy/plan.hpp"
#include "stridecopy/stream.hpp"

namespace stridecopy::detail {

/// Takes `count` runs of source bytes that follow each other in the output (a vectored write).
using runs_sink = std::function<void(const iovec* runs, std::size_t count)>;

/// Host views whose contiguous runs are at least this long are handed to a runs sink as they lie
/// in the source: a gather would only copy them once more before the sink copies them again.
inline constexpr std::size_t direct_run_bytes = std::size_t(4) << 10;

/// Calls sink(bytes, n) with consecutive pieces of the C-order bytes of plan p's view over the
/// allocation at `src`, in order, all of them before returning: pieces of at most `max_piece` bytes
/// for host views, one staging chunk at a time (through pinned slots) for device views. The source
/// is checked first, so nothing reaches the sink for a bad one. Given a runs sink, a host view whose
/// runs are at least direct_run_bytes long goes to it instead, in batches of runs, ungathered.
void for_each_piece(const plan& p, const void* src, std::size_t max_piece, const piece_sink& sink, stream_handle stream,
                    const runs_sink* runs = nullptr);

}  // namespace stridecopy::detail
