// kernels/ops/vector.cuh — 16 bytes of units as one value: reversed and assembled in
// registers, loaded and stored as single 128-bit accesses through a memory accessor.
#pragma once

#include <vector_types.h>  // uint4

#include <cuda/std/bit>

#include "ops/config.cuh"
#include "ops/unit.hpp"

namespace stridecopy::kernels {

/// Units in one 16-byte vector.
template <int Unit>
inline constexpr int units_per_vector = vector_bytes / Unit;

/// A 16-byte vector as units.
template <int Unit>
struct alignas(16) vec {
  unit_t<Unit> u[units_per_vector<Unit>];
};
static_assert(sizeof(vec<1>) == 16 && sizeof(vec<4>) == 16 && sizeof(vec<16>) == 16);

template <int Unit>
STRIDECOPY_HD vec<Unit> reversed(const vec<Unit>& v) {
  vec<Unit> r;
  STRIDECOPY_UNROLL
  for (int i = 0; i < units_per_vector<Unit>; ++i) r.u[i] = v.u[units_per_vector<Unit> - 1 - i];
  return r;
}

/// Assembles a 16-byte vector unit by unit at runtime positions without indexing registers
/// dynamically (which would put the vector in local memory): units are shifted into two 64-bit words.
template <int Unit>
struct vec_builder {
  unsigned long long lo = 0, hi = 0;
  STRIDECOPY_HD void set(int i, unit_t<Unit> value) {
    if constexpr (Unit == 16) {
      lo = value.x | (static_cast<unsigned long long>(value.y) << 32);
      hi = value.z | (static_cast<unsigned long long>(value.w) << 32);
    } else {
      constexpr int per_word = 8 / Unit;
      const unsigned long long bits = static_cast<unsigned long long>(value) << (8 * Unit * (i % per_word));
      if (i < per_word)
        lo |= bits;
      else
        hi |= bits;
    }
  }
  [[nodiscard]] STRIDECOPY_HD vec<Unit> get() const {
    struct alignas(16) words {
      unsigned long long lo, hi;
    };
    return ::cuda::std::bit_cast<vec<Unit>>(words{lo, hi});
  }
};

/// 16 bytes as units, loaded and stored as one 128-bit access through the accessor `mem`.
#pragma nv_exec_check_disable
template <int Unit, class Mem>
STRIDECOPY_HD vec<Unit> load_vector(const Mem& mem, const unit_t<Unit>* p) {
  return ::cuda::std::bit_cast<vec<Unit>>(mem.load(reinterpret_cast<const uint4*>(p)));
}
#pragma nv_exec_check_disable
template <int Unit, class Mem>
STRIDECOPY_HD void store_vector(const Mem& mem, unit_t<Unit>* p, const vec<Unit>& v) {
  mem.store(reinterpret_cast<uint4*>(p), ::cuda::std::bit_cast<uint4>(v));
}

}  // namespace stridecopy::kernels
