// host/cuda/h2d.cpp — host to device, staged: the CPU-gather and device-gather pipelines over a staging
// ring of the caller's stream.
#include "cuda/h2d.hpp"

#include <algorithm>
#include <memory>
#include <mutex>

#include "core/choose.hpp"
#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "cuda/check.hpp"
#include "cuda/gather_launch.hpp"
#include "cuda/staging.hpp"

namespace stridecopy::detail {

namespace {

/// One chunk's CPU gather, run by a host function on the ring's bounce stream.
struct gather_job {
  std::shared_ptr<const plan> p;  // shared by every chunk of the call
  const std::byte* src;
  std::int64_t first, count;
  std::byte* slot;
  int threads;
};
void CUDART_CB run_gather_job(void* arg) {
  const std::unique_ptr<gather_job> job(static_cast<gather_job*>(arg));
  gather_range(*job->p, job->src, job->first, job->count, job->slot, job->threads);
}

}  // namespace

h2d_schedule device_gather_plan(const plan& p) {
  return device_gather_schedule(p, staged_chunk_bytes(p), transfer_policy::max_scratch_bytes / transfer_policy::slots,
                                1.25);
}

// CPU gather, per chunk k (host slot k % slots): the bounce stream waits until the slot's last reader
// (a copy of an earlier chunk or call) is done, gathers into it in a host function, and hands it to
// the copy stream, which sends it to its place in the destination. Both streams start after the
// caller's earlier work (which may still write the source or use the destination); the caller's
// stream waits for the last copy.
//
// Device gather, per chunk k (device slot k % slots): the copy stream waits until the slot's last
// gather is done and sends the source bytes the chunk reads; the caller's stream waits for them and
// runs the chunk's gather kernels from the slot into the destination.
void run_staged_h2d(const plan& p, const std::byte* src, std::byte* dst, cudaStream_t stream, h2d_gather how,
                    const h2d_schedule& schedule, int threads, bool force_index64) {
  const int slots = transfer_policy::slots;
  const bool on_device = how == h2d_gather::device;
  const chunking chunks = on_device ? chunking{} : chunk_output(p, staged_chunk_bytes(p));
  const std::int64_t count = on_device ? std::int64_t(schedule.chunks.size()) : chunks.count;
  if (count == 0) return;
  const std::shared_ptr<staging_ring> held = acquire_ring(stream);
  staging_ring& ring = *held;
  const std::lock_guard<std::mutex> lock(ring.mutex);
  const std::size_t slot_bytes = on_device ? schedule.slot_bytes : std::size_t(chunks.chunk_units) * std::size_t(p.unit);
  ring.reserve(slot_bytes, slots, !on_device, stream);
  const cudaStream_t copy = ring.copy_stream(), bounce = ring.bounce_stream();
  try {
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.started(), stream));
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(copy, ring.started(), 0));
    if (on_device) {
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
        enqueue_gather(p, first_element, c.first, c.count, dst + c.first * p.unit, stream, force_index64);
        STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.device_free(s), stream));
      }
      return;
    }
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(bounce, ring.started(), 0));
    const auto shared = std::make_shared<const plan>(p);
    const int team = team_size(std::size_t(chunks.chunk_units) * std::size_t(p.unit), threads);
    for (std::int64_t k = 0; k < count; ++k) {
      const int s = int(k % slots);
      const std::int64_t first = k * chunks.chunk_units, n = std::min(chunks.chunk_units, p.units() - first);
      STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(bounce, ring.host_free(s), 0));
      auto job = std::make_unique<gather_job>(gather_job{shared, src, first, n, ring.host_slot(s), team});
      STRIDECOPY_CUDA_TRY(cudaLaunchHostFunc(bounce, run_gather_job, job.get()));
      (void)job.release();  // run_gather_job owns it now
      STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.filled(s), bounce));
      STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(copy, ring.filled(s), 0));
      STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(dst + first * p.unit, ring.host_slot(s), std::size_t(n) * std::size_t(p.unit),
                                          cudaMemcpyHostToDevice, copy));
      STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.host_free(s), copy));
    }
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.done(), copy));
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(stream, ring.done(), 0));
  } catch (...) {
    // Nothing enqueued may outlive the failure: a pending gather would read the caller's memory, a
    // pending copy write it; and the next call must find the ring idle.
    (void)cudaStreamSynchronize(stream);
    (void)cudaStreamSynchronize(copy);
    (void)cudaStreamSynchronize(bounce);
    throw;
  }
}

}  // namespace stridecopy::detail
