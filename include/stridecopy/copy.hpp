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

}  // namespace stridecopy
