// host/cuda_executor.cu — copy_to_device: validate, pick the kernel family, launch within the device's
// grid limits. The kernels themselves are in kernels/; how a plan maps to them is kernel_ops.cuh.
#include "cuda_executor.hpp"

#include <array>
#include <atomic>
#include <string>

#include "cuda_check.hpp"
#include "kernel_ops.cuh"
#include "launch_math.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/kernels/memory.cuh"

namespace stridecopy {
namespace detail {

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
  int device = 0;
  STRIDECOPY_CUDA_TRY(cudaGetDevice(&device));
  for (const grid_slice& s : grid_slices(std::int64_t(op.blocks()), max_grid_x(device))) {
    kernels::run_op<Op><<<unsigned(s.blocks), Op::threads, Op::shared_bytes, stream>>>(
        op, typename Op::index_type(s.block_offset));
    STRIDECOPY_CUDA_TRY(cudaGetLastError());
  }
}

}  // namespace

pointer_info query_pointer(const void* p) {
  cudaPointerAttributes a{};
  STRIDECOPY_CUDA_TRY(cudaPointerGetAttributes(&a, p));
  return {a.type, a.device};
}

int address_alignment(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  int align = 16;
  while (align > 1 && a % std::uintptr_t(align) != 0) align /= 2;
  return align;
}

void enqueue_gather(const plan& p, std::int64_t first, std::int64_t count, void* dst, cudaStream_t stream,
                    const exec_options& options) {
  if (count <= 0) return;
  visit_op(p, first, count, dst, options.force_index64, [&](const auto& op) { launch(op, stream); });
}

device_guard::device_guard(int device) {
  STRIDECOPY_CUDA_TRY(cudaGetDevice(&previous_));
  if (previous_ != device) STRIDECOPY_CUDA_TRY(cudaSetDevice(device));
}
device_guard::~device_guard() { STRIDECOPY_CUDA_TRY_NOEXCEPT(cudaSetDevice(previous_)); }

void copy_to_device_async(const view& v, void* dst, std::size_t dst_bytes, cudaStream_t stream,
                          const exec_options& options) {
  if (v.space != memory_space::device)
    throw invalid_view(std::string("copy_to_device needs a device view; this view is in ") + to_string(v.space) +
                       " memory (use copy_on_host)");
  // Kernels store whole units, so a destination aligned to less than 16 bytes gets smaller units.
  const plan p = make_plan(v, address_alignment(dst));
  check_destination(p, dst, dst_bytes, "device destination");
  if (p.pat == pattern::empty) return;
  if (!cuda_available()) throw cuda_error("copy_to_device: no CUDA device is available", int(cudaErrorNoDevice));
  const pointer_info src_info = query_pointer(p.src), dst_info = query_pointer(dst);
  if (src_info.type != cudaMemoryTypeDevice && src_info.type != cudaMemoryTypeManaged)
    throw invalid_view("copy_to_device: the view's data pointer is not device memory (the view says device)");
  if (dst_info.type != cudaMemoryTypeDevice && dst_info.type != cudaMemoryTypeManaged)
    throw invalid_view("copy_to_device: the destination is not device memory");
  if (src_info.type == cudaMemoryTypeDevice && dst_info.type == cudaMemoryTypeDevice && src_info.device != dst_info.device)
    throw invalid_view("copy_to_device: the view is on device " + std::to_string(src_info.device) +
                       " but the destination on device " + std::to_string(dst_info.device));
  const device_guard on(src_info.device >= 0 ? src_info.device : dst_info.device);
  if (p.pat == pattern::contiguous) {
    STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(dst, p.src, p.bytes, cudaMemcpyDeviceToDevice, stream));
    return;
  }
  enqueue_gather(p, 0, p.units(), dst, stream, options);
}

}  // namespace detail

bool cuda_available() noexcept {
  static const bool available = [] {
    int n = 0;
    const bool ok = cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
    (void)cudaGetLastError();
    return ok;
  }();
  return available;
}

void copy_to_device_async(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream) {
  detail::copy_to_device_async(v, dst, dst_bytes, stream.get(), {});
}

void copy_to_device(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream) {
  detail::copy_to_device_async(v, dst, dst_bytes, stream.get(), {});
  STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(stream.get()));
}

}  // namespace stridecopy
