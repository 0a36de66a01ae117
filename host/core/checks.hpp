// host/core/checks.hpp — the rank and extent checks every entry point shares (internal).
#pragma once

#include <cstdint>
#include <span>

#include "stridecopy/layout.hpp"

namespace stridecopy::detail {

/// Throws invalid_view unless `shape` has at most max_rank dims and no negative extent.
void check_shape(std::span<const std::int64_t> shape);
/// check_shape for a layout, whose rank field may hold anything.
void check_layout(const layout& l);

}  // namespace stridecopy::detail
