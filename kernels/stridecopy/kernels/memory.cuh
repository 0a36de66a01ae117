// kernels/stridecopy/kernels/memory.cuh — how ops touch memory, and the one __global__ wrapper.
// Ops read and write only through a memory accessor, so the CPU replay can check every access.
#pragma once

#include <cuda/std/bit>

#include "stridecopy/kernels/index_math.cuh"

namespace stridecopy::kernels {

/// The accessor kernels run with: plain loads and stores. Global loads go through the read-only
/// path; the source is never written during a copy.
struct device_memory {
  unsigned char* shared = nullptr;

  template <class T>
  STRIDECOPY_HD T load(const T* p) const {
#ifdef __CUDA_ARCH__
    return __ldg(p);
#else
    return *p;
#endif
  }
  template <class T>
  STRIDECOPY_HD void store(T* p, const T& v) const {
    *p = v;
  }
  /// Shared memory is read and written with plain accesses (no read-only path).
  template <class T>
  STRIDECOPY_HD T load_shared(const T* p) const {
    return *p;
  }
  template <class T>
  STRIDECOPY_HD void store_shared(T* p, const T& v) const {
    *p = v;
  }
};

/// 16 bytes as units, loaded and stored as one 128-bit access.
#pragma nv_exec_check_disable
template <int Unit, class Mem>
STRIDECOPY_HD vec<Unit> load_vector(const Mem& mem, const unit_t<Unit>* p) {
  return ::cuda::std::bit_cast<vec<Unit>>(mem.load(reinterpret_cast<const uint4*>(p)));
}
#pragma nv_exec_check_disable
template <int Unit, class Mem>
STRIDECOPY_HD void store_vector(const Mem& mem, unit_t<Unit>* p, const vec<Unit>& v) {
  mem.store(reinterpret_cast<uint4*>(p), ::cuda::std::bit_cast<uint4>(v));
}

#ifdef __CUDACC__
/// The only kernel: runs block `block_offset + blockIdx.x` of `op`, phase by phase, with a barrier
/// between phases. Everything else lives in the op, where the CPU replay can reach it.
template <class Op>
__global__ void __launch_bounds__(Op::threads) run_op(const Op op, typename Op::index_type block_offset) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  device_memory mem{shared_bytes};
  const typename Op::index_type block = block_offset + typename Op::index_type(blockIdx.x);
STRIDECOPY_UNROLL
  for (int phase = 0; phase < Op::phases; ++phase) {
    if (phase > 0) __syncthreads();
    op(mem, block, int(threadIdx.x), phase);
  }
}
#endif

}  // namespace stridecopy::kernels
