// host/cpu/gather.hpp — the CPU executor (internal): an OpenMP gather from a strided host view into a
// contiguous destination, behind copy_on_host, host-to-host plans and .npy writes of host views.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Writes output units [first, first + count) of p (C order, plan::unit bytes each) to `dst`, which
/// receives unit `first` at its start; `src` is the view's first element. Single-threaded: callers
/// parallelise over ranges. No checks: the front door validates first.
void gather_range(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, std::byte* dst);

/// The whole output of p into `dst` (p.bytes bytes) on `threads` OpenMP threads (>= 1).
void gather(const plan& p, const std::byte* src, std::byte* dst, int threads);

/// The team for a copy of `bytes`: `requested` when it is > 0, else as many threads as pay for
/// themselves (one for small copies, where starting a team costs more than the copy).
int team_size(std::size_t bytes, int requested);

}  // namespace stridecopy::detail
