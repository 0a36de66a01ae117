// host/cuda/d2h.cpp — device to host, staged into pinned memory: the destination itself, or pinned
// slots handed to a callback on the calling thread. Staging rings come from the bounded cache of
// cuda/staging.hpp, one per (device, stream). Pageable destinations go through cuda/driven.hpp.
#include "cuda/d2h.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/choose.hpp"
#include "core/plan_ops.hpp"
#include "cuda/check.hpp"
#include "cuda/gather_launch.hpp"
#include "cuda/runtime.hpp"
#include "cuda/staging.hpp"

namespace stridecopy::detail {

// Per chunk k (slot k % slots): the gather on the user stream waits until the slot's previous copy
// has drained the device slot; the copy stream waits for the gather. The callback sink hands each
// host slot over on this thread before a later copy refills it. The ring's mutex is held
// throughout, so calls on one stream take turns.
void run_staged(const plan& p, const std::byte* src, cudaStream_t stream, const staged_sink& sink, bool force_index64) {
  const chunking chunks = chunk_output(p, staged_chunk_bytes(p));
  if (chunks.count == 0) return;
  const int slots = transfer_policy::slots;
  const ring_turn turn(stream, {.slot_bytes = std::size_t(chunks.chunk_units) * std::size_t(p.walk.unit),
                                .slots = slots,
                                .device = true,
                                .host = sink.what == staged_sink::kind::callback});
  staging_ring& ring = turn.ring();
  const cudaStream_t copy = ring.copy_stream();
  const auto bytes_of = [&](std::int64_t k) {
    return std::size_t(std::min(chunks.chunk_units, p.units() - k * chunks.chunk_units)) * std::size_t(p.walk.unit);
  };
  std::int64_t handed = 0;  // callback sink: chunks handed over so far
  const auto hand_over = [&](std::int64_t upto) {
    for (; handed < upto; ++handed) {
      const int slot = int(handed % slots);
      STRIDECOPY_CUDA_TRY(cudaEventSynchronize(ring.device_free(slot)));
      (*sink.callback)(ring.host_slot(slot), bytes_of(handed));
    }
  };
  for (std::int64_t k = 0; k < chunks.count; ++k) {
    const int slot = int(k % slots);
    const std::int64_t first = k * chunks.chunk_units;
    const std::size_t bytes = bytes_of(k);
    // Always wait, also for a call's first chunks: the previous call on this ring may have run on
    // another stream with the same id's ring. Waiting for an event never recorded is a no-op.
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(stream, ring.device_free(slot), 0));
    enqueue_gather(p, src, first, std::int64_t(bytes / std::size_t(p.walk.unit)), ring.device_slot(slot), stream,
                   force_index64);
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.filled(slot), stream));
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(copy, ring.filled(slot), 0));
    if (sink.what == staged_sink::kind::pinned) {
      STRIDECOPY_CUDA_TRY(
          cudaMemcpyAsync(sink.dst + first * p.walk.unit, ring.device_slot(slot), bytes, cudaMemcpyDeviceToHost, copy));
      STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.device_free(slot), copy));
      continue;
    }
    STRIDECOPY_CUDA_TRY(
        cudaMemcpyAsync(ring.host_slot(slot), ring.device_slot(slot), bytes, cudaMemcpyDeviceToHost, copy));
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.device_free(slot), copy));
    // The host slot of chunk k + 1 is free once chunk k + 1 - slots is handed over.
    if (k + 1 >= slots) hand_over(k + 2 - slots);
  }
  if (sink.what == staged_sink::kind::callback) {
    hand_over(chunks.count);
    return;
  }
  STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.done(), copy));
  STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(stream, ring.done(), 0));
}

}  // namespace stridecopy::detail
