// host/cpu/gather.cpp — the CPU gather from a strided host view into a contiguous destination:
// memcpy runs (inner stride +1), a vectorisable reverse (-1), cache-blocked tiles for transposes,
// and a strided loop for the rest; large outputs in pieces on the thread pool.
#include "cpu/gather.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/plan_ops.hpp"
#include "cpu/nontemporal.hpp"
#include "cpu/thread_pool.hpp"
#include "ops/unit.hpp"

// The hot loops are compiled twice, for AVX2 and for the baseline, and picked at load time: GCC
// vectorises the small fixed-shape loops below (3-byte reverses, 3-plane interleaves) only with
// byte shuffles, which baseline x86-64 lacks. Not under ThreadSanitizer: it instruments the
// resolvers, which the loader runs before the sanitizer is initialised.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
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

// Outputs this large write with non-temporal stores where nontemporal.hpp writes them directly: the
// output would not stay in the cache anyway, and non-temporal stores skip the read-for-ownership of
// every destination line (a third of a copy's memory traffic). Measured (bench/run_host_bench.py):
// [:, ::-1, :, :] gains about 1.5x. Gathering other patterns into a cached buffer and writing that out
// non-temporally was slower than plain stores, so only the kernels of nontemporal.hpp use them.
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
template <class U, bool NonTemporal = false>
inline void copy_short_rows(const U* __restrict s, std::int64_t row_step, std::int64_t rows, std::int64_t step,
                            std::int64_t n, std::byte* __restrict d) {
  if constexpr (NonTemporal && sizeof(U) == 1) {
    // streams_rows() admits packed 3-byte reverses only: the row's first element is its last byte.
    if (step == -1 && row_step == 3 && n == 3)
      return nt_reverse_pixels3(d, reinterpret_cast<const std::byte*>(s) - 2, rows);
  }
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
  if (p.walk.rank == 0) {
    if (count > 0) put(dst, 0, src[0]);
    return;
  }
  const int r = p.walk.rank;
  std::int64_t idx[max_plan_rank];
  std::int64_t off = 0, rem = first;
  for (int d = r - 1; d >= 0; --d) {
    idx[d] = rem % p.walk.extent[d];
    rem /= p.walk.extent[d];
    off += idx[d] * p.walk.stride[d];
  }
  const std::int64_t n = p.walk.extent[r - 1], step = p.walk.stride[r - 1];
  // Dim d has just reached its extent: wrap it and step the dims outside it (odometer).
  auto carry = [&](int d) {
    while (d > 0 && idx[d] == p.walk.extent[d]) {
      off -= idx[d] * p.walk.stride[d];
      idx[d] = 0;
      --d;
      ++idx[d];
      off += p.walk.stride[d];
    }
  };
  while (count > 0) {
    std::int64_t done;
    if (r >= 2 && idx[r - 1] == 0 && n <= 16 && count >= n) {
      // Whole short rows along dim r-2, up to the end of that dim or of the range.
      const std::int64_t rows = std::min(p.walk.extent[r - 2] - idx[r - 2], count / n);
      copy_short_rows<U, NonTemporal>(src + off, p.walk.stride[r - 2], rows, step, n, dst);
      done = rows * n;
      off += rows * p.walk.stride[r - 2];
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

// How a transposed plan writes its output (chosen once per copy by transpose_way_of).
enum class transpose_way {
  tiles,               ///< cached stores, tiles that keep the source lines of a tile in L1
  interleave3_stream,  ///< 3 planes of 4-byte units interleaved, non-temporal 16-byte stores
  blocks64_stream,     ///< 8-byte units in 8 x 8 blocks: whole 64-byte output lines, non-temporal
};

// Source offset (units) of plane `plane` of a transposed plan: odometer over the dims outside unit_dim.
std::int64_t plane_offset(const plan& p, std::int64_t plane) {
  std::int64_t base = 0, rem = plane;
  for (int d = p.walk.unit_dim - 1; d >= 0; --d) {
    base += (rem % p.walk.extent[d]) * p.walk.stride[d];
    rem /= p.walk.extent[d];
  }
  return base;
}

// Output rows [a0, a1) of one plane of a 2-D transpose of 8-byte units (t.m == 1, forward unit-stride
// dim): source unit (a, b) at s[a + b * sb], output row a (b_count units) at d + a * b_count * 8.
// Bands of 8 source rows are read along a; each pair of output rows receives one whole 64-byte line
// per band, written non-temporally. The bands start where the output's lines do: a streaming store
// to part of a line costs a read of the line in memory, and scattered partial lines measured 3-5x
// slower than cached stores. What is left (the columns before the first line and after the last,
// the last row of an odd range) goes through cached stores. d must be 8-aligned, b_count a multiple
// of 8 (so every output row starts at the same offset in a line).
inline void transpose_blocks64_stream(const std::uint64_t* __restrict s, std::int64_t sb, std::int64_t a0,
                                      std::int64_t a1, std::int64_t b_count, std::byte* __restrict d) {
  const std::int64_t pitch = b_count * 8;
  const std::int64_t head =
      std::min<std::int64_t>(b_count, std::int64_t((64 - reinterpret_cast<std::uintptr_t>(d) % 64) % 64) / 8);
  const std::int64_t b_end = head + (b_count - head) / 8 * 8, a_pairs_end = a0 + (a1 - a0) / 2 * 2;
  for (std::int64_t b = head; b < b_end; b += 8) {
    const std::uint64_t* band = s + b * sb;
    for (std::int64_t a = a0; a < a_pairs_end; a += 2) nt_transpose_2x8_64(d + a * pitch + b * 8, pitch, band + a, sb);
  }
  const auto cached = [&](std::int64_t a, std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) put(d + a * pitch, b, s[a + b * sb]);
  };
  for (std::int64_t a = a0; a < a1; ++a) {
    if (a >= a_pairs_end) {
      cached(a, 0, b_count);
    } else {
      cached(a, 0, head);
      cached(a, b_end, b_count);
    }
  }
}

template <class U>
STRIDECOPY_MULTIVERSION void transpose_tile(const plan& p, const std::byte* first_element, const transpose_shape& t,
                                            transpose_way way, std::int64_t plane, std::int64_t a0, std::int64_t a1,
                                            std::byte* out) {
  constexpr std::int64_t tb = std::max<std::int64_t>(8, 256 / std::int64_t(sizeof(U)));
  const U* src = reinterpret_cast<const U*>(first_element);
  const int u = p.walk.unit_dim;
  const std::int64_t base = plane_offset(p, plane);
  const std::int64_t sa = p.walk.stride[u], sb = p.walk.inner_stride();
  const int r = p.walk.rank;
  std::byte* plane_out = out + plane * t.a * t.row_units() * std::int64_t(sizeof(U));
  if constexpr (sizeof(U) == 8) {
    if (way == transpose_way::blocks64_stream)
      return transpose_blocks64_stream(reinterpret_cast<const std::uint64_t*>(src + base), sb, a0, a1, t.b, plane_out);
  }
  if (sa == 1 && t.m == 1 && t.b <= 4) {
    const U* s = src + base + a0;
    std::byte* d = plane_out + a0 * t.b * std::int64_t(sizeof(U));
    if constexpr (sizeof(U) == 4) {
      if (way == transpose_way::interleave3_stream)
        return nt_interleave3_32(d, reinterpret_cast<const std::uint32_t*>(s), sb, a1 - a0);
    }
    switch (t.b) {
      case 2: return interleave_planes<2>(s, sb, a1 - a0, d);
      case 3: return interleave_planes<3>(s, sb, a1 - a0, d);
      default: return interleave_planes<4>(s, sb, a1 - a0, d);
    }
  }
  for (std::int64_t mi = 0; mi < t.m; ++mi) {
    std::int64_t moff = 0, mrem = mi;
    for (int d = r - 2; d > u; --d) {
      moff += (mrem % p.walk.extent[d]) * p.walk.stride[d];
      mrem /= p.walk.extent[d];
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

// Large transposes whose output nontemporal.hpp writes in whole vectors stream it (no read for
// ownership of the destination): 3 planes of 4-byte units interleaved (NCHW -> NHWC, RGB), and 2-D
// transposes of 8-byte units in whole 64-byte lines. Written this way, the float64 2048 x 2048
// transpose runs 2.2x faster on one thread than through the tiles (bench/RESULTS.md has the runs).
transpose_way transpose_way_of(const plan& p, const transpose_shape& t, const std::byte* dst) {
  if (p.bytes < nontemporal_bytes || t.m != 1 || p.walk.stride[p.walk.unit_dim] != 1) return transpose_way::tiles;
  const auto addr = reinterpret_cast<std::uintptr_t>(dst);
  if (p.walk.unit == 4 && t.b == 3 && addr % 4 == 0) return transpose_way::interleave3_stream;
  if (p.walk.unit == 8 && t.b >= 16 && t.b % 8 == 0 && addr % 8 == 0) return transpose_way::blocks64_stream;
  return transpose_way::tiles;
}

// Whether a row-walked (not transposed) plan writes its output with non-temporal stores: large outputs
// whose rows nontemporal.hpp vectorises (runs, every-other-element rows of 4-byte units, reversed rows
// of 4- and 8-byte units, packed 3-byte reverses). The output is written forward in whole lines, so
// the read for ownership of every destination line is saved: [:, ::-1, :, :] runs 1.3x faster than
// with cached stores (bench/RESULTS.md has the runs of every view).
bool streams_rows(const plan& p) {
  if (p.bytes < nontemporal_bytes || p.walk.rank == 0) return false;
  const std::int64_t step = p.walk.inner_stride(), n = p.walk.inner_extent();
  if (p.walk.unit == 1 && step == -1 && n == 3 && p.walk.rank >= 2 && p.walk.stride[p.walk.rank - 2] == 3)
    return cpu_has_ssse3();
  return n >= 64 &&
         (step == 1 || (step == 2 && p.walk.unit == 4) || (step == -1 && (p.walk.unit == 4 || p.walk.unit == 8)));
}

// Below this a copy runs on the calling thread alone: a sleeping worker starts running pieces 27-35 us
// after it is woken on an idle 2-CPU KVM guest (AMD EPYC, medians; milliseconds when its CPU is busy),
// which is all of a 1 MiB copy (26-115 us on one thread there), so a worker only pays for itself on
// copies of several hundred microseconds.
constexpr std::size_t parallel_bytes = std::size_t(4) << 20;

// Pieces of 64 KiB to 1 MiB, about 8 per thread: a worker that loses its core in the middle of a
// piece holds the copy back by at most that piece, and the pieces still outnumber the threads.
std::size_t auto_piece_bytes(std::size_t bytes, int threads) {
  return std::clamp(bytes / (std::size_t(8) * std::size_t(std::max(threads, 1))), std::size_t(64) << 10,
                    std::size_t(1) << 20);
}

template <class U>
void gather_all(const plan& p, const std::byte* first_element, std::byte* dst, int threads, std::size_t piece_bytes) {
  if (piece_bytes == 0) piece_bytes = auto_piece_bytes(p.bytes, threads);
  if (p.walk.pattern == pattern::transposed) {
    const transpose_shape t = transpose_shape_of(p);
    const transpose_way way = transpose_way_of(p, t, dst);
    // Few planes interleaved (the fast path of transpose_tile) stream through the cache: tiles of
    // 64 KiB of output, whole 64-byte lines when the destination is line-aligned (a multiple of 16
    // pixels). Otherwise tiles of a few cache lines of source per b, so that the b lines stay in L1.
    const bool interleave = t.m == 1 && t.b <= 4 && p.walk.stride[p.walk.unit_dim] == 1;
    const std::int64_t ta0 = interleave ? std::int64_t(64 * 1024) / std::int64_t(sizeof(U) * std::size_t(t.b)) / 16 * 16
                                        : std::max<std::int64_t>(16, 512 / std::int64_t(sizeof(U)));
    // 8 x 8 blocks: 256 output rows per tile, so a band reads 2 KiB runs of its 8 source rows.
    // Measured on the float64 2048x2048 transpose, one thread: tiles of 8, 16, 64, 256 and 2048 rows
    // took 8.3-9.1, 7.4-7.8, 7.0-8.8, 6.4-7.1 and 6.3-6.7 ms; 256 leaves 8 tiles to share.
    const std::int64_t ta = way == transpose_way::blocks64_stream ? 256 : ta0;
    const std::int64_t tiles = (t.a + ta - 1) / ta;
    const auto run_tile = [&](std::int64_t plane, std::int64_t tile) {
      transpose_tile<U>(p, first_element, t, way, plane, tile * ta, std::min(t.a, (tile + 1) * ta), dst);
      if (way != transpose_way::tiles) nt_fence();
    };
    // A piece is a run of whole tiles, in (plane, tile) order.
    const std::int64_t tile_bytes = ta * t.m * t.b * std::int64_t(sizeof(U));
    const std::int64_t per_piece =
        std::max<std::int64_t>(1, std::int64_t(piece_bytes) / std::max<std::int64_t>(tile_bytes, 1));
    const std::int64_t all = t.planes * tiles;
    run_pieces((all + per_piece - 1) / per_piece, threads, [&](std::int64_t piece) {
      for (std::int64_t k = piece * per_piece, end = std::min(all, k + per_piece); k < end; ++k)
        run_tile(k / tiles, k % tiles);
    });
    return;
  }
  const bool nontemporal = streams_rows(p);
  const auto run_range = [&](std::int64_t first, std::int64_t count) {
    std::byte* out = dst + first * std::int64_t(sizeof(U));
    if (nontemporal) {
      gather_units<U, true>(p, first_element, first, count, out);
      nt_fence();
    } else {
      gather_units<U>(p, first_element, first, count, out);
    }
  };
  if (threads <= 1) return run_pieces(1, 1, [&](std::int64_t) { run_range(0, p.units()); });
  const chunking c = chunk_output(p, piece_bytes);
  run_pieces(c.count, threads, [&](std::int64_t i) {
    const std::int64_t first = i * c.chunk_units;
    run_range(first, std::min(c.chunk_units, p.units() - first));
  });
}

}  // namespace

void gather_range(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, std::byte* dst) {
  if (count <= 0 || p.walk.pattern == pattern::empty) return;
  kernels::with_unit(p.walk.unit, [&](auto u) { gather_units<unit_t<decltype(u)::value>>(p, src, first, count, dst); });
}

void gather_range(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, std::byte* dst,
                  int threads) {
  if (threads <= 1) return run_pieces(1, 1, [&](std::int64_t) { gather_range(p, src, first, count, dst); });
  const std::int64_t piece_units = std::max<std::int64_t>(
      1, std::int64_t(auto_piece_bytes(std::size_t(count) * std::size_t(p.walk.unit), threads)) / p.walk.unit);
  run_pieces((count + piece_units - 1) / piece_units, threads, [&](std::int64_t i) {
    const std::int64_t a = i * piece_units, n = std::min(piece_units, count - a);
    gather_range(p, src, first + a, n, dst + a * p.walk.unit);
  });
}

void gather(const plan& p, const std::byte* src, std::byte* dst, int threads, std::size_t piece_bytes) {
  if (p.walk.pattern == pattern::empty) return;
  kernels::with_unit(p.walk.unit,
                     [&](auto u) { gather_all<unit_t<decltype(u)::value>>(p, src, dst, threads, piece_bytes); });
}

int team_size(std::size_t bytes, int requested) {
  if (bytes < parallel_bytes) return 1;
  return cpu_threads(requested);
}

}  // namespace stridecopy::detail
