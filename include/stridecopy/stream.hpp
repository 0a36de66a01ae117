// stridecopy/stream.hpp — the CUDA stream a copy is ordered on, named without CUDA's headers, so that
// the public API compiles (and a CPU-only build works) where the CUDA toolkit is absent.
#pragma once

#include <concepts>
#include <type_traits>

// CUDA's opaque stream type: cudaStream_t and CUstream are both `CUstream_st*`. Declaring the
// struct (never defining it) is all the toolkit's own headers do before their typedefs.
struct CUstream_st;

namespace stridecopy {

/// A CUDA stream handle (cudaStream_t, CUstream): the same type, without CUDA's headers.
using stream_handle = CUstream_st*;

/// A non-owning reference to a CUDA stream, as the copy functions take it. Made from a
/// cudaStream_t (`nullptr` or `0` for the legacy default stream, `cudaStreamPerThread`, a stream
/// the caller created), or from a stream object that gives its handle through `.get()`
/// (`cuda::stream_ref`, `cuda::stream`) or converts to cudaStream_t (RMM's `cuda_stream_view`).
class stream_ref {
 public:
  /// The legacy default stream.
  constexpr stream_ref() noexcept = default;
  // Implicit, as cuda::stream_ref's: a call passes its stream as it has it.
  constexpr stream_ref(stream_handle stream) noexcept : stream_(stream) {}
  /// A stream object: its handle through `.get()` (cuda::stream_ref, cuda::stream), or through its
  /// conversion to cudaStream_t (RMM's cuda_stream_view, cuda::stream_ref too).
  template <class Stream>
  requires(!std::is_same_v<Stream, stream_ref> && (requires(const Stream& s) {
    { s.get() } -> std::convertible_to<stream_handle>;
  } || std::is_convertible_v<const Stream&, stream_handle>)) constexpr stream_ref(const Stream& stream) noexcept
      : stream_(handle_of(stream)) {}

  /// The handle: a cudaStream_t.
  [[nodiscard]] constexpr stream_handle get() const noexcept { return stream_; }

  friend constexpr bool operator==(stream_ref, stream_ref) noexcept = default;

 private:
  template <class Stream>
  static constexpr stream_handle handle_of(const Stream& stream) noexcept {
    if constexpr (requires { stream.get(); })
      return stream.get();
    else
      return static_cast<stream_handle>(stream);
  }

  stream_handle stream_ = nullptr;
};

}  // namespace stridecopy
