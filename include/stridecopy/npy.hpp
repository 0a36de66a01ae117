// stridecopy/npy.hpp — NumPy .npy files: load any fixed-size dtype (versions 1.0/2.0/3.0,
// C or Fortran order), save exactly the header np.save writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <cuda/stream_ref>

#include "stridecopy/dtype.hpp"
#include "stridecopy/pinned_buffer.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy {

/// What a .npy header says.
struct npy_header {
  int major = 1, minor = 0;       ///< format version
  dtype type{};
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;    ///< bytes before the array data (magic + length + header)
};

/// Parses the header at the start of `bytes` (the file's first bytes; all of it is fine).
/// Throws npy_error naming what is wrong (bad magic, unsupported version, malformed dict, missing
/// or extra keys, unsupported dtype, negative or overflowing shape, header longer than `bytes`).
npy_header parse_npy_header(std::string_view bytes);

/// The exact header np.save writes for a C-order array of `type` and `shape` (version 1.0, or
/// 2.0 when the header does not fit 1.0), padded so the data starts on a 64-byte boundary.
std::string make_npy_header(const dtype& type, std::span<const std::int64_t> shape);

/// Reads only the header of a .npy file. Throws npy_error naming the file and the fault.
npy_header read_npy_header(const std::filesystem::path& path);

/// Reads a whole .npy file into host memory. A Fortran-ordered file comes back as an F-strided
/// array (its view is what NumPy's np.load gives). Throws npy_error; never reads past the file.
host_array load_npy(const std::filesystem::path& path);

/// Writes the C-order elements of `v` (any strides, host or device memory) as a .npy file.
/// The file appears complete or not at all: data goes to a temporary beside `path`, renamed on
/// success and removed on failure. Device views stream through bounded pinned chunks.
void save_npy(const std::filesystem::path& path, const view& v, cuda::stream_ref stream = cudaStream_t{});

}  // namespace stridecopy
