// host/cuda/h2d.cpp — host to device, staged with the gather on the device: the copy engine sends the
// bytes each chunk reads into device slots of the caller's stream's ring, the kernels gather from
// there. (The CPU gather runs as a driven copy: cuda/driven.hpp.)
#include "cuda/h2d.hpp"

#include <algorithm>
#include <cstdint>

#include "core/choose.hpp"
#include "core/plan_ops.hpp"
#include "cuda/check.hpp"
#include "cuda/gather_launch.hpp"
#include "cuda/staging.hpp"

namespace stridecopy::detail {

h2d_schedule device_gather_plan(const plan& p) {
  return device_gather_schedule(p, staged_chunk_bytes(p), transfer_policy::max_scratch_bytes / transfer_policy::slots,
                                1.25);
}

// Per chunk k (device slot k % slots): the copy stream waits until the slot's last gather is done
// and sends the source bytes the chunk reads; the caller's stream waits for them and runs the chunk's
// gather kernels from the slot into the destination. The copy stream starts after the caller's
// earlier work, which may still write the source.
void run_device_gather_h2d(const plan& p, const std::byte* src, std::byte* dst, cudaStream_t stream,
                           const h2d_schedule& schedule, bool force_index64) {
  const int slots = transfer_policy::slots;
  const std::int64_t count = std::int64_t(schedule.chunks.size());
  if (count == 0) return;
  const ring_turn turn(stream, {.slot_bytes = schedule.slot_bytes, .slots = slots, .device = true});
  staging_ring& ring = turn.ring();
  const cudaStream_t copy = ring.copy_stream();
  STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.started(), stream));
  STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(copy, ring.started(), 0));
  for (std::int64_t k = 0; k < count; ++k) {
    const int s = int(k % slots);
    const h2d_chunk& c = schedule.chunks[std::size_t(k)];
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(copy, ring.device_free(s), 0));
    STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(ring.device_slot(s), src + c.span.begin, std::size_t(c.span.bytes()),
                                        cudaMemcpyHostToDevice, copy));
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.filled(s), copy));
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(stream, ring.filled(s), 0));
    // The slot holds source bytes [span.begin, span.end) around the first element, which
    // therefore sits span.begin bytes before the slot's start (integers: it may lie outside).
    const auto* first_element = reinterpret_cast<const std::byte*>(
        reinterpret_cast<std::uintptr_t>(ring.device_slot(s)) - std::uintptr_t(c.span.begin));
    enqueue_gather(p, first_element, c.first, c.count, p.walk.scatter ? dst : dst + c.first * p.walk.unit, stream,
                   force_index64);
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.device_free(s), stream));
  }
}

}  // namespace stridecopy::detail
