// host/cpu/gather.cpp — OpenMP gather from a strided host view into a contiguous destination:
// memcpy runs (inner stride +1), a vectorisable reverse (-1), cache-blocked tiles for transposes,
// and a strided loop for the rest.
#include "cpu/gather.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/plan_ops.hpp"
#include "cpu/nontemporal.hpp"
#include "stridecopy/kernels/unit.hpp"

// The hot loops are compiled twice, for AVX2 and for the baseline, and picked at load time: GCC
// vectorises the small fixed-shape loops below (3-byte reverses, 3-plane interleaves) only with
// byte shuffles, which baseline x86-64 lacks.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STRIDECOPY_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define STRIDECOPY_MULTIVERSION
#endif

namespace stridecopy::detail {
namespace {

using kernels::unit_t;

// The source is unit-aligned (make_plan chose the unit so); the destination may not be, so stores
// go through memcpy, which compiles to plain unaligned moves.
template <class U>
inline void put(std::byte* d, std::int64_t j, U value) {
  std::memcpy(d + j * std::int64_t(sizeof(U)), &value, sizeof(U));
}

// Outputs this large write their long rows with non-temporal stores: the output would not stay in the
// cache anyway, and non-temporal stores skip the read-for-ownership of every destination line (a third
// of a copy's memory traffic). Measured (bench/run_host_bench.py): [:, ::-1, :, :] gains about 1.5x.
// Gathering the other patterns into a cached buffer and writing that out non-temporally was slower than plain
// stores here, so only rows that nontemporal.hpp vectorises directly (runs, reverses, ::2) use them.
constexpr std::size_t nontemporal_bytes = std::size_t(8) << 20;

template <class U, bool NonTemporal = false>
inline void copy_row(const U* __restrict s, std::int64_t step, std::int64_t n, std::byte* __restrict d) {
  if (step == 1) {
    if constexpr (NonTemporal)
      nt_copy(d, reinterpret_cast<const std::byte*>(s), std::size_t(n) * sizeof(U));
    else
      std::memcpy(d, s, std::size_t(n) * sizeof(U));
  } else if (step == -1) {
    if constexpr (NonTemporal && (sizeof(U) == 4 || sizeof(U) == 8))
      nt_reverse(d, s, n);
    else
      for (std::int64_t j = 0; j < n; ++j) put(d, j, s[-j]);
  } else if (step == 2) {  // x[..., ::2]: a constant step vectorises
    if constexpr (NonTemporal && sizeof(U) == 4)
      nt_even32(d, s, n);
    else
      for (std::int64_t j = 0; j < n; ++j) put(d, j, s[2 * j]);
  } else {
    for (std::int64_t j = 0; j < n; ++j) put(d, j, s[j * step]);
  }
}

// Reversed rows of N units packed back to back (RGB <-> BGR, RGBA <-> ABGR, real <-> imaginary):
// a fixed permutation of a contiguous source that the compiler turns into byte shuffles.
template <int N, class U>
inline void reverse_packed_rows(const U* __restrict s, std::int64_t rows, std::byte* __restrict d) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (int j = 0; j < N; ++j) put(d, r * N + j, s[r * N - j]);
}

// Rows of n <= 16 units: one call per row would cost more than the row, so walk the next dimension
// out in the same loop.
template <class U>
inline void copy_short_rows(const U* __restrict s, std::int64_t row_step, std::int64_t rows, std::int64_t step,
                            std::int64_t n, std::byte* __restrict d) {
  if (step == -1 && row_step == n) {
    switch (n) {
      case 2: return reverse_packed_rows<2>(s, rows, d);
      case 3: return reverse_packed_rows<3>(s, rows, d);
      case 4: return reverse_packed_rows<4>(s, rows, d);
      default: break;
    }
  }
  for (std::int64_t r = 0; r < rows; ++r, s += row_step, d += n * std::int64_t(sizeof(U)))
    for (std::int64_t j = 0; j < n; ++j) put(d, j, s[j * step]);
}

template <class U, bool NonTemporal = false>
STRIDECOPY_MULTIVERSION void gather_units(const plan& p, const std::byte* first_element, std::int64_t first,
                                          std::int64_t count, std::byte* dst) {
  const U* src = reinterpret_cast<const U*>(first_element);
  if (p.rank == 0) {
    if (count > 0) put(dst, 0, src[0]);
    return;
  }
  const int r = p.rank;
  std::int64_t idx[max_plan_rank];
  std::int64_t off = 0, rem = first;
  for (int d = r - 1; d >= 0; --d) {
    idx[d] = rem % p.extent[d];
    rem /= p.extent[d];
    off += idx[d] * p.stride[d];
  }
  const std::int64_t n = p.extent[r - 1], step = p.stride[r - 1];
  // Dim d has just reached its extent: wrap it and step the dims outside it (odometer).
  auto carry = [&](int d) {
    while (d > 0 && idx[d] == p.extent[d]) {
      off -= idx[d] * p.stride[d];
      idx[d] = 0;
      --d;
      ++idx[d];
      off += p.stride[d];
    }
  };
  while (count > 0) {
    std::int64_t done;
    if (r >= 2 && idx[r - 1] == 0 && n <= 16 && count >= n) {
      // Whole short rows along dim r-2, up to the end of that dim or of the range.
      const std::int64_t rows = std::min(p.extent[r - 2] - idx[r - 2], count / n);
      copy_short_rows(src + off, p.stride[r - 2], rows, step, n, dst);
      done = rows * n;
      off += rows * p.stride[r - 2];
      idx[r - 2] += rows;
      dst += done * std::int64_t(sizeof(U));
      count -= done;
      carry(r - 2);
      continue;
    }
    done = std::min(n - idx[r - 1], count);
    copy_row<U, NonTemporal>(src + off, step, done, dst);
    dst += done * std::int64_t(sizeof(U));
    count -= done;
    idx[r - 1] += done;
    off += done * step;
    carry(r - 1);
  }
}

// ---- transposes: the dim `unit_dim` (a, stride +-1) and the inner dim (b, stride far from 1) are
// tiled so that reads run along a and writes along b, both a cache line or more at a time.

// B planes of a forward unit-stride dim interleaved (NCHW -> NHWC with few channels).
template <int B, class U>
inline void interleave_planes(const U* __restrict s, std::int64_t plane_step, std::int64_t n, std::byte* __restrict d) {
  for (std::int64_t a = 0; a < n; ++a)
    for (int b = 0; b < B; ++b) put(d, a * B + b, s[b * plane_step + a]);
}

template <class U>
STRIDECOPY_MULTIVERSION void transpose_tile(const plan& p, const std::byte* first_element, const transpose_shape& t,
                                            std::int64_t plane, std::int64_t a0, std::int64_t a1, std::byte* out) {
  constexpr std::int64_t tb = std::max<std::int64_t>(8, 256 / std::int64_t(sizeof(U)));
  const U* src = reinterpret_cast<const U*>(first_element);
  const int u = p.unit_dim;
  // Source offset of the plane: odometer over the dims outside u.
  std::int64_t base = 0, rem = plane;
  for (int d = u - 1; d >= 0; --d) {
    base += (rem % p.extent[d]) * p.stride[d];
    rem /= p.extent[d];
  }
  const std::int64_t sa = p.stride[u], sb = p.inner_stride();
  const int r = p.rank;
  std::byte* plane_out = out + plane * t.a * t.row_units() * std::int64_t(sizeof(U));
  if (sa == 1 && t.m == 1 && t.b <= 4) {
    const U* s = src + base + a0;
    std::byte* d = plane_out + a0 * t.b * std::int64_t(sizeof(U));
    switch (t.b) {
      case 2: return interleave_planes<2>(s, sb, a1 - a0, d);
      case 3: return interleave_planes<3>(s, sb, a1 - a0, d);
      default: return interleave_planes<4>(s, sb, a1 - a0, d);
    }
  }
  for (std::int64_t mi = 0; mi < t.m; ++mi) {
    std::int64_t moff = 0, mrem = mi;
    for (int d = r - 2; d > u; --d) {
      moff += (mrem % p.extent[d]) * p.stride[d];
      mrem /= p.extent[d];
    }
    for (std::int64_t b0 = 0; b0 < t.b; b0 += tb) {
      const std::int64_t b1 = std::min(t.b, b0 + tb);
      for (std::int64_t a = a0; a < a1; ++a) {
        const U* s = src + base + moff + a * sa;
        std::byte* d = plane_out + ((a * t.m + mi) * t.b) * std::int64_t(sizeof(U));
        for (std::int64_t b = b0; b < b1; ++b) put(d, b, s[b * sb]);
      }
    }
  }
}

template <class U>
void gather_all(const plan& p, const std::byte* first_element, std::byte* dst, int threads) {
  if (p.pat == pattern::transposed) {
    const transpose_shape t = transpose_shape_of(p);
    // Few planes interleaved (the fast path of transpose_tile) stream through the cache: tiles of
    // 64 KiB of output. Otherwise tiles of a few cache lines of source per b, so that the b lines
    // stay in L1.
    const bool interleave = t.m == 1 && t.b <= 4 && p.stride[p.unit_dim] == 1;
    const std::int64_t ta = interleave ? std::int64_t(64 * 1024) / std::int64_t(sizeof(U) * std::size_t(t.b))
                                       : std::max<std::int64_t>(16, 512 / std::int64_t(sizeof(U)));
    const std::int64_t tiles = (t.a + ta - 1) / ta;
    const auto run_tile = [&](std::int64_t plane, std::int64_t tile) {
      transpose_tile<U>(p, first_element, t, plane, tile * ta, std::min(t.a, (tile + 1) * ta), dst);
    };
    if (threads <= 1) {  // no parallel region at all: small copies must not pay for one
      for (std::int64_t plane = 0; plane < t.planes; ++plane)
        for (std::int64_t tile = 0; tile < tiles; ++tile) run_tile(plane, tile);
      return;
    }
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads) collapse(2)
    for (std::int64_t plane = 0; plane < t.planes; ++plane)
      for (std::int64_t tile = 0; tile < tiles; ++tile) run_tile(plane, tile);
    return;
  }
  // Non-temporal stores for the rows nontemporal.hpp vectorises: runs, every-other-element rows of 4-byte
  // units, and reversed rows of 4- and 8-byte units when they are long. A/B runs of host_bench
  // (2026-11-26): non-temporal stores made [:, ::-1, :, :] 1.3x, [:, :, ::-1, ::-1] (5 MB rows) 1.2x and
  // [..., ::2] 1.3x faster, but [..., ::-1] (5 KB rows) 1.2x slower, hence the row length bound.
  const std::int64_t step = p.inner_stride(), row_bytes = p.inner_extent() * p.unit;
  const bool nontemporal = p.bytes >= nontemporal_bytes && p.inner_extent() >= 64 &&
                         (step == 1 || (step == 2 && p.unit == 4) ||
                          (step == -1 && (p.unit == 4 || p.unit == 8) && row_bytes >= (64 << 10)));
  const auto run_range = [&](std::int64_t first, std::int64_t count) {
    std::byte* out = dst + first * std::int64_t(sizeof(U));
    if (nontemporal) {
      gather_units<U, true>(p, first_element, first, count, out);
      nt_fence();
    } else {
      gather_units<U>(p, first_element, first, count, out);
    }
  };
  if (threads <= 1) return run_range(0, p.units());
  const chunking c = chunk_output(p, std::size_t(1) << 20);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::int64_t i = 0; i < c.count; ++i) {
    const std::int64_t first = i * c.chunk_units;
    run_range(first, std::min(c.chunk_units, p.units() - first));
  }
}

}  // namespace

void gather_range(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, std::byte* dst) {
  if (count <= 0 || p.pat == pattern::empty) return;
  kernels::with_unit(p.unit, [&](auto u) { gather_units<unit_t<decltype(u)::value>>(p, src, first, count, dst); });
}

void gather(const plan& p, const std::byte* src, std::byte* dst, int threads) {
  if (p.pat == pattern::empty) return;
  kernels::with_unit(p.unit, [&](auto u) { gather_all<unit_t<decltype(u)::value>>(p, src, dst, threads); });
}

int team_size(std::size_t bytes, int requested) {
  if (requested > 0) return requested;
  // Starting a team costs about a microsecond; below this size one thread finishes first.
  constexpr std::size_t bytes_per_thread = std::size_t(256) << 10;
  const std::size_t useful = std::max<std::size_t>(1, bytes / bytes_per_thread);
  return int(std::min<std::size_t>(useful, std::size_t(omp_get_max_threads())));
}

}  // namespace stridecopy::detail
