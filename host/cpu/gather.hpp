// host/cpu/gather.hpp — the CPU executor (internal): the gather from a strided host view into a
// contiguous destination, behind host-to-host copies and .npy writes of host views.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Writes output units [first, first + count) of p (C order, walk::unit bytes each) to `dst`, which
/// receives unit `first` at its start; `src` is the view's first element. On the calling thread
/// alone. No checks: the front door validates first.
void gather_range(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, std::byte* dst);

/// The same range in pieces on up to `threads` threads of the pool (thread_pool.hpp), the caller
/// among them.
void gather_range(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, std::byte* dst,
                  int threads);

/// The whole output of p into `dst` (p.bytes bytes) on up to `threads` threads (>= 1), in pieces of
/// about `piece_bytes` (0: sized from the output and the threads) that any of them takes when free.
void gather(const plan& p, const std::byte* src, std::byte* dst, int threads, std::size_t piece_bytes = 0);

/// The team bound for a copy of `bytes`: one thread below 4 MiB (waking another costs more than such
/// a copy saves), else cpu_threads(requested): `requested` when it is > 0, else the thread setting.
int team_size(std::size_t bytes, int requested);

}  // namespace stridecopy::detail
