// kernels/ops/transpose.cuh — the transpose family (NCHW -> NHWC and friends): the dim
// with stride +-1 (a) and the inner output dim (b) are tiled through shared memory, so that reads
// run along a and writes along b, both coalesced; the tile's pitch is padded against bank conflicts.
#pragma once

#include "ops/config.cuh"
#include "ops/divmod.cuh"
#include "ops/offset_map.cuh"
#include "ops/policy.cuh"
#include "ops/unit.hpp"

namespace stridecopy::kernels {

/// Output row = (plane, a): `plane` indexes the dims outside a, each row holds M * B units in output
/// order (m, b), m indexing the dims between a and the inner dim. The op copies whole rows
/// [first_row, first_row + rows).
template <int Unit, class Index, class Policy = transpose_policy>
struct transpose_op {
  using index_type = Index;
  using U = unit_t<Unit>;
  using div_t = fast_divmod<Index>;
  static constexpr int threads = Policy::threads;
  static constexpr int phases = 2;
  static constexpr int tile_capacity = Policy::tile_capacity;
  static constexpr int shared_bytes = tile_capacity * Unit;

  const U* src;  ///< the view's first output unit
  U* dst;        ///< receives the first unit of row first_row
  Index first_row, rows;
  div_t a_div;               ///< divides a row index by A (extent of the unit-stride dim)
  Index a_stride;            ///< +1 or -1
  offset_map<Index> planes;  ///< plane index -> source offset
  offset_map<Index> mids;    ///< m -> source offset
  Index m_units;             ///< M
  Index b_units;             ///< B, the inner extent
  Index b_stride;            ///< inner stride in units
  // Tile geometry: ta rows by tb inner units, stored [b][a] with row pitch `pitch`.
  Index ta, tb, pitch;
  div_t ta_div, tb_div;
  div_t row_tiles_div;  ///< divides a block index by the row tiles
  div_t b_tiles_div;    ///< divides by the inner tiles
  Index row_tiles, b_tiles;

  [[nodiscard]] STRIDECOPY_HD Index blocks() const { return row_tiles * m_units * b_tiles; }

  struct tile {
    Index row0, m, b0;
  };
  [[nodiscard]] STRIDECOPY_HD tile tile_of(Index block) const {
    const auto rt = row_tiles_div(block);  // block = (m * b_tiles + bt) * row_tiles + rt
    const auto mb = b_tiles_div(rt.quotient);
    return {first_row + rt.remainder * ta, mb.quotient, mb.remainder * tb};
  }

  // Instantiated with the CPU replay's host-only accessor too.
#pragma nv_exec_check_disable
  template <class Mem>
  STRIDECOPY_HD void operator()(const Mem& mem, Index block, int thread, int phase) const {
    const tile t = tile_of(block);
    U* shared = reinterpret_cast<U*>(mem.shared);
    const Index tile_units = ta * tb;
    const Index row_end = first_row + rows;
    if (phase == 0) {
      // Read along a (consecutive threads, consecutive source units).
      const Index moff = mids.offset(t.m);
      for (Index e = thread; e < tile_units; e += threads) {
        const auto ba = ta_div(e);
        const Index row = t.row0 + ba.remainder, b = t.b0 + ba.quotient;
        if (row >= row_end || b >= b_units) continue;
        const auto pa = a_div(row);
        const Index off = planes.offset(pa.quotient) + pa.remainder * a_stride + moff + b * b_stride;
        mem.store_shared(shared + ba.quotient * pitch + ba.remainder, mem.load(src + off));
      }
    } else {
      // Write along b (consecutive threads, consecutive output units).
      for (Index e = thread; e < tile_units; e += threads) {
        const auto ab = tb_div(e);
        const Index row = t.row0 + ab.quotient, b = t.b0 + ab.remainder;
        if (row >= row_end || b >= b_units) continue;
        const Index out = ((row - first_row) * m_units + t.m) * b_units + b;
        mem.store(dst + out, mem.load_shared(shared + ab.remainder * pitch + ab.quotient));
      }
    }
  }
};

}  // namespace stridecopy::kernels
