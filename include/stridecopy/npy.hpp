// stridecopy/npy.hpp — NumPy .npy files: load any fixed-size dtype (versions 1.0/2.0/3.0,
// C or Fortran order), save exactly the header np.save writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stridecopy/device_array.hpp"
#include "stridecopy/dtype.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/npy_header.hpp"
#include "stridecopy/stream.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy {

namespace detail {
class mapping_guard;
}  // namespace detail

/// Reads only the header of a .npy file. Throws npy_error naming the file and the fault.
npy_header read_npy_header(const std::filesystem::path& path);

/// Reads a whole .npy file into host memory. A Fortran-ordered file comes back as an F-strided
/// array (its view is what NumPy's np.load gives); `header`, when given, receives the header of the
/// very file the data came from (read_npy_header afterwards might read a file replaced meanwhile).
/// Throws npy_error (file_error where the system refused to open or read it, invalid_argument for a
/// path with a NUL byte); never reads past the file.
host_array load_npy(const std::filesystem::path& path, npy_header* header = nullptr);

/// A .npy file opened for reading without copying it: a regular file is mapped read-only (as
/// np.load(path, mmap_mode="r") maps it), so a view reads the page cache directly and only the pages
/// it touches; anything that cannot be mapped (a pipe) is read into memory. The same checks as
/// load_npy (header, size, trailing bytes), naming the file. Move-only; views of it live as long as it.
///
/// Another process may truncate the file while it is mapped. A read of a page it no longer backs
/// would kill the process with SIGBUS; while a mapped_npy lives, stridecopy's SIGBUS handler (the
/// previous one is chained for every other fault, and restored when the last mapped_npy goes) makes
/// such a read see zeros and records the loss: check_intact() after reading, before trusting what was
/// read. save_npy and load_npy_to_device check it themselves.
class mapped_npy {
 public:
  explicit mapped_npy(const std::filesystem::path& path);
  mapped_npy(mapped_npy&& other) noexcept;
  mapped_npy& operator=(mapped_npy&& other) noexcept;
  mapped_npy(const mapped_npy&) = delete;
  mapped_npy& operator=(const mapped_npy&) = delete;
  ~mapped_npy();

  [[nodiscard]] const npy_header& header() const noexcept { return header_; }
  /// The array data (element 0 of the file's order); null for an array of no bytes.
  [[nodiscard]] const void* data() const noexcept;
  [[nodiscard]] std::size_t bytes() const noexcept { return data_bytes_; }
  /// True when the data is a mapping of the file, false when it was read into memory.
  [[nodiscard]] bool is_mapped() const noexcept { return map_ != nullptr; }
  /// A host view of the whole array in the file's order (C, or F where the header says so), with
  /// the data's bounds recorded.
  [[nodiscard]] view as_view() const;
  /// Throws npy_error naming the file when it was truncated under the mapping and a read found one of
  /// the pages it lost (that read saw zeros): whatever was copied from the file is incomplete.
  void check_intact() const;

 private:
  npy_header header_;
  std::size_t data_bytes_ = 0;
  void* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  host_array loaded_;
  std::unique_ptr<detail::mapping_guard> guard_;
};

/// A .npy file (or `numpy_index` of it: "[:, ::-1]", the CLI's syntax) in a new C-order device_array
/// on the current device, through pinned chunks: the file is mapped, and only the bytes the view reads
/// are read, once; the whole file is never held twice in host memory. Waits for the copy. Throws
/// npy_error for the file, invalid_index for the index, cuda_error when no device is present.
device_array load_npy_to_device(const std::filesystem::path& path, std::string_view numpy_index = {},
                                stream_ref stream = {});

/// Writes the C-order elements of `v` (any strides, host or device memory) as a .npy file, the bytes
/// np.save writes. `descr` (a npy_header::descr, e.g. from read_npy_header) names a type v.type
/// cannot spell — a record, a datetime's unit — and must have v's itemsize; empty: v.type's own.
/// Files behave as np.save's, safely (docs/output-files.md): a new or replaced regular file appears
/// complete or not at all (a temporary beside the final target of any symbolic links, renamed into
/// place, keeping an existing file's mode and owner); FIFOs, devices and multiply-linked files are
/// written directly. Every check happens before a file is touched. Device views stream through
/// bounded pinned chunks.
void save_npy(const std::filesystem::path& path, const view& v, stream_ref stream = {}, std::string_view descr = {});

}  // namespace stridecopy
