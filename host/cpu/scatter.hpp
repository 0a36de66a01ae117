// host/cpu/scatter.hpp — the CPU executor of plans whose destination is strided (plans of two layouts,
// walk::scatter): each output unit read where the source walk puts it and written where the
// destination walk does, row by row (internal).
#pragma once

#include <cstddef>
#include <cstdint>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Output units [first, first + count) of p, read from the source walk that starts at `src` and
/// written to the destination walk that starts at `dst` (both the walks' first elements). On the
/// calling thread. No checks: the front door validates first.
void copy_range(const plan& p, const std::byte* src, std::byte* dst, std::int64_t first, std::int64_t count);

/// The whole output of p the same way, in pieces on up to `threads` threads of the pool.
void copy_all(const plan& p, const std::byte* src, std::byte* dst, int threads);

}  // namespace stridecopy::detail
