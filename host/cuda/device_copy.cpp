// host/cuda/device_copy.cpp — the device's executor behind the front door: a prepared copy that
// involves a device, enqueued by the strategy the chooser gave it (copy engines, direct kernels, a
// staged pipeline, or through a temporary where the two sides overlap); the batched device copies of
// one group; host-to-host jobs queued in stream order; a device view's bytes handed to the .npy
// writer's sink. Decides nothing: copy.cpp checked and chose.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <utility>
#include <vector>

#include "core/plan_ops.hpp"
#include "cuda/check.hpp"
#include "cuda/d2h.hpp"
#include "cuda/dma.hpp"
#include "cuda/driven.hpp"
#include "cuda/gather_launch.hpp"
#include "cuda/h2d.hpp"
#include "cuda/pinned_pool.hpp"
#include "cuda/runtime.hpp"
#include "cuda/staging.hpp"
#include "dispatch.hpp"
#include "stridecopy/copy.hpp"

namespace stridecopy {
namespace detail {

namespace {

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

void CUDART_CB run_cpu_job(void* arg) {
  const std::unique_ptr<cpu_job> job(static_cast<cpu_job*>(arg));
  job->run();
}
// In a CUDA graph the job runs at every launch: the graph owns it (a user object), not the function.
void CUDART_CB run_graph_cpu_job(void* arg) { static_cast<const cpu_job*>(arg)->run(); }
void CUDART_CB delete_cpu_job(void* arg) { delete static_cast<cpu_job*>(arg); }

/// Queues `job` in the graph `stream` is capturing, owned by that graph.
void capture_cpu_job(std::unique_ptr<cpu_job> job, cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  cudaGraph_t graph = nullptr;
  STRIDECOPY_CUDA_TRY(cudaStreamGetCaptureInfo(stream, &status, nullptr, &graph, nullptr, nullptr, nullptr));
  cudaUserObject_t owner = nullptr;
  STRIDECOPY_CUDA_TRY(cudaUserObjectCreate(&owner, job.get(), delete_cpu_job, 1, cudaUserObjectNoDestructorSync));
  cpu_job* raw = job.release();  // the user object owns it now
  if (const cudaError_t e = cudaGraphRetainUserObject(graph, owner, 1, cudaGraphUserObjectMove); e != cudaSuccess) {
    (void)cudaUserObjectRelease(owner, 1);
    throw_cuda_error(e, "cudaGraphRetainUserObject(graph, owner, 1, cudaGraphUserObjectMove)");
  }
  STRIDECOPY_CUDA_TRY(cudaLaunchHostFunc(stream, run_graph_cpu_job, raw));
}

/// A staged host-to-device copy with the gather the test knobs ask for, or the one that fits: the
/// device's for a pinned source whose chunks' spans fit a slot, else the CPU's (a driven copy, whose
/// status is returned).
std::shared_ptr<driven_status> run_staged_h2d(const plan& p, const std::byte* first, std::byte* dst,
                                              cudaStream_t stream, bool pinned, int threads, const exec_options& exec) {
  const plan q = narrow_unit(p, std::min(alignment_of(first), alignment_of(dst)));
  h2d_schedule schedule;
  if (pinned && exec.staged_gather != h2d_gather::cpu) schedule = device_gather_plan(q);
  if (exec.staged_gather == h2d_gather::device && schedule.chunks.empty())
    throw invalid_view(pinned ? "a device gather cannot run: the source bytes a chunk reads do not fit a staging slot"
                              : "a device gather cannot run: the source is pageable");
  if (schedule.chunks.empty())
    return drive(driven_direction::from_host, narrow_unit(p, alignment_of(first)), first, dst, stream, threads,
                 exec.force_index64, exec.blocking);
  run_device_gather_h2d(q, first, dst, stream, schedule, exec.force_index64);
  return nullptr;
}

/// A device-to-device copy of p whose two sides overlap: through a temporary in device memory,
/// allocated and freed in stream order (one chunk when they walk alike), a chunk read whole before
/// it is written.
void device_through(const plan& p, const std::byte* src, std::byte* dst, cudaStream_t stream, const overlap& o,
                    bool force_index64) {
  const plan gather_half = into_contiguous(p), scatter_half = from_contiguous(p);
  const std::int64_t chunk = o.same_walk ? chunk_output(p, staged_chunk_bytes(p)).chunk_units : p.units();
  const std::int64_t count = (p.units() + chunk - 1) / chunk;
  void* raw = nullptr;
  STRIDECOPY_CUDA_TRY(cudaMallocAsync(&raw, std::size_t(chunk) * std::size_t(p.walk.unit), stream));
  auto* tmp = static_cast<std::byte*>(raw);
  try {
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t k = o.forward ? i : count - 1 - i, first = k * chunk, n = std::min(chunk, p.units() - first);
      enqueue_gather(gather_half, src, first, n, tmp, stream, force_index64);
      if (p.walk.scatter) {
        const auto* from = reinterpret_cast<const std::byte*>(address(tmp) - std::uintptr_t(first * p.walk.unit));
        enqueue_gather(scatter_half, from, first, n, dst, stream, force_index64);
      } else {
        STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(dst + first * p.walk.unit, tmp, std::size_t(n) * std::size_t(p.walk.unit),
                                            cudaMemcpyDeviceToDevice, stream));
      }
    }
  } catch (...) {
    (void)cudaFreeAsync(raw, stream);
    throw;
  }
  STRIDECOPY_CUDA_TRY(cudaFreeAsync(raw, stream));
}

/// The plan of a direct copy, narrowed to what its two pointers' alignment allows, and the two.
struct direct_args {
  plan q;
  const std::byte* from;
  std::byte* to;
};
direct_args direct_of(const prepared_copy& c) {
  const std::byte* from = is_host(c.p.source) ? c.src_alias : c.source.first;
  std::byte* to = is_host(c.p.destination) ? c.dst_alias : c.target.first;
  return {narrow_unit(c.p, std::min(alignment_of(from), alignment_of(to))), from, to};
}

}  // namespace

void enqueue_cpu_job(std::unique_ptr<cpu_job> job, stream_handle stream) {
  if (is_capturing(stream)) return capture_cpu_job(std::move(job), stream);
  STRIDECOPY_CUDA_TRY(cudaLaunchHostFunc(stream, run_cpu_job, job.get()));
  (void)job.release();  // run_cpu_job owns it now
}

strategy run_device_copy(const prepared_copy& c, stream_handle stream, const copy_options& options,
                         const exec_options& exec) {
  const plan& p = c.p;
  const device_guard on(c.device);
  std::byte* const out = c.target.first;
  // Kernels and copies address whole units: pointers less aligned than the plan assumed get
  // smaller ones (the staging ring's slots are always aligned).
  const int source_unit = alignment_of(c.source.first);
  const bool pinned_host =
      is_host(p.source) ? c.facts.source == memory_kind::pinned : c.facts.destination == memory_kind::pinned;
  std::shared_ptr<driven_status> driven;  // a staged copy whose host side runs on a library thread
  try {
    if (c.o.what == overlap::kind::partial) {
      const plan q = narrow_unit(p, std::min(source_unit, alignment_of(out)));
      device_through(q, c.source.first, out, stream, c.o, exec.force_index64);
    } else {
      switch (c.how) {
        case strategy::dma:
          if (!is_host(p.source) && !is_host(p.destination) && !p.walk.scatter)
            STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(out, c.source.first, p.bytes, cudaMemcpyDeviceToDevice, stream));
          else
            run_dma(p, c.source.first, out,
                    is_host(p.source)        ? cudaMemcpyHostToDevice
                    : is_host(p.destination) ? cudaMemcpyDeviceToHost
                                             : cudaMemcpyDeviceToDevice,
                    pinned_host, stream);
          break;
        case strategy::direct: {
          const direct_args d = direct_of(c);
          enqueue_gather(d.q, d.from, 0, d.q.units(), d.to, stream, exec.force_index64);
          break;
        }
        case strategy::staged:
          if (is_host(p.source)) {
            driven = run_staged_h2d(p, c.source.first, out, stream, c.facts.source == memory_kind::pinned,
                                    options.threads, exec);
          } else if (c.facts.destination == memory_kind::pinned && !p.walk.scatter) {
            staged_sink sink;
            sink.what = staged_sink::kind::pinned;
            sink.dst = out;
            run_staged(narrow_unit(p, source_unit), c.source.first, stream, sink, exec.force_index64);
          } else {
            driven = drive(driven_direction::to_host, narrow_unit(p, std::min(source_unit, alignment_of(out))),
                           c.source.first, out, stream, options.threads, exec.force_index64, exec.blocking);
          }
          break;
        default: break;
      }
    }
  } catch (...) {
    // Nothing enqueued may outlive the failure: copies still writing the destination would write a
    // buffer its owner may reuse (to_host's pinned block goes back to the pool).
    (void)cudaStreamSynchronize(stream);
    throw;
  }
  // A blocking call waits here, on the copy's device: the default stream is that device's.
  if (exec.blocking) {
    STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(stream));
    if (driven) {
      driven->wait();
      if (std::exception_ptr failure = driven->failure()) std::rethrow_exception(failure);
    }
  }
  return c.how;
}

void device_view_to_sink(const plan& q, const checked_source& s, const piece_sink& sink, stream_handle stream) {
  const device_guard on(s.device >= 0 ? s.device : current_device());
  if (is_capturing(stream))
    throw invalid_view("writing a device view to a file waits for its chunks, which a capturing stream cannot do");
  staged_sink to_sink;
  to_sink.what = staged_sink::kind::callback;
  to_sink.callback = &sink;
  run_staged(q, s.first, stream, to_sink);
}

struct device_batch::parts {
  gather_batch kernels;
  std::vector<dma_copy> dma[3];
  bool batchable[3] = {true, true, true};
};

device_batch::device_batch() = default;
device_batch::~device_batch() = default;

void device_batch::add(const prepared_copy& c, const exec_options& exec) {
  if (!parts_) parts_ = std::make_unique<parts>();
  const plan& p = c.p;
  if (c.how == strategy::direct) {
    const direct_args d = direct_of(c);
    parts_->kernels.add(d.q, d.from, d.to, exec.force_index64);
    return;
  }
  // dma: by direction; pageable memory never takes a batched copy.
  const int k = is_host(p.source) ? 0 : is_host(p.destination) ? 1 : 2;
  const bool pinned = is_host(p.source)        ? c.facts.source == memory_kind::pinned
                      : is_host(p.destination) ? c.facts.destination == memory_kind::pinned
                                               : true;
  add_dma_copies(p, c.source.first, c.target.first, parts_->dma[k]);
  parts_->batchable[k] = parts_->batchable[k] && pinned;
}

void device_batch::flush(stream_handle stream) {
  if (!parts_) return;
  static constexpr cudaMemcpyKind kinds[3] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
  for (int k = 0; k < 3; ++k) {
    if (!parts_->dma[k].empty()) run_dma_copies(parts_->dma[k], kinds[k], parts_->batchable[k], stream);
    parts_->dma[k].clear();
    parts_->batchable[k] = true;
  }
  if (!parts_->kernels.empty()) (void)parts_->kernels.launch(stream);
}

}  // namespace detail

void release_cached_memory() {
  detail::release_staging_rings();
  detail::trim_pinned_pool();
}

}  // namespace stridecopy
