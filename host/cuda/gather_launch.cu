// host/cuda/gather_launch.cu — the gathers of one plan: picks its ops (ops.cuh) and launches each
// (launch.cuh). The batches of many plans live in gather_batch.cu, so that the two sets of kernel
// instantiations compile in parallel.
#include "cuda/gather_launch.hpp"

#include <cuda_runtime.h>

#include "cuda/launch.cuh"
#include "cuda/ops.cuh"

namespace stridecopy::detail {

void enqueue_gather(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, void* dst,
                    cudaStream_t stream, bool force_index64) {
  if (count <= 0) return;
  visit_ops(p, src, first, count, dst, force_index64, [&](const auto& op) { launch_op(op, stream); });
}

}  // namespace stridecopy::detail
