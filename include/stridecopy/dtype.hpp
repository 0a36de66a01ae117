// stridecopy/dtype.hpp — element types as NumPy describes them ("<f4", "|u1", ">i8", "<U3").
// A copy never needs the element's type, only its size; kind and byte order travel for .npy.
#pragma once

#include <complex>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace stridecopy {

struct dtype {
  /// 'b' bool, 'i' signed int, 'u' unsigned int, 'f' float, 'c' complex,
  /// 'S' bytes, 'U' UCS-4 text, 'V' raw bytes (and records), 'M' datetime64, 'm' timedelta64.
  char kind = 'u';
  /// Bytes per element: >= 1, or 0 for the zero-size 'S', 'U' and 'V' types ("|S0"), whose arrays
  /// hold no bytes at all.
  int itemsize = 1;
  /// '<' little-endian, '>' big-endian, '|' not applicable (single bytes, 'S', 'V').
  char byteorder = '|';

  friend constexpr bool operator==(const dtype&, const dtype&) = default;
};

/// Parses a NumPy type string ("<f4", "|b1", ">i2", "u1", "=c8", "<U3", "|V16", "<M8[ns]") and
/// normalises it the way NumPy does (byte order '|' where it does not apply, '=' resolved to '<').
/// A datetime's unit is checked but not kept: copies need only the size (npy_header::descr keeps it).
/// Throws stridecopy::npy_error naming the string when it is not a supported fixed-size type.
dtype parse_descr(std::string_view descr);

/// NumPy's `dtype.str` for t: the descr that np.save writes.
std::string to_descr(const dtype& t);

/// Throws stridecopy::invalid_view unless t is a type parse_descr could have produced.
void validate(const dtype& t);

namespace detail {
template <class T>
struct dtype_traits;
template <>
struct dtype_traits<bool> {
  static constexpr char kind = 'b';
};
template <>
struct dtype_traits<std::int8_t> {
  static constexpr char kind = 'i';
};
template <>
struct dtype_traits<std::int16_t> {
  static constexpr char kind = 'i';
};
template <>
struct dtype_traits<std::int32_t> {
  static constexpr char kind = 'i';
};
template <>
struct dtype_traits<std::int64_t> {
  static constexpr char kind = 'i';
};
template <>
struct dtype_traits<std::uint8_t> {
  static constexpr char kind = 'u';
};
template <>
struct dtype_traits<std::uint16_t> {
  static constexpr char kind = 'u';
};
template <>
struct dtype_traits<std::uint32_t> {
  static constexpr char kind = 'u';
};
template <>
struct dtype_traits<std::uint64_t> {
  static constexpr char kind = 'u';
};
template <>
struct dtype_traits<float> {
  static constexpr char kind = 'f';
};
template <>
struct dtype_traits<double> {
  static constexpr char kind = 'f';
};
template <>
struct dtype_traits<std::complex<float>> {
  static constexpr char kind = 'c';
};
template <>
struct dtype_traits<std::complex<double>> {
  static constexpr char kind = 'c';
};
}  // namespace detail

/// The dtype of a C++ arithmetic type in native (little-endian) byte order: dtype_of<float>() is "<f4".
template <class T>
constexpr dtype dtype_of() {
  constexpr char kind = detail::dtype_traits<std::remove_cv_t<T>>::kind;
  return dtype{kind, static_cast<int>(sizeof(T)), sizeof(T) == 1 ? '|' : '<'};
}

/// IEEE half precision ("<f2"), which has no portable C++ type before C++23.
inline constexpr dtype float16{'f', 2, '<'};

}  // namespace stridecopy
