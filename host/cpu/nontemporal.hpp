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

/// d[j] = s[-j] for j < n over 4- or 8-byte units (a reversed row), the destination written with
/// 16-byte non-temporal stores; the source is read 16 bytes at a time and reversed in registers.
template <class U>
inline void nt_reverse(std::byte* __restrict d, const U* __restrict s, std::int64_t n) {
  static_assert(sizeof(U) == 4 || sizeof(U) == 8);
  constexpr std::int64_t k = 16 / std::int64_t(sizeof(U));
  std::int64_t j = 0;
#if defined(__x86_64__)
  for (; j < n && reinterpret_cast<std::uintptr_t>(d + j * std::int64_t(sizeof(U))) % 16 != 0; ++j)
    std::memcpy(d + j * std::int64_t(sizeof(U)), s - j, sizeof(U));
  for (; j + k <= n; j += k) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s - j - (k - 1)));
    v = sizeof(U) == 4 ? _mm_shuffle_epi32(v, _MM_SHUFFLE(0, 1, 2, 3)) : _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2));
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + j * std::int64_t(sizeof(U))), v);
  }
#endif
  for (; j < n; ++j) std::memcpy(d + j * std::int64_t(sizeof(U)), s - j, sizeof(U));
}

/// d[j] = s[2 j] for j < n over 4-byte units (x[..., ::2]), with non-temporal stores.
inline void nt_even32(std::byte* __restrict d, const std::uint32_t* __restrict s, std::int64_t n) {
  std::int64_t j = 0;
#if defined(__x86_64__)
  for (; j < n && reinterpret_cast<std::uintptr_t>(d + j * 4) % 16 != 0; ++j) std::memcpy(d + j * 4, s + 2 * j, 4);
  for (; j + 4 <= n; j += 4) {
    const __m128 a = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * j)));
    const __m128 b = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * j + 4)));
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + j * 4), _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))));
  }
#endif
  for (; j < n; ++j) std::memcpy(d + j * 4, s + 2 * j, 4);
}

/// Makes this thread's streaming stores visible before the work is reported done.
inline void nt_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

}  // namespace stridecopy::detail
