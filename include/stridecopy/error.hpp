// stridecopy/error.hpp — the exceptions every stridecopy call may throw.
// All derive from stridecopy::error; messages name the offending input and what is wrong with it.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace stridecopy {

/// Base of every exception stridecopy throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A view that cannot be copied: bad rank, shape, stride, pointer, bounds, or destination.
class invalid_view : public error {
 public:
  using error::error;
};

/// A NumPy index string, permutation or axis that does not apply to the view.
class invalid_index : public error {
 public:
  using error::error;
};

/// A slice step of zero. An invalid_index like every other refused index; NumPy raises ValueError
/// for it (Python's slice rules), where the other index errors are IndexError.
class zero_step : public invalid_index {
 public:
  using invalid_index::invalid_index;
};

/// A numeric argument outside its range (a thread count, a size).
class invalid_argument : public error {
 public:
  using error::error;
};

/// Memory that could not be had: a host allocation that failed (device allocations report a cuda_error).
class out_of_memory : public error {
 public:
  using error::error;
};

/// A .npy file that cannot be read or written (I/O failure or malformed content).
class npy_error : public error {
 public:
  using error::error;
};

/// A file that the operating system would not open, read or write: `code()` is its errno (ENOENT,
/// EACCES, ENOSPC, ...), so callers can tell a missing file from a full disk without reading the
/// message; `path()` is the file's name as given. A malformed file is a plain npy_error.
class file_error : public npy_error {
 public:
  file_error(const std::string& what, int code, std::string path)
      : npy_error(what), code_(code), path_(std::move(path)) {}
  [[nodiscard]] int code() const noexcept { return code_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  int code_;
  std::string path_;
};

/// A CUDA runtime call that failed; the message names the call and CUDA's own description.
class cuda_error : public error {
 public:
  cuda_error(const std::string& what, int code) : error(what), code_(code) {}
  /// The cudaError_t value, as an int so this header needs no CUDA.
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace stridecopy
