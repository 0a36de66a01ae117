// host/core/dma_runs.hpp — the contiguous runs of a plan, as the copy engine moves them (internal,
// plain C++, tested on the CPU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// A contiguous run of the source and where it lands in the output (bytes from the first element
/// and from dst).
struct dma_run {
  std::int64_t src_offset = 0;
  std::int64_t dst_offset = 0;
  std::size_t bytes = 0;
};
/// The runs of a plan whose inner stride is +1 (or of a single element), in output order; a strided
/// destination's runs land at its walk's offsets.
std::vector<dma_run> dma_runs(const plan& p);
/// The same runs handed to fn one at a time, none stored (a file of millions of rows).
void for_each_run(const plan& p, const std::function<void(const dma_run&)>& fn);

/// Runs that one cudaMemcpy2DAsync moves: `height` rows of `width` bytes, `src_pitch` apart in the
/// source (positive: 2D copies take no negative pitch) and `dst_pitch` apart in the destination
/// (`width`: packed).
struct dma_2d {
  std::size_t src_pitch = 0, width = 0, height = 0, dst_pitch = 0;
};
/// The 2D copy of p, or nothing when p is not `height` forward runs a fixed positive pitch apart.
bool as_2d_copy(const plan& p, dma_2d& out);

}  // namespace stridecopy::detail
