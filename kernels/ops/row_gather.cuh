// kernels/ops/row_gather.cuh — three kernel families in one template, by inner step:
// +1 vectorised row copy, -1 vectorised row reverse (16-byte loads reversed in registers), and the
// general elementwise gather (runtime step). Every thread assembles 16-byte output vectors and
// stores them whole; several vectors per thread are loaded before any is stored.
#pragma once

#include <cuda/std/cstdint>

#include "ops/config.cuh"
#include "ops/divmod.cuh"
#include "ops/offset_map.cuh"
#include "ops/policy.cuh"
#include "ops/vector.cuh"

namespace stridecopy::kernels {

/// How an output range of `count` units starting at dst splits for 16-byte stores: `head` units
/// before the first 16-byte boundary, `vectors` whole vectors, then `tail` units.
template <class Index>
struct output_split {
  Index head = 0, vectors = 0, tail = 0;
};

template <int Unit, class Index>
STRIDECOPY_HD output_split<Index> split_output(const void* dst, Index count) {
  constexpr int k = units_per_vector<Unit>;
  output_split<Index> s;
  const auto misalign = static_cast<Index>(reinterpret_cast<::cuda::std::uintptr_t>(dst) % vector_bytes);
  // dst is unit-aligned (the launcher guarantees it), so the head is whole units.
  s.head = misalign == 0 ? Index(0) : Index((vector_bytes - misalign) / Unit);
  if (s.head > count) s.head = count;
  s.vectors = (count - s.head) / k;
  s.tail = count - s.head - s.vectors * k;
  return s;
}

/// Output units [first, first + count) of a plan whose inner dim has step Step: +1 or -1 for rows
/// walked forwards or backwards, 0 for a runtime step (the general family).
template <int Unit, class Index, int Step, class Policy = row_gather_policy>
struct row_gather_op {
  using index_type = Index;
  using U = unit_t<Unit>;
  static constexpr int threads = Policy::threads;
  static constexpr int vectors_per_thread = Policy::vectors_per_thread;
  static constexpr int phases = 1;
  static constexpr int shared_bytes = 0;
  static constexpr int k = units_per_vector<Unit>;

  const U* src;  ///< the view's first output unit
  U* dst;        ///< receives output unit `first`
  Index first;   ///< output range [first, first + count), in units
  Index count;
  fast_divmod<Index> row;  ///< divides by the units per row (inner extent)
  Index row_units;
  Index step;              ///< inner stride in units (== Step unless Step is 0)
  offset_map<Index> rows;  ///< row index -> source offset of the row's first unit
  output_split<Index> split;

  [[nodiscard]] STRIDECOPY_HD Index blocks() const {
    const Index per_block = Index(threads) * vectors_per_thread;
    const Index b = (split.vectors + per_block - 1) / per_block;
    return (b == 0 && count > 0) ? Index(1) : b;
  }

  [[nodiscard]] STRIDECOPY_HD Index inner_step() const {
    if constexpr (Step != 0)
      return Index(Step);
    else
      return step;
  }

  /// Source offset of output unit o (global).
  [[nodiscard]] STRIDECOPY_HD Index unit_offset(Index o) const {
    const auto qr = row(o);
    return rows.offset(qr.quotient) + qr.remainder * inner_step();
  }

  // Instantiated with the CPU replay's host-only accessor too.
#pragma nv_exec_check_disable
  template <class Mem>
  STRIDECOPY_HD vec<Unit> gather_vector(const Mem& mem, Index o) const {
    const auto qr = row(o);
    Index r = qr.quotient, col = qr.remainder;
    Index base = rows.offset(r);
    if (col + k <= row_units) {  // the vector lies in one row
      const U* at = src + base + col * inner_step();
      if constexpr (Step == 1) {
        if (reinterpret_cast<::cuda::std::uintptr_t>(at) % vector_bytes == 0) return load_vector<Unit>(mem, at);
      } else if constexpr (Step == -1) {
        const U* lowest = at - (k - 1);
        if (reinterpret_cast<::cuda::std::uintptr_t>(lowest) % vector_bytes == 0)
          return reversed(load_vector<Unit>(mem, lowest));
      }
      vec<Unit> v;
      STRIDECOPY_UNROLL
      for (int i = 0; i < k; ++i) v.u[i] = mem.load(at + Index(i) * inner_step());
      return v;
    }
    // The vector crosses rows (short rows): walk unit by unit, re-deriving the row's base at each
    // crossing. Not unrolled: this path is rare for long rows and cheap in code for short ones.
    vec_builder<Unit> v;
#ifdef __CUDA_ARCH__
#pragma unroll 1
#endif
    for (int i = 0; i < k; ++i) {
      if (col == row_units) {
        ++r;
        col = 0;
        base = rows.offset(r);
      }
      v.set(i, mem.load(src + base + col * inner_step()));
      ++col;
    }
    return v.get();
  }

  // Instantiated with the CPU replay's host-only accessor too.
#pragma nv_exec_check_disable
  template <class Mem>
  STRIDECOPY_HD void operator()(const Mem& mem, Index block, int thread, int /*phase*/) const {
    const Index base = block * (Index(threads) * vectors_per_thread);
    vec<Unit> buf[vectors_per_thread];
    STRIDECOPY_UNROLL
    for (int j = 0; j < vectors_per_thread; ++j) {
      const Index v = base + Index(j) * threads + thread;
      if (v < split.vectors) buf[j] = gather_vector(mem, first + split.head + v * k);
    }
    STRIDECOPY_UNROLL
    for (int j = 0; j < vectors_per_thread; ++j) {
      const Index v = base + Index(j) * threads + thread;
      if (v < split.vectors) store_vector<Unit>(mem, dst + split.head + v * k, buf[j]);
    }
    // The unaligned head and the tail, one unit per thread of block 0.
    if (block == 0 && thread < split.head + split.tail) {
      const Index o = thread < split.head ? Index(thread) : split.head + split.vectors * k + (thread - split.head);
      mem.store(dst + o, mem.load(src + unit_offset(first + o)));
    }
  }
};

}  // namespace stridecopy::kernels
