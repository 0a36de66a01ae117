// host/d2h_schedule.hpp — the pure decisions of a device-to-host copy (internal, tested on the CPU):
// which strategy, the chunks of the staged pipeline and their ring slots, and the runs of a DMA copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stridecopy/copy.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Tuning of the device-to-host strategies, in one place; bench/d2h_bench.cu measures the winners.
struct d2h_policy {
  /// Device scratch of the staged pipeline never exceeds this, whatever the tensor size.
  static constexpr std::size_t max_scratch_bytes = std::size_t(64) << 20;
  static constexpr int slots = 4;
  static constexpr std::size_t min_chunk_bytes = std::size_t(1) << 20;
  static constexpr std::size_t max_chunk_bytes = max_scratch_bytes / slots;
  /// Below this many output bytes one kernel writing straight into pinned memory has the lowest
  /// latency (no second copy, no events).
  static constexpr std::size_t direct_max_bytes = std::size_t(1) << 20;
  /// Runs at least this long go to the copy engine as they are; at most this many in one batch.
  static constexpr std::size_t dma_min_run_bytes = plan_policy::long_run_bytes;
  static constexpr std::int64_t dma_max_runs = 4096;
};

/// The destination's kind, from cudaPointerGetAttributes.
enum class host_memory { pinned, pageable };

/// Picks the strategy for plan p into a destination of kind dst, or validates a forced one
/// (throws invalid_view naming why it cannot run: dma needs contiguous runs of the source, direct
/// a pinned destination). Never `automatic`. An empty plan gets dma (nothing to do).
strategy choose_strategy(const plan& p, host_memory dst, strategy forced);

/// The strategy forced by the environment variable STRIDECOPY_STRATEGY (dma, staged, direct), or
/// `automatic` when it is unset or empty. Throws invalid_view for any other value.
strategy strategy_from_environment();

/// One chunk of the staged pipeline: output units [first, first + count) go through ring slot
/// `slot`; its gather must wait until the copy of chunk `reuse_after` (the slot's previous chunk)
/// has drained, or -1 when the slot is fresh in this call.
struct staged_chunk {
  std::int64_t first = 0, count = 0;
  int slot = 0;
  std::int64_t reuse_after = -1;
};
struct staged_schedule {
  std::size_t slot_bytes = 0;  ///< bytes of one ring slot (>= every chunk's bytes)
  int slots = 0;
  std::vector<staged_chunk> chunks;
};

/// The chunks of p for a ring of `slots` slots of at most `max_chunk_bytes` each. A transposed plan
/// is chunked in whole output rows (so the tile kernel runs on every chunk) when a row fits, any
/// other plan in whole inner rows when one fits, else in multiples of 16 bytes.
staged_schedule make_staged_schedule(const plan& p, std::size_t max_chunk_bytes, int slots);
/// The chunk size the executor uses for p: a quarter of the output, clamped to the policy's bounds.
std::size_t staged_chunk_bytes(const plan& p);

/// A contiguous run of the source and where it lands in the output (bytes from p.src and dst).
struct dma_run {
  std::int64_t src_offset = 0;
  std::int64_t dst_offset = 0;
  std::size_t bytes = 0;
};
/// The runs of a plan whose inner stride is +1 (or of a single element), in output order.
std::vector<dma_run> dma_runs(const plan& p);

/// Runs that one cudaMemcpy2DAsync moves: `height` rows of `width` bytes, `src_pitch` apart in the
/// source (positive: 2D copies take no negative pitch) and packed in the output.
struct dma_2d {
  bool possible = false;
  std::int64_t src_offset = 0;
  std::size_t src_pitch = 0, width = 0, height = 0;
};
dma_2d dma_as_2d(const plan& p);

}  // namespace stridecopy::detail
