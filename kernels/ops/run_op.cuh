// kernels/ops/run_op.cuh — the only __global__: runs one block of an op, phase by
// phase, with a barrier between phases. Everything else lives in the op, where the CPU replay can
// reach it.
#pragma once

#include "ops/memory.cuh"

namespace stridecopy::kernels {

#ifdef __CUDACC__
/// Runs block `block_offset + blockIdx.x` of `op`.
template <class Op>
__global__ void __launch_bounds__(Op::threads) run_op(const Op op, typename Op::index_type block_offset) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  const device_memory mem{shared_bytes};
  const typename Op::index_type block = block_offset + typename Op::index_type(blockIdx.x);
  STRIDECOPY_UNROLL
  for (int phase = 0; phase < Op::phases; ++phase) {
    if (phase > 0) __syncthreads();
    op(mem, block, int(threadIdx.x), phase);
  }
}
#endif

}  // namespace stridecopy::kernels
