// host/d2h_executor.hpp — device to host (internal): the three strategies and the chunked stream
// that save_npy uses for device views.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>

#include "cuda_executor.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// copy_to_host_async with the executor's test knobs; returns the strategy it ran.
strategy copy_to_host_async(const view& v, void* dst, std::size_t dst_bytes, cudaStream_t stream,
                            const copy_options& options, const exec_options& exec);

/// Hands the C-order bytes of device plan p to sink(bytes, n) in order, in pieces of at most one
/// staging chunk, through pinned host slots; returns when all are handed over. Validates the view's
/// pointer first. Used by save_npy.
void stream_device_to_host(const plan& p, cudaStream_t stream, const std::function<void(const void*, std::size_t)>& sink);

/// Device memory the staging rings hold now (benchmarks report it as scratch).
std::size_t staging_scratch_bytes();
/// Frees the staging rings.
void release_staging_rings();
/// Frees the pinned pool's cached blocks (pinned_buffer.cpp).
void trim_pinned_pool();

}  // namespace stridecopy::detail
