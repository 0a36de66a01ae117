// stridecopy/copy.hpp — the copies: any strided view into a contiguous C-order destination.
#pragma once

#include <cstddef>

#include <cuda/stream_ref>

#include "stridecopy/pinned_buffer.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy {

/// Copies the C-order elements of a host view into `dst` on the CPU (OpenMP), before returning.
/// Needs no GPU and no CUDA driver. `threads` = 0 uses OpenMP's default.
void copy_on_host(const view& v, void* dst, std::size_t dst_bytes, int threads = 0);

/// Copies the C-order elements of a device view into device memory `dst` (dst_bytes long) with
/// the gather kernels, on `stream`, on the device that owns the view's memory. Returns without
/// waiting; every check (view, destination size and overlap, that both pointers are device memory
/// of one device) happens before anything is enqueued, so a throw leaves `dst` untouched.
/// Throws invalid_view for bad input, cuda_error (naming the call) when CUDA fails.
void copy_to_device_async(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream = cudaStream_t{});
/// copy_to_device_async, then waits for `stream`.
void copy_to_device(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream = cudaStream_t{});

/// True when a CUDA driver and at least one device are present.
bool cuda_available() noexcept;

/// How a device-to-host copy moves its bytes (DESIGN.md, "Device to host").
enum class strategy {
  automatic,  ///< chosen per view from a measured table (see d2h_policy)
  dma,        ///< contiguous runs straight to the copy engine in one batched call; no kernel, no scratch
  staged,     ///< gather kernel into a bounded device ring, copy engine drains it, overlapped
  direct,     ///< gather kernel stores straight into mapped pinned host memory
};
const char* to_string(strategy s);

struct copy_options {
  /// `automatic` unless forced; the environment variable STRIDECOPY_STRATEGY=dma|staged|direct forces
  /// one too (tests and benchmarks use it). A forced strategy that cannot run throws invalid_view.
  strategy how = strategy::automatic;
};

/// Copies the C-order elements of a device view into host memory `dst` (dst_bytes long), on
/// `stream`, on the device that owns the view's memory. Returns without waiting: the bytes are in
/// `dst` once `stream` reaches this point. Pinned destinations are the fast path; pageable ones
/// work through an internal pinned bounce ring and are slower. Every check happens before anything
/// is enqueued. A host view is copied on the CPU before the call returns.
/// Throws invalid_view for bad input, cuda_error (naming the call) when CUDA fails.
void copy_to_host_async(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream = cudaStream_t{},
                        const copy_options& options = {});
/// copy_to_host_async, then waits for `stream`.
void copy_to_host(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream = cudaStream_t{},
                  const copy_options& options = {});

/// The view's elements in a new C-order host_array (pinned, from a caching pool, where a CUDA driver
/// is present), complete when this returns.
host_array to_host(const view& v, cuda::stream_ref stream = cudaStream_t{}, const copy_options& options = {});

/// Frees the cached staging rings (device scratch, pinned bounce buffers, streams, events) and the
/// cached pinned blocks of to_host's pool. Waits for the work that uses them.
void release_cached_memory();

}  // namespace stridecopy
