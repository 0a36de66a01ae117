// host/core/choose.hpp — the one strategy chooser (internal, pure, tested on the CPU over a table of
// cases): from a plan and the facts of one call, the strategy that will run, or why none can.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "stridecopy/options.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Tuning of the transfers, in one place; bench/d2h_bench.cu measures the winners.
struct transfer_policy {
  /// Device scratch of a staged copy never exceeds this, whatever the tensor size.
  static constexpr std::size_t max_scratch_bytes = std::size_t(64) << 20;
  static constexpr int slots = 4;
  static constexpr std::size_t min_chunk_bytes = std::size_t(1) << 20;
  static constexpr std::size_t max_chunk_bytes = max_scratch_bytes / slots;
  /// Up to this many output bytes, one kernel writing straight into mapped pinned memory has the
  /// lowest latency (no second copy, no events).
  static constexpr std::size_t direct_max_bytes = std::size_t(1) << 20;
  /// Runs at least this long go to the copy engine as they are; at most this many in one batch.
  static constexpr std::size_t dma_min_run_bytes = plan_policy::long_run_bytes;
  static constexpr std::int64_t dma_max_runs = 4096;
};

/// What one call knows beyond the plan: the memory behind the pointers (measured with
/// cudaPointerGetAttributes where CUDA is present) and the stream's state.
struct copy_facts {
  memory_kind source = memory_kind::pageable;
  memory_kind destination = memory_kind::pageable;
  /// The whole (pinned) destination has a device alias, so a kernel can store into it.
  bool destination_mapped = false;
  /// The whole span the (pinned) source view reads has a device alias, so a kernel can load from it.
  bool source_mapped = false;
  /// The stream is capturing a CUDA graph: only capturable work may be issued.
  bool capturing = false;
};

/// The strategy that runs for plan p under `facts`: `forced` when one is given. Throws invalid_view
/// naming why when the forced strategy (or, under capture, every strategy) cannot run.
strategy choose(const plan& p, const copy_facts& facts, std::optional<strategy> forced);

/// The strategy forced by STRIDECOPY_STRATEGY (dma, staged, direct), or none when it is unset,
/// empty or automatic. It applies to copies between host and device memory that force none
/// themselves (tests and benchmarks use it). Throws invalid_argument for any other value (a setting,
/// not a view, is wrong).
std::optional<strategy> strategy_from_environment();

/// Bytes of one chunk of a staged copy of p: a quarter of the output, within the policy's bounds.
std::size_t staged_chunk_bytes(const plan& p);

}  // namespace stridecopy::detail
