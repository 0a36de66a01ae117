// fuzz/common.hpp — what the fuzz targets share: 128-bit integers for the models (no product or
// sum of two int64 values can overflow them), and CHECK, which reports a broken property and aborts,
// so that libFuzzer keeps the input as a crash.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "stridecopy/dtype.hpp"

namespace fuzz {

using i128 = __int128;
using u128 = unsigned __int128;

inline constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();

inline bool fits_i64(i128 v) { return v >= i128(i64_min) && v <= i128(i64_max); }

inline std::string to_string(i128 v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  std::string s;
  // Digits of the negative value: the most negative 128-bit value needs no special case.
  if (!negative) v = -v;
  while (v != 0) {
    s += char('0' - int(v % 10));
    v /= 10;
  }
  if (negative) s += '-';
  std::reverse(s.begin(), s.end());
  return s;
}

/// NumPy's fixed-size types, written from its documentation (not from the library): kinds, sizes, and
/// byte orders ('|' exactly for bool, bytes, raw bytes and single-byte types).
inline bool valid_type(const stridecopy::dtype& t) {
  bool size_ok = false;
  const int n = t.itemsize;
  switch (t.kind) {
    case 'b': size_ok = n == 1; break;
    case 'i':
    case 'u': size_ok = n == 1 || n == 2 || n == 4 || n == 8; break;
    case 'f': size_ok = n == 2 || n == 4 || n == 8 || n == 12 || n == 16; break;
    case 'c': size_ok = n == 8 || n == 16 || n == 24 || n == 32; break;
    case 'M':
    case 'm': size_ok = n == 8; break;
    case 'S':
    case 'V': size_ok = n >= 0; break;
    case 'U': size_ok = n >= 0 && n % 4 == 0; break;
    default: return false;
  }
  if (!size_ok) return false;
  const bool no_order = t.kind == 'b' || t.kind == 'S' || t.kind == 'V' || n == 1;
  return no_order ? t.byteorder == '|' : (t.byteorder == '<' || t.byteorder == '>');
}

[[noreturn]] inline void fail(const char* file, int line, const char* condition, const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: CHECK(%s) failed\n%s\n", file, line, condition, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace fuzz

/// CHECK(condition, detail): `detail` (a std::string expression) is only built on failure.
#define CHECK(condition, detail)                                            \
  do {                                                                      \
    if (!(condition)) ::fuzz::fail(__FILE__, __LINE__, #condition, detail); \
  } while (0)
