// host/cuda/launch.cuh — the one place that launches kernels (internal; included by the .cu files
// that instantiate ops): run_op within the device's grid limits with cudaLaunchKernelEx, whose status
// belongs to this launch alone. Built against the CUDA runtime simulator (tests/sim), the .cu files
// are compiled as C++ and a launch replays the op over its grid on the CPU instead.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <atomic>
#include <cstdint>

#include "cuda/check.hpp"
#include "cuda/launch_geometry.hpp"
#include "cuda/runtime.hpp"
#include "ops/run_op.cuh"

#ifdef STRIDECOPY_SIMULATOR
#include "stridecopy_sim/kernel.hpp"
#endif

namespace stridecopy::detail {

/// The device's largest grid, read once per device.
inline std::int64_t max_grid_x(int device) {
  static std::array<std::atomic<int>, 64> cache{};
  if (device >= 0 && device < int(cache.size()))
    if (const int cached = cache[std::size_t(device)].load(std::memory_order_relaxed)) return cached;
  int value = 0;
  STRIDECOPY_CUDA_TRY(cudaDeviceGetAttribute(&value, cudaDevAttrMaxGridDimX, device));
  if (device >= 0 && device < int(cache.size())) cache[std::size_t(device)].store(value, std::memory_order_relaxed);
  return value;
}

/// Launches every block of `op` on `stream` (the current device's), in slices of at most max_grid_x.
template <class Op>
void launch_op(const Op& op, cudaStream_t stream) {
  using Index = typename Op::index_type;
  for (const grid_slice& s : grid_slices(std::int64_t(op.blocks()), max_grid_x(current_device()))) {
#ifdef STRIDECOPY_SIMULATOR
    // run_op's CPU form: every thread of a phase before the barrier, then the next phase.
    const auto offset = s.block_offset;
    STRIDECOPY_CUDA_TRY(
        stridecopy_sim::launch(stream, "run_op", s.blocks, Op::threads, Op::phases, std::size_t(Op::shared_bytes),
                               [op, offset](const stridecopy_sim::kernel_memory& mem, long long block, int thread,
                                            int phase) { op(mem, Index(offset + block), thread, phase); }));
#else
    cudaLaunchConfig_t config{};
    config.gridDim = dim3(unsigned(s.blocks));
    config.blockDim = dim3(unsigned(Op::threads));
    config.dynamicSmemBytes = std::size_t(Op::shared_bytes);
    config.stream = stream;
    STRIDECOPY_CUDA_TRY(cudaLaunchKernelEx(&config, kernels::run_op<Op>, op, Index(s.block_offset)));
#endif
  }
}

}  // namespace stridecopy::detail
