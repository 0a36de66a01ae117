// host/cuda/check.hpp — CUDA runtime failures as stridecopy::cuda_error naming the call (internal).
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "stridecopy/error.hpp"

namespace stridecopy::detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t e, const char* call) {
  throw cuda_error(std::string(call) + " failed: " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e), int(e));
}

}  // namespace stridecopy::detail

/// Evaluates a CUDA runtime call; on failure throws stridecopy::cuda_error with the call's text.
#define STRIDECOPY_CUDA_TRY(call)                                                                             \
  do {                                                                                                        \
    const cudaError_t stridecopy_status_ = (call);                                                            \
    if (stridecopy_status_ != cudaSuccess) ::stridecopy::detail::throw_cuda_error(stridecopy_status_, #call); \
  } while (0)

/// For destructors and cleanup paths: evaluates the call and ignores its failure.
#define STRIDECOPY_CUDA_TRY_NOEXCEPT(call) (void)(call)
