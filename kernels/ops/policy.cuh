// kernels/ops/policy.cuh — the tuning of every kernel family in one place, as plain
// constexpr structs: threads per block, work per thread, tile sizes.
#pragma once

namespace stridecopy::kernels {

/// The row families (+1, -1, general).
struct row_gather_policy {
  static constexpr int threads = 256;
  /// 16-byte vectors each thread loads before it stores any: loads in flight hide latency.
  static constexpr int vectors_per_thread = 4;
};

/// The shared-memory transpose.
struct transpose_policy {
  static constexpr int threads = 256;
  /// Widest tile along the inner output dim, and the most units a tile holds before padding.
  static constexpr int max_tile_b = 32;
  static constexpr int max_tile_units = 1024;
  /// Shared-memory capacity in units: every tile shape the launcher picks fits, padding included.
  static constexpr int tile_capacity = 32 * 33;
};

}  // namespace stridecopy::kernels
