// host/copy.cpp — the front door: every public copy function. It checks a call's pointers, gathers
// the facts the chooser needs (memory kinds, mapping, capture), chooses once, and hands a checked
// plan to one executor (cpu/, cuda/). Executors decide nothing.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "core/choose.hpp"
#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "cpu/thread_pool.hpp"
#include "cuda/check.hpp"
#include "cuda/d2h.hpp"
#include "cuda/driven.hpp"
#include "cuda/dma.hpp"
#include "cuda/h2d.hpp"
#include "cuda/gather_launch.hpp"
#include "cuda/pinned_pool.hpp"
#include "cuda/runtime.hpp"
#include "cuda/staging.hpp"
#include "dispatch.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {
namespace detail {

namespace {

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

/// The memory behind `p` where CUDA can tell; `claimed` otherwise.
pointer_info measure(const void* p, memory_kind claimed) {
  if (!cuda_available()) return {claimed, -1, nullptr};
  return query_pointer(p);
}

[[noreturn]] void no_device(const char* what) {
  throw cuda_error(std::string(what) + ": no CUDA device is available", int(cudaErrorNoDevice));
}

void check_options(const copy_options& o) {
  if (o.how > strategy::direct)
    throw invalid_argument("copy_options::how = " + std::to_string(int(o.how)) + " is not a strategy");
}

void check_threads(int threads) {
  if (threads < 0 || threads > max_cpu_threads)
    throw invalid_argument("threads = " + std::to_string(threads) + ": expected 0 (chosen from the size) to " +
                           std::to_string(max_cpu_threads));
}

/// What the destination of a device-to-host copy is: pinned only if its last byte is too (a
/// cudaHostRegister range may end inside it), mapped only if the device sees it as one range.
/// Queried on the source's device, so that the device alias is the one its kernels use.
struct host_destination {
  memory_kind kind = memory_kind::pageable;
  void* alias = nullptr;  ///< the whole destination's device address, when mapped
};
host_destination measure_host_destination(void* dst, std::size_t bytes) {
  const pointer_info first = query_pointer(dst);
  if (first.kind == memory_kind::device)
    throw invalid_view("the destination is device memory, but this copy writes host memory (use copy_to_device)");
  const pointer_info last = query_pointer(static_cast<std::byte*>(dst) + (bytes - 1));
  host_destination d;
  if (first.kind != memory_kind::pinned || last.kind != memory_kind::pinned) return d;
  d.kind = memory_kind::pinned;
  if (first.device_alias && last.device_alias &&
      static_cast<std::byte*>(last.device_alias) - static_cast<std::byte*>(first.device_alias) ==
          std::ptrdiff_t(bytes - 1))
    d.alias = first.device_alias;
  return d;
}

/// What the source of a host-to-device copy is: pinned only if both ends of the span it reads are (a
/// cudaHostRegister range may end inside it), mapped only if the device sees the span as one range;
/// then the device address of the first element.
struct host_source {
  memory_kind kind = memory_kind::pageable;
  const std::byte* first_alias = nullptr;
};
host_source measure_host_source(const plan& p, const std::byte* first) {
  const std::byte* lo = first + p.span_begin;
  const std::byte* hi = first + (p.span_end - 1);
  const pointer_info a = query_pointer(lo), b = query_pointer(hi);
  host_source h;
  if (a.kind != memory_kind::pinned || b.kind != memory_kind::pinned) return h;
  h.kind = memory_kind::pinned;
  if (a.device_alias && b.device_alias &&
      static_cast<std::byte*>(b.device_alias) - static_cast<std::byte*>(a.device_alias) == hi - lo)
    h.first_alias = static_cast<const std::byte*>(a.device_alias) - p.span_begin;
  return h;
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

/// A host-to-host copy run by a host function on the stream, after the work enqueued before it.
struct cpu_job {
  plan p;
  const std::byte* src;
  std::byte* dst;
  int threads;
};
void CUDART_CB run_cpu_job(void* arg) {
  const std::unique_ptr<cpu_job> job(static_cast<cpu_job*>(arg));
  gather(job->p, job->src, job->dst, job->threads);
}
// In a CUDA graph the job runs at every launch: the graph owns it (a user object), not the function.
void CUDART_CB run_graph_cpu_job(void* arg) {
  const auto* job = static_cast<const cpu_job*>(arg);
  gather(job->p, job->src, job->dst, job->threads);
}
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

strategy run_on_cpu(const plan& p, const std::byte* src, std::byte* dst, cudaStream_t stream, int threads,
                    const exec_options& exec) {
  const int team = team_size(p.bytes, threads);
  if (exec.cpu_only) {
    gather(p, src, dst, team);
    return strategy::cpu;
  }
  if (cuda_available() && !exec.blocking) {
    // In stream order: earlier work on the stream may still be writing the source.
    auto job = std::make_unique<cpu_job>(cpu_job{p, src, dst, team});
    if (is_capturing(stream)) {
      capture_cpu_job(std::move(job), stream);
      return strategy::cpu;
    }
    STRIDECOPY_CUDA_TRY(cudaLaunchHostFunc(stream, run_cpu_job, job.get()));
    (void)job.release();  // run_cpu_job owns it now
    return strategy::cpu;
  }
  if (cuda_available()) STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(stream));
  gather(p, src, dst, team);
  return strategy::cpu;
}

}  // namespace

checked_source check_source(const plan& p, const void* src, bool measure_kind) {
  checked_source s;
  s.kind = p.source;
  if (p.pat == pattern::empty) return s;
  if (!src) throw invalid_view("the source pointer is null but the view has " + std::to_string(p.elements) + " elements");
  // The first element and the span around it, in integers: none may wrap around the address space.
  const std::uintptr_t base = address(src);
  const auto origin = std::uintptr_t(p.origin);
  const std::uintptr_t first = base + origin;
  if (p.origin >= 0 ? first < base : first > base)
    throw invalid_view("the view's first element lies " + std::to_string(p.origin) +
                       " bytes from its source pointer, outside the address space");
  if (p.span_begin < 0 && std::uintptr_t(-(p.span_begin + 1)) >= first)
    throw invalid_view("the view reaches " + std::to_string(std::uint64_t(0) - std::uint64_t(p.span_begin)) +
                       " bytes below its first element, before address 0");
  if (std::uintptr_t(p.span_end) > std::numeric_limits<std::uintptr_t>::max() - first)
    throw invalid_view("the view reaches past the end of the address space");
  s.first = reinterpret_cast<const std::byte*>(first);
  if (p.source == memory_kind::device && !cuda_available()) no_device("a copy from device memory");
  if (!measure_kind) return s;
  const pointer_info info = measure(s.first, p.source);
  if (is_host(p.source) && info.kind == memory_kind::device)
    throw invalid_view("the view says " + std::string(to_string(p.source)) +
                       " memory but its data pointer is device memory (make the view with memory_kind::device)");
  if (p.source == memory_kind::device && info.kind != memory_kind::device)
    throw invalid_view(std::string("the view says device memory but its data pointer is ") + to_string(info.kind) +
                       " memory");
  s.kind = info.kind;
  s.device = info.device;
  return s;
}

strategy execute(const plan& p, const void* src, void* dst, std::size_t dst_bytes, cudaStream_t stream,
                 const copy_options& options, const exec_options& exec) {
  check_options(options);
  check_threads(options.threads);
  if (dst_bytes < p.bytes)
    throw invalid_view("the destination holds " + std::to_string(dst_bytes) + " bytes; the copy needs " +
                       std::to_string(p.bytes));
  const checked_source source = check_source(p, src, !exec.cpu_only);
  if (p.bytes != 0) {
    if (!dst) throw invalid_view("the destination pointer is null");
    const std::uintptr_t d = address(dst), s = address(source.first);
    const std::uintptr_t s_first = s - (std::uintptr_t(0) - std::uintptr_t(p.span_begin));
    const std::uintptr_t s_last = s + std::uintptr_t(p.span_end);
    if (d < s_last && s_first < d + p.bytes) throw invalid_view("the destination overlaps the memory the view reads");
  }
  const bool transfer = is_host(p.source) != is_host(p.destination);
  const strategy forced = options.how != strategy::automatic ? options.how
                          : transfer                         ? strategy_from_environment()
                                                             : strategy::automatic;
  auto* out = static_cast<std::byte*>(dst);

  copy_facts facts;
  facts.source = source.kind;
  facts.destination = p.destination;
  if (p.bytes == 0) return choose(p, facts, forced);
  if (is_host(p.source) && is_host(p.destination)) {
    if (!exec.cpu_only) facts.destination = measure(dst, p.destination).kind;
    if (facts.destination == memory_kind::device)
      throw invalid_view("the destination is device memory, but this copy writes host memory (use copy_to_device)");
    (void)choose(p, facts, forced);
    return run_on_cpu(narrow_unit(p, alignment_of(source.first)), source.first, out, stream, options.threads, exec);
  }
  if (!cuda_available()) no_device("a copy to or from device memory");
  // The device whose kernels and copies run: the source's, else the destination's.
  int device = source.device;
  if (p.destination == memory_kind::device) {
    const pointer_info d = query_pointer(dst);
    if (d.kind != memory_kind::device)
      throw invalid_view(std::string("the destination is ") + to_string(d.kind) +
                         " memory, but this copy writes device memory (use copy_to_host)");
    if (device >= 0 && d.device >= 0 && device != d.device)
      throw invalid_view("the view is on device " + std::to_string(device) + " but the destination on device " +
                         std::to_string(d.device));
    if (device < 0) device = d.device;
    facts.destination = memory_kind::device;
  }
  const device_guard on(device >= 0 ? device : current_device());
  if (device < 0) device = current_device();
  // A stream of another device would fail inside an event record or a launch: say so first.
  if (const int s = stream_device(stream); s != device)
    throw invalid_view("the stream belongs to device " + std::to_string(s) + ", but this copy runs on device " +
                       std::to_string(device) + ", where its device memory is");
  // Device aliases of mapped pinned memory, queried on that device: what a direct kernel uses.
  void* dst_alias = nullptr;
  const std::byte* src_alias = nullptr;
  if (is_host(p.destination)) {
    const host_destination d = measure_host_destination(dst, p.bytes);
    facts.destination = d.kind;
    facts.destination_mapped = d.alias != nullptr;
    dst_alias = d.alias;
  }
  if (is_host(p.source)) {
    const host_source h = measure_host_source(p, source.first);
    facts.source = h.kind;
    facts.source_mapped = h.first_alias != nullptr;
    src_alias = h.first_alias;
  }
  facts.capturing = is_capturing(stream);
  const strategy how = choose(p, facts, forced);
  // Kernels and copies address whole units: pointers less aligned than the plan assumed get
  // smaller ones (the staging ring's slots are always aligned).
  const int source_unit = alignment_of(source.first);
  const bool pinned_host = is_host(p.source) ? facts.source == memory_kind::pinned
                                             : facts.destination == memory_kind::pinned;
  std::shared_ptr<driven_status> driven;  // a staged copy whose host side runs on a library thread
  try {
    switch (how) {
      case strategy::dma:
        if (!is_host(p.source) && !is_host(p.destination))
          STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(dst, source.first, p.bytes, cudaMemcpyDeviceToDevice, stream));
        else
          run_dma(p, source.first, out, is_host(p.source) ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost,
                  pinned_host, stream);
        break;
      case strategy::direct: {
        const std::byte* from = is_host(p.source) ? src_alias : source.first;
        void* target = is_host(p.destination) ? dst_alias : dst;
        const plan q = narrow_unit(p, std::min(alignment_of(from), alignment_of(target)));
        enqueue_gather(q, from, 0, q.units(), target, stream, exec.force_index64);
        break;
      }
      case strategy::staged:
        if (is_host(p.source)) {
          driven = run_staged_h2d(p, source.first, out, stream, facts.source == memory_kind::pinned, options.threads,
                                  exec);
        } else if (facts.destination == memory_kind::pinned) {
          staged_sink sink;
          sink.what = staged_sink::kind::pinned;
          sink.dst = out;
          run_staged(narrow_unit(p, source_unit), source.first, stream, sink, exec.force_index64);
        } else {
          driven = drive(driven_direction::to_host, narrow_unit(p, source_unit), source.first, out, stream,
                         options.threads, exec.force_index64, exec.blocking);
        }
        break;
      default: break;
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
  return how;
}

}  // namespace detail

namespace {

/// A call that waits for its copy, or allocates memory for it, cannot be part of a CUDA graph: it is
/// refused before any work, and the caller's capture goes on.
void refuse_capture(cudaStream_t stream, const char* call, const char* why) {
  if (cuda_available() && detail::is_capturing(stream))
    throw invalid_argument(std::string(call) + ": the stream is capturing a CUDA graph, and this call " + why);
}
constexpr const char* waits = "waits for its copy, which a capturing stream cannot do (use the _async form)";

strategy run(const plan& p, const void* src, void* dst, std::size_t dst_bytes, cudaStream_t stream,
             const copy_options& options, bool blocking) {
  detail::exec_options exec;
  exec.blocking = blocking;
  return detail::execute(p, src, dst, dst_bytes, stream, options, exec);
}

}  // namespace

strategy copy_async(const plan& p, const void* src, void* dst, std::size_t dst_bytes, cuda::stream_ref stream,
                    const copy_options& options) {
  return run(p, src, dst, dst_bytes, stream.get(), options, false);
}

strategy copy(const plan& p, const void* src, void* dst, std::size_t dst_bytes, cuda::stream_ref stream,
              const copy_options& options) {
  refuse_capture(stream.get(), "copy", waits);
  return run(p, src, dst, dst_bytes, stream.get(), options, true);
}

void copy_on_host(const view& v, void* dst, std::size_t dst_bytes, int threads) {
  detail::check_threads(threads);
  if (v.memory == memory_kind::device)
    throw invalid_view("copy_on_host: the view is in device memory; use copy_to_host for device views");
  const plan p = make_plan(v, memory_kind::pageable);
  copy_options options;
  options.how = strategy::cpu;
  options.threads = threads;
  detail::exec_options exec;
  exec.cpu_only = true;
  (void)detail::execute(p, v.base(), dst, dst_bytes, cudaStream_t{}, options, exec);
}

strategy copy_to_host_async(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream,
                            const copy_options& options) {
  return run(make_plan(v, memory_kind::pageable), v.base(), dst, dst_bytes, stream.get(), options, false);
}

strategy copy_to_host(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream,
                      const copy_options& options) {
  refuse_capture(stream.get(), "copy_to_host", waits);
  return run(make_plan(v, memory_kind::pageable), v.base(), dst, dst_bytes, stream.get(), options, true);
}

strategy copy_to_device_async(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream,
                              const copy_options& options) {
  return run(make_plan(v, memory_kind::device), v.base(), dst, dst_bytes, stream.get(), options, false);
}

strategy copy_to_device(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream,
                        const copy_options& options) {
  refuse_capture(stream.get(), "copy_to_device", waits);
  return run(make_plan(v, memory_kind::device), v.base(), dst, dst_bytes, stream.get(), options, true);
}

host_array to_host(const view& v, cuda::stream_ref stream, const copy_options& options) {
  const plan p = make_plan(v, memory_kind::pinned);  // a bad view throws before anything is allocated
  refuse_capture(stream.get(), "to_host", waits);
  host_array out(v.type, v.shape());
  (void)run(p, v.base(), out.data(), out.bytes(), stream.get(), options, true);
  return out;
}

device_array to_device(const view& v, cuda::stream_ref stream, const copy_options& options) {
  const plan p = make_plan(v, memory_kind::device);  // a bad view throws before anything is allocated
  if (!cuda_available()) throw cuda_error("to_device: no CUDA device is available", int(cudaErrorNoDevice));
  refuse_capture(stream.get(), "to_device",
                 "allocates its array, which a capturing stream cannot do (copy_to_device_async into memory you own)");
  // A device view's own device; a host view's copy goes to the current one.
  const detail::checked_source source = detail::check_source(p, v.base(), true);
  const detail::device_guard on(source.device >= 0 ? source.device : detail::current_device());
  device_array out(v.type, v.shape(), stream);
  (void)run(p, v.base(), out.data(), out.bytes(), stream.get(), options, false);
  return out;
}

void set_num_threads(int n) {
  detail::check_threads(n);
  detail::set_thread_setting(n);
}

int get_num_threads() { return detail::cpu_threads(); }

void release_cached_memory() {
  detail::release_staging_rings();
  detail::trim_pinned_pool();
}

}  // namespace stridecopy
