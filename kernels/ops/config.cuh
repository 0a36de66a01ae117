// kernels/ops/config.cuh — what every kernel file shares: the __host__ __device__
// marker (the ops run on the CPU too, in the tests' replay), the unroll pragma, the walk limit.
#pragma once

#define STRIDECOPY_HD __host__ __device__ __forceinline__
// Unrolling matters on the device only; the host compiler would warn about the pragma.
#ifdef __CUDA_ARCH__
#define STRIDECOPY_UNROLL _Pragma("unroll")
#else
#define STRIDECOPY_UNROLL
#endif

namespace stridecopy::kernels {

/// Most dimensions one offset map walks (a compile-time bound, so the walk unrolls with static
/// indices and stays in registers). A plan of more dimensions runs as several launches.
inline constexpr int max_walk_dims = 9;
/// Bytes every kernel loads and stores at once where alignment allows.
inline constexpr int vector_bytes = 16;

}  // namespace stridecopy::kernels
