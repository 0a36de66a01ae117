// host/host_executor.hpp — the CPU gather behind copy_on_host and save_npy of host views (internal).
#pragma once

#include <cstddef>
#include <cstdint>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Writes output units [first, first + count) of `p` (C order, plan::unit bytes each) to `dst`,
/// which receives unit `first` at its start. Single-threaded; the caller parallelises over ranges.
void gather_host_range(const plan& p, std::int64_t first, std::int64_t count, std::byte* dst);

/// The whole output of `p` into `dst` (p.bytes bytes), on `threads` OpenMP threads (0: default).
void gather_host(const plan& p, std::byte* dst, int threads);

}  // namespace stridecopy::detail
