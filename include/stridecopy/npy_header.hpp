// stridecopy/npy_header.hpp — what a .npy header says, parsed and written exactly as NumPy does.
// Plain C++: no CUDA header (the file functions are in npy.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stridecopy/dtype.hpp"

namespace stridecopy {

/// What a .npy header says.
struct npy_header {
  int major = 1, minor = 0;  ///< format version
  /// The element type as copies see it: a record type is {'V', itemsize, '|'}, a datetime's unit is
  /// not kept (descr keeps both).
  dtype type{};
  /// The 'descr' value as np.save writes it for this dtype, a Python literal: "'<f4'",
  /// "'<M8[ns]'", "[('x', '<f4'), ('y', '|u1', (2,))]" (UTF-8).
  std::string descr;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;  ///< bytes before the array data (magic + length + header)
};

/// Parses the header at the start of `bytes` (the file's first bytes; all of it is fine).
/// Throws npy_error naming what is wrong (bad magic, unsupported version, malformed dict, missing
/// or extra keys, unsupported dtype, negative or overflowing shape, header longer than `bytes`).
npy_header parse_npy_header(std::string_view bytes);

/// The exact header np.save writes for a C-order array of `type` and `shape` (version 1.0, or
/// 2.0 when the header does not fit 1.0), padded so the data starts on a 64-byte boundary.
std::string make_npy_header(const dtype& type, std::span<const std::int64_t> shape);
/// The same for a descr literal (npy_header::descr: records, datetimes with units), written as
/// np.save spells it (3.0 where a field name needs UTF-8). Throws invalid_argument for a literal no
/// header could hold.
std::string make_npy_header(std::string_view descr, std::span<const std::int64_t> shape);

}  // namespace stridecopy
