// kernels/stridecopy/kernels/index_math.cuh — the addressing every kernel shares, __host__ __device__ so
// the tests replay it on the CPU: units, 16-byte vectors, offset maps over fast divmod, output splits.
#pragma once

#include <cub/detail/fast_modulo_division.cuh>
#include <cuda/std/array>
#include <cuda/std/bit>
#include <cuda/std/cstdint>
#include <cuda/std/type_traits>
#include <vector_types.h>

#include <cstdint>
#include <utility>

#define STRIDECOPY_HD __host__ __device__ __forceinline__
// Unrolling matters on the device only; the host compiler would warn about the pragma.
#ifdef __CUDA_ARCH__
#define STRIDECOPY_UNROLL _Pragma("unroll")
#else
#define STRIDECOPY_UNROLL
#endif

namespace stridecopy::kernels {

/// Most dimensions an offset map walks: a view's 8 plus the split of wide elements into units.
inline constexpr int max_dims = 9;
/// Bytes every kernel stores at once where alignment allows.
inline constexpr int vector_bytes = 16;

/// The integer type that moves one unit (1, 2, 4, 8 or 16 bytes).
template <int Unit>
using unit_t = ::cuda::std::conditional_t<
    Unit == 1, ::cuda::std::uint8_t,
    ::cuda::std::conditional_t<
        Unit == 2, ::cuda::std::uint16_t,
        ::cuda::std::conditional_t<Unit == 4, ::cuda::std::uint32_t,
                                   ::cuda::std::conditional_t<Unit == 8, unsigned long long, uint4>>>>;

/// Units in one 16-byte vector.
template <int Unit>
inline constexpr int units_per_vector = vector_bytes / Unit;

/// A 16-byte vector as units, for assembling and reversing in registers.
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

/// Source offset (in units) of a linear index over up to max_dims dimensions, innermost last:
/// offset(i) = sum_d index_d(i) * stride[d], index_d from fast division by the extents.
/// Unused leading dimensions have extent 1, so the loop is fully unrolled with static indices
/// (no local memory) and skips them by the runtime `dims`.
template <class Index>
struct offset_map {
  using div_t = cub::detail::fast_div_mod<Index>;
  int dims = 0;
  ::cuda::std::array<div_t, max_dims> extent;
  ::cuda::std::array<Index, max_dims> stride;

  STRIDECOPY_HD Index offset(Index linear) const {
    Index off = 0;
STRIDECOPY_UNROLL
    for (int d = max_dims - 1; d >= 0; --d) {
      if (max_dims - 1 - d < dims) {
        const auto qr = extent[d](linear);
        off += Index(qr.remainder) * stride[d];
        linear = Index(qr.quotient);
      }
    }
    return off;
  }
};

/// Builds an offset map over dims [first, last) of a normalised plan (extents and strides in units).
/// Host only: this is launch preparation, not addressing.
template <class Index>
offset_map<Index> make_offset_map(const std::int64_t* extents, const std::int64_t* strides, int first, int last);

namespace detail {
template <class Index, std::size_t... K>
::cuda::std::array<cub::detail::fast_div_mod<Index>, sizeof...(K)> make_divisors(const Index* e,
                                                                              std::index_sequence<K...>) {
  return {cub::detail::fast_div_mod<Index>(e[K])...};
}
}  // namespace detail

template <class Index>
offset_map<Index> make_offset_map(const std::int64_t* extents, const std::int64_t* strides, int first, int last) {
  // Right-aligned: dimension last-1 sits in slot max_dims-1.
  Index e[max_dims], s[max_dims];
  for (int i = 0; i < max_dims; ++i) {
    e[i] = 1;
    s[i] = 0;
  }
  const int n = last - first;
  for (int i = 0; i < n; ++i) {
    e[max_dims - n + i] = Index(extents[first + i]);
    s[max_dims - n + i] = Index(strides[first + i]);
  }
  offset_map<Index> m{n, detail::make_divisors<Index>(e, std::make_index_sequence<max_dims>{}), {}};
  for (int i = 0; i < max_dims; ++i) m.stride[i] = s[i];
  return m;
}

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
  // dst is unit-aligned (the executor guarantees it), so the head is whole units.
  s.head = misalign == 0 ? Index(0) : Index((vector_bytes - misalign) / Unit);
  if (s.head > count) s.head = count;
  s.vectors = (count - s.head) / k;
  s.tail = count - s.head - s.vectors * k;
  return s;
}

}  // namespace stridecopy::kernels
