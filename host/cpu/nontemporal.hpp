// host/cpu/nontemporal.hpp — copies with non-temporal stores (internal): the destination bypasses the
// cache, saving the read-for-ownership of every line. Used by the CPU gather for long runs and by the
// host benchmark as the stricter memcpy limit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace stridecopy::detail {

/// n bytes from s to d, the destination written with 16-byte non-temporal stores.
inline void nt_copy(std::byte* __restrict d, const std::byte* __restrict s, std::size_t n) {
#if defined(__x86_64__)
  const std::size_t head = std::min(n, (16 - reinterpret_cast<std::uintptr_t>(d) % 16) % 16);
  std::memcpy(d, s, head);
  std::size_t i = head;
  for (; i + 64 <= n; i += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 32));
    const __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + 48), e);
  }
  for (; i + 16 <= n; i += 16)
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
  std::memcpy(d + i, s + i, n - i);
#else
  std::memcpy(d, s, n);
#endif
}

/// Asks for the source line `prefetch_distance` bytes ahead of p. The hardware prefetchers alone kept
/// too few lines in flight for the gathers below: with 8 KiB ahead (the best of 1 to 16 KiB),
/// x[..., ::2], whose read stream is twice its write stream, went from 0.55 to 0.70 of memcpy's speed
/// on 2 threads (bench/RESULTS.md has the runs of every gather). Prefetches never fault, so reaching
/// past the source's end is harmless. nt_copy has none: it is also the benchmark's memcpy limit,
/// which stays a plain copy.
inline constexpr std::int64_t prefetch_distance = 8 << 10;
inline void prefetch_ahead(const void* p) {
#if defined(__x86_64__)
  // Through an integer: the address may lie past the end of the source's allocation.
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + prefetch_distance), _MM_HINT_T0);
#endif
}

/// d[j] = s[-j] for j < n over 4- or 8-byte units (a reversed row), the destination written with
/// 16-byte non-temporal stores; the source is read 16 bytes at a time and reversed in registers.
/// j walks downwards, so the source is read upwards in memory: consecutive reversed rows then read
/// one forward stream, which the hardware prefetchers follow, instead of many short backward ones.
template <class U>
inline void nt_reverse(std::byte* __restrict d, const U* __restrict s, std::int64_t n) {
  static_assert(sizeof(U) == 4 || sizeof(U) == 8);
  constexpr std::int64_t k = 16 / std::int64_t(sizeof(U)), u = std::int64_t(sizeof(U));
  const auto one = [&](std::int64_t j) { std::memcpy(d + j * u, s - j, sizeof(U)); };
  std::int64_t j = n;
#if defined(__x86_64__)
  // [lo, hi): the units whose 16-byte groups of the destination are whole and aligned.
  const auto addr = std::int64_t(reinterpret_cast<std::uintptr_t>(d));
  const std::int64_t lo = std::min(n, ((16 - addr % 16) % 16) / u);
  const std::int64_t hi = lo + (n - lo) / k * k;
  if (addr % u == 0) {
    for (; j > hi; --j) one(j - 1);
    for (; j > lo; j -= k) {
      if (((j - lo) / k) % 4 == 0) prefetch_ahead(s - (j - 1));  // a line per 4 vectors: 64 bytes
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s - (j - 1)));
      v = sizeof(U) == 4 ? _mm_shuffle_epi32(v, _MM_SHUFFLE(0, 1, 2, 3))
                         : _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2));
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + (j - k) * u), v);
    }
  }
#endif
  for (; j > 0; --j) one(j - 1);
}

/// d[j] = s[2 j] for j < n over 4-byte units (x[..., ::2]), with non-temporal stores; the source is
/// prefetched a line at a time.
inline void nt_even32(std::byte* __restrict d, const std::uint32_t* __restrict s, std::int64_t n) {
  std::int64_t j = 0;
#if defined(__x86_64__)
  for (; j < n && reinterpret_cast<std::uintptr_t>(d + j * 4) % 16 != 0; ++j) std::memcpy(d + j * 4, s + 2 * j, 4);
  for (; j + 4 <= n; j += 4) {
    if (j % 8 == 0) prefetch_ahead(s + 2 * j);
    const __m128 a = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * j)));
    const __m128 b = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * j + 4)));
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + j * 4),
                     _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))));
  }
#endif
  for (; j < n; ++j) std::memcpy(d + j * 4, s + 2 * j, 4);
}

/// Pixels of 3 bytes with their bytes reversed (uint8 RGB <-> BGR, x[..., ::-1] of a channel-last
/// image): d[3 p + j] = s[3 p + 2 - j] for p < pixels, `s` being the first pixel's first byte. Blocks
/// of 16 pixels (48 bytes, three 16-byte vectors) are permuted with byte shuffles and written with
/// non-temporal stores. Needs SSSE3 (cpu_has_ssse3()).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("ssse3")))
#endif
inline void
nt_reverse_pixels3(std::byte* __restrict d, const std::byte* __restrict s, std::int64_t pixels) {
  std::int64_t p = 0;
  const auto scalar = [&](std::int64_t q) {
    for (int j = 0; j < 3; ++j) d[3 * q + j] = s[3 * q + 2 - j];
  };
#if defined(__x86_64__)
  for (; p < pixels && reinterpret_cast<std::uintptr_t>(d + 3 * p) % 16 != 0; ++p) scalar(p);
  // shuffle[o][i]: the bytes of input vector i that land in output vector o (-1: none). Output byte
  // k of a block is input byte 3 (k / 3) + 2 - k % 3.
  struct masks {
    alignas(16) std::int8_t m[3][3][16];
  };
  static constexpr masks shuffle = [] {
    masks t{};
    for (int o = 0; o < 3; ++o)
      for (int i = 0; i < 3; ++i)
        for (int b = 0; b < 16; ++b) {
          const int k = 16 * o + b, from = 3 * (k / 3) + 2 - k % 3;
          t.m[o][i][b] = std::int8_t(from / 16 == i ? from % 16 : -1);
        }
    return t;
  }();
  const auto mask = [](int o, int i) { return _mm_load_si128(reinterpret_cast<const __m128i*>(shuffle.m[o][i])); };
  const __m128i m00 = mask(0, 0), m01 = mask(0, 1), m10 = mask(1, 0), m11 = mask(1, 1), m12 = mask(1, 2),
                m21 = mask(2, 1), m22 = mask(2, 2);  // output 0 needs no input 2, output 2 no input 0
  for (; p + 16 <= pixels; p += 16) {
    const std::byte* b = s + 3 * p;
    prefetch_ahead(b);  // one per 48-byte block: a few more prefetches than lines, none missed
    const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16));
    const __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 32));
    auto* o = reinterpret_cast<__m128i*>(d + 3 * p);
    _mm_stream_si128(o, _mm_or_si128(_mm_shuffle_epi8(x0, m00), _mm_shuffle_epi8(x1, m01)));
    _mm_stream_si128(o + 1, _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(x0, m10), _mm_shuffle_epi8(x1, m11)),
                                         _mm_shuffle_epi8(x2, m12)));
    _mm_stream_si128(o + 2, _mm_or_si128(_mm_shuffle_epi8(x1, m21), _mm_shuffle_epi8(x2, m22)));
  }
#endif
  for (; p < pixels; ++p) scalar(p);
}

/// Three planes of 4-byte units interleaved (NCHW -> NHWC with 3 channels): d[3 a + c] =
/// s[c * plane_step + a] for a < n. Four pixels (three 16-byte vectors) at a time, written with
/// non-temporal stores; `d` must be 4-byte aligned, so that some pixel starts on 16 bytes.
inline void nt_interleave3_32(std::byte* __restrict d, const std::uint32_t* __restrict s, std::int64_t plane_step,
                              std::int64_t n) {
  const std::uint32_t *r = s, *g = s + plane_step, *b = s + 2 * plane_step;
  std::int64_t a = 0;
  const auto scalar = [&](std::int64_t q) {
    const std::uint32_t px[3] = {r[q], g[q], b[q]};
    std::memcpy(d + 12 * q, px, 12);
  };
#if defined(__x86_64__)
  for (; a < n && reinterpret_cast<std::uintptr_t>(d + 12 * a) % 16 != 0; ++a) scalar(a);
  for (; a + 4 <= n; a += 4) {
    const __m128 vr = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r + a)));
    const __m128 vg = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g + a)));
    const __m128 vb = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + a)));
    // out0 = r0 g0 b0 r1, out1 = g1 b1 r2 g2, out2 = b2 r3 g3 b3
    const __m128 rg_lo = _mm_unpacklo_ps(vr, vg), rg_hi = _mm_unpackhi_ps(vr, vg);  // r0 g0 r1 g1, r2 g2 r3 g3
    const __m128 b0r1 = _mm_shuffle_ps(vb, vr, _MM_SHUFFLE(1, 1, 0, 0));            // b0 b0 r1 r1
    const __m128 g1b1 = _mm_shuffle_ps(vg, vb, _MM_SHUFFLE(1, 1, 1, 1));            // g1 g1 b1 b1
    const __m128 b2r3 = _mm_shuffle_ps(vb, vr, _MM_SHUFFLE(3, 3, 2, 2));            // b2 b2 r3 r3
    const __m128 g3b3 = _mm_shuffle_ps(vg, vb, _MM_SHUFFLE(3, 3, 3, 3));            // g3 g3 b3 b3
    auto* o = reinterpret_cast<__m128i*>(d + 12 * a);
    _mm_stream_si128(o, _mm_castps_si128(_mm_shuffle_ps(rg_lo, b0r1, _MM_SHUFFLE(2, 0, 1, 0))));
    _mm_stream_si128(o + 1, _mm_castps_si128(_mm_shuffle_ps(g1b1, rg_hi, _MM_SHUFFLE(1, 0, 2, 0))));
    _mm_stream_si128(o + 2, _mm_castps_si128(_mm_shuffle_ps(b2r3, g3b3, _MM_SHUFFLE(2, 0, 2, 0))));
  }
#endif
  for (; a < n; ++a) scalar(a);
}

/// Two output rows of a transpose of 8-byte units, one 64-byte line each: row k (k < 2) receives
/// s[i * step + k] for i < 8, written to d + k * pitch with non-temporal stores. `d` and `pitch`
/// must be multiples of 16; the 8 source rows are read 16 bytes at a time.
inline void nt_transpose_2x8_64(std::byte* __restrict d, std::int64_t pitch, const std::uint64_t* __restrict s,
                                std::int64_t step) {
#if defined(__x86_64__)
  __m128i row[8];
  for (int i = 0; i < 8; ++i) row[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i * step));
  auto* lo = reinterpret_cast<__m128i*>(d);
  auto* hi = reinterpret_cast<__m128i*>(d + pitch);
  for (int i = 0; i < 4; ++i) _mm_stream_si128(lo + i, _mm_unpacklo_epi64(row[2 * i], row[2 * i + 1]));
  for (int i = 0; i < 4; ++i) _mm_stream_si128(hi + i, _mm_unpackhi_epi64(row[2 * i], row[2 * i + 1]));
#else
  for (int k = 0; k < 2; ++k)
    for (int i = 0; i < 8; ++i) std::memcpy(d + k * pitch + 8 * i, s + i * step + k, 8);
#endif
}

/// Whether this CPU runs nt_reverse_pixels3 (SSSE3 byte shuffles); checked once.
inline bool cpu_has_ssse3() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("ssse3");
  return yes;
#else
  return false;
#endif
}

/// Makes this thread's streaming stores visible before the work is reported done.
inline void nt_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

}  // namespace stridecopy::detail
