// host/io/npy_format.hpp — constants of the .npy format shared by the header code and the file code
// (internal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace stridecopy::detail {

inline constexpr std::string_view npy_magic_prefix{"\x93NUMPY", 6};
inline constexpr std::size_t npy_magic_len = npy_magic_prefix.size() + 2;  // + major, minor
/// np.save starts the data on a multiple of this.
inline constexpr std::size_t npy_array_align = 64;
/// np.save leaves room for the first axis to grow to any 64-bit extent without rewriting the file.
inline constexpr std::size_t npy_growth_axis_max_digits = 21;

/// The little-endian header-length field (2 or 4 bytes) at `offset`.
inline std::uint32_t read_le(std::string_view bytes, std::size_t offset, std::size_t width) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= std::uint32_t(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  return v;
}

}  // namespace stridecopy::detail
