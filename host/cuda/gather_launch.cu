// host/cuda/gather_launch.cu — the one place that launches kernels: picks the op of a plan (ops.cuh)
// and launches run_op within the device's grid limits with cudaLaunchKernelEx, whose status belongs
// to this launch alone.
#include "cuda/gather_launch.hpp"

#include <cuda_runtime.h>

#include <array>
#include <atomic>

#include "cuda/check.hpp"
#include "cuda/launch_geometry.hpp"
#include "cuda/ops.cuh"
#include "cuda/runtime.hpp"
#include "stridecopy/kernels/run_op.cuh"

namespace stridecopy::detail {

namespace {

std::int64_t max_grid_x(int device) {
  static std::array<std::atomic<int>, 64> cache{};
  if (device >= 0 && device < int(cache.size()))
    if (const int cached = cache[std::size_t(device)].load(std::memory_order_relaxed)) return cached;
  int value = 0;
  STRIDECOPY_CUDA_TRY(cudaDeviceGetAttribute(&value, cudaDevAttrMaxGridDimX, device));
  if (device >= 0 && device < int(cache.size())) cache[std::size_t(device)].store(value, std::memory_order_relaxed);
  return value;
}

template <class Op>
void launch(const Op& op, cudaStream_t stream) {
  using Index = typename Op::index_type;
  for (const grid_slice& s : grid_slices(std::int64_t(op.blocks()), max_grid_x(current_device()))) {
    cudaLaunchConfig_t config{};
    config.gridDim = dim3(unsigned(s.blocks));
    config.blockDim = dim3(unsigned(Op::threads));
    config.dynamicSmemBytes = std::size_t(Op::shared_bytes);
    config.stream = stream;
    STRIDECOPY_CUDA_TRY(cudaLaunchKernelEx(&config, kernels::run_op<Op>, op, Index(s.block_offset)));
  }
}

}  // namespace

void enqueue_gather(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, void* dst,
                    cudaStream_t stream, bool force_index64) {
  if (count <= 0) return;
  visit_ops(p, src, first, count, dst, force_index64, [&](const auto& op) { launch(op, stream); });
}

}  // namespace stridecopy::detail
