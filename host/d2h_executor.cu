// host/d2h_executor.cu — device to host: dma (runs straight to the copy engine), staged (gather into
// a bounded device ring while the copy engine drains it), direct (kernel stores into mapped pinned
// memory); pageable destinations bounce through pinned slots. Staging rings are cached per
// (device, stream) and reused across calls.
#include "d2h_executor.hpp"

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cuda_check.hpp"
#include "d2h_schedule.hpp"
#include "host_executor.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {
namespace detail {

namespace {

// ---- staging rings

/// Device slots, optional pinned host slots, a copy stream and a second stream for the pageable
/// bounce, events per slot. One per (device, user stream); its mutex is held while a call enqueues.
class staging_ring {
 public:
  std::mutex mutex;

  explicit staging_ring(int device) : device_(device) {}
  staging_ring(const staging_ring&) = delete;
  staging_ring& operator=(const staging_ring&) = delete;
  ~staging_ring() { release(); }

  /// At least `slots` slots of `slot_bytes` each, on the device and (when asked) pinned on the host.
  /// Growing waits for the streams that may still use the old slots.
  void reserve(std::size_t slot_bytes, int slots, bool host_slots, cudaStream_t user) {
    if (!copy_) {  // all three or none, so a failure leaves nothing half made
      cudaStream_t copy = nullptr, bounce = nullptr;
      cudaEvent_t done = nullptr;
      const cudaError_t e1 = cudaStreamCreateWithFlags(&copy, cudaStreamNonBlocking);
      const cudaError_t e2 = e1 ? e1 : cudaStreamCreateWithFlags(&bounce, cudaStreamNonBlocking);
      const cudaError_t e3 = e2 ? e2 : cudaEventCreateWithFlags(&done, cudaEventDisableTiming);
      if (e3 != cudaSuccess) {
        if (copy) (void)cudaStreamDestroy(copy);
        if (bounce) (void)cudaStreamDestroy(bounce);
        throw_cuda_error(e3, "creating the staging streams and events");
      }
      copy_ = copy;
      bounce_ = bounce;
      done_ = done;
    }
    // Power-of-two slot sizes from 1 MiB: a ring grows a handful of times in its life at most.
    std::size_t want = std::size_t(1) << 20;
    while (want < slot_bytes) want *= 2;
    if (!device_ring_ || want > slot_bytes_ || slots > slots_) {
      // The old slots may still be read or written by earlier calls' work: wait for it first.
      STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(user));
      sync();
      if (device_ring_) STRIDECOPY_CUDA_TRY(cudaFree(device_ring_));
      if (host_ring_) STRIDECOPY_CUDA_TRY(cudaFreeHost(host_ring_));
      device_ring_ = host_ring_ = nullptr;
      const std::size_t new_slot_bytes = std::max(want, slot_bytes_);
      const int new_slots = std::max(slots, slots_);
      for (auto* events : {&gathered_, &copied_, &bounced_})
        while (int(events->size()) < new_slots) {
          cudaEvent_t e;
          STRIDECOPY_CUDA_TRY(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
          events->push_back(e);
        }
      void* ring = nullptr;
      STRIDECOPY_CUDA_TRY(cudaMalloc(&ring, new_slot_bytes * std::size_t(new_slots)));
      device_ring_ = ring;  // sizes change only once the memory is there
      slot_bytes_ = new_slot_bytes;
      slots_ = new_slots;
    }
    if (host_slots && !host_ring_) {
      void* ring = nullptr;
      STRIDECOPY_CUDA_TRY(cudaHostAlloc(&ring, slot_bytes_ * std::size_t(slots_), cudaHostAllocPortable));
      host_ring_ = ring;
    }
  }

  std::byte* device_slot(int s) const { return static_cast<std::byte*>(device_ring_) + std::size_t(s) * slot_bytes_; }
  std::byte* host_slot(int s) const { return static_cast<std::byte*>(host_ring_) + std::size_t(s) * slot_bytes_; }
  cudaStream_t copy_stream() const { return copy_; }
  cudaStream_t bounce_stream() const { return bounce_; }
  cudaEvent_t gathered(int s) const { return gathered_[std::size_t(s)]; }
  cudaEvent_t copied(int s) const { return copied_[std::size_t(s)]; }
  cudaEvent_t bounced(int s) const { return bounced_[std::size_t(s)]; }
  cudaEvent_t done() const { return done_; }
  std::size_t scratch_bytes() const { return device_ring_ ? slot_bytes_ * std::size_t(slots_) : 0; }

  /// Waits for everything enqueued on the ring's own streams.
  void sync() const {
    if (copy_) STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(copy_));
    if (bounce_) STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(bounce_));
  }

  void release() noexcept {
    int previous = -1;
    (void)cudaGetDevice(&previous);
    (void)cudaSetDevice(device_);
    // The user streams' gathers may still write the slots: wait for the whole device.
    if (copy_) (void)cudaDeviceSynchronize();
    if (device_ring_) (void)cudaFree(device_ring_);
    if (host_ring_) (void)cudaFreeHost(host_ring_);
    for (auto* events : {&gathered_, &copied_, &bounced_})
      for (cudaEvent_t e : *events) (void)cudaEventDestroy(e);
    if (done_) (void)cudaEventDestroy(done_);
    if (copy_) (void)cudaStreamDestroy(copy_);
    if (bounce_) (void)cudaStreamDestroy(bounce_);
    if (previous >= 0) (void)cudaSetDevice(previous);
    device_ring_ = host_ring_ = nullptr;
    copy_ = bounce_ = nullptr;
    done_ = nullptr;
    gathered_.clear();
    copied_.clear();
    bounced_.clear();
    slot_bytes_ = 0;
    slots_ = 0;
  }

 private:
  int device_;
  void* device_ring_ = nullptr;
  void* host_ring_ = nullptr;
  std::size_t slot_bytes_ = 0;
  int slots_ = 0;
  cudaStream_t copy_ = nullptr, bounce_ = nullptr;
  cudaEvent_t done_ = nullptr;
  std::vector<cudaEvent_t> gathered_, copied_, bounced_;
};

// The map is only looked up under its mutex (briefly); work on a ring holds the ring's own mutex, so
// calls on different streams never wait for each other. Never destroyed: rings may be in use during
// static teardown, and CUDA may be gone by then.
struct ring_registry {
  std::mutex mutex;
  std::map<std::pair<int, cudaStream_t>, std::unique_ptr<staging_ring>> rings;
};
ring_registry& registry() {
  static auto* r = new ring_registry;
  return *r;
}

staging_ring& ring_for(int device, cudaStream_t stream) {
  ring_registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  auto& ring = r.rings[{device, stream}];
  if (!ring) ring = std::make_unique<staging_ring>(device);
  return *ring;
}

// ---- the strategies

bool is_legacy_default(cudaStream_t s) { return s == nullptr || s == cudaStreamLegacy; }

cudaStreamCaptureStatus capture_status(cudaStream_t stream) {
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  // The legacy stream is never captured itself (and asking it fails while another stream captures).
  if (!is_legacy_default(stream)) STRIDECOPY_CUDA_TRY(cudaStreamIsCapturing(stream, &capture));
  return capture;
}

void run_dma(const plan& p, std::byte* dst, host_memory kind, cudaStream_t stream) {
  if (p.pat == pattern::contiguous) {
    STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(dst, p.src, p.bytes, cudaMemcpyDeviceToHost, stream));
    return;
  }
  if (const dma_2d d = dma_as_2d(p); d.possible) {
    STRIDECOPY_CUDA_TRY(cudaMemcpy2DAsync(dst, d.width, p.src + d.src_offset, d.src_pitch, d.width, d.height,
                                          cudaMemcpyDeviceToHost, stream));
    return;
  }
  const std::vector<dma_run> runs = dma_runs(p);
  // cudaMemcpyBatchAsync takes no legacy default stream and cannot be captured, and its location
  // hints are not meant for pageable memory: copy run by run then.
  if (is_legacy_default(stream) || capture_status(stream) != cudaStreamCaptureStatusNone || runs.size() == 1 ||
      kind != host_memory::pinned) {
    for (const dma_run& r : runs)
      STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(dst + r.dst_offset, p.src + r.src_offset, r.bytes, cudaMemcpyDeviceToHost, stream));
    return;
  }
  std::vector<void*> dsts(runs.size());
  std::vector<const void*> srcs(runs.size());
  std::vector<std::size_t> sizes(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    dsts[i] = dst + runs[i].dst_offset;
    srcs[i] = p.src + runs[i].src_offset;
    sizes[i] = runs[i].bytes;
  }
  cudaMemcpyAttributes attr{};
  attr.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
  std::size_t first = 0;
  STRIDECOPY_CUDA_TRY(cudaMemcpyBatchAsync(dsts.data(), srcs.data(), sizes.data(), runs.size(), &attr, &first, 1, stream));
}

struct bounce_job {
  std::byte* dst;
  const std::byte* src;
  std::size_t bytes;
};
void CUDART_CB run_bounce(void* arg) {
  const std::unique_ptr<bounce_job> job(static_cast<bounce_job*>(arg));
  std::memcpy(job->dst, job->src, job->bytes);
}

/// Gather kernels on the user stream fill ring slots; the copy stream drains each slot to the host
/// once its gather is done; a slot is refilled only after its previous copy is done. For a pageable
/// destination each slot lands in a pinned host slot first, and a host function on a third stream
/// copies it out (so the next slot's copy overlaps it). The user stream waits for the end.
void run_staged(const plan& p, std::byte* dst, host_memory kind, cudaStream_t stream, const exec_options& exec) {
  const staged_schedule s = make_staged_schedule(p, staged_chunk_bytes(p), d2h_policy::slots);
  int device = 0;
  STRIDECOPY_CUDA_TRY(cudaGetDevice(&device));
  staging_ring& ring = ring_for(device, stream);
  const std::lock_guard<std::mutex> lock(ring.mutex);
  const bool bounce = kind == host_memory::pageable;
  ring.reserve(s.slot_bytes, s.slots, bounce, stream);
  try {
  for (std::size_t k = 0; k < s.chunks.size(); ++k) {
    const staged_chunk& c = s.chunks[k];
    const std::size_t bytes = std::size_t(c.count) * std::size_t(p.unit);
    std::byte* out = dst + c.first * p.unit;
    // Always wait, also for a call's first chunks: the previous call on this ring may have run on
    // another stream (cudaStreamPerThread is one handle for many streams, handles are reused after
    // cudaStreamDestroy). Waiting for an event never recorded is a no-op.
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(stream, ring.copied(c.slot), 0));
    enqueue_gather(p, c.first, c.count, ring.device_slot(c.slot), stream, exec);
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.gathered(c.slot), stream));
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(ring.copy_stream(), ring.gathered(c.slot), 0));
    if (!bounce) {
      STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(out, ring.device_slot(c.slot), bytes, cudaMemcpyDeviceToHost, ring.copy_stream()));
      STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.copied(c.slot), ring.copy_stream()));
      continue;
    }
    // The host slot is free once the bounce of its previous chunk has run.
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(ring.copy_stream(), ring.bounced(c.slot), 0));
    STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(ring.host_slot(c.slot), ring.device_slot(c.slot), bytes, cudaMemcpyDeviceToHost,
                                        ring.copy_stream()));
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.copied(c.slot), ring.copy_stream()));
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(ring.bounce_stream(), ring.copied(c.slot), 0));
    auto job = std::make_unique<bounce_job>(bounce_job{out, ring.host_slot(c.slot), bytes});
    STRIDECOPY_CUDA_TRY(cudaLaunchHostFunc(ring.bounce_stream(), run_bounce, job.get()));
    (void)job.release();  // run_bounce owns it now
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.bounced(c.slot), ring.bounce_stream()));
  }
  STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.done(), bounce ? ring.bounce_stream() : ring.copy_stream()));
  STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(stream, ring.done(), 0));
  } catch (...) {
    // Nothing enqueued may outlive the failure: a pending bounce would write the caller's memory.
    (void)cudaStreamSynchronize(stream);
    (void)cudaStreamSynchronize(ring.copy_stream());
    (void)cudaStreamSynchronize(ring.bounce_stream());
    throw;
  }
}

/// The checks every device-to-host path makes before any device work: a device view whose pointer is
/// device memory, a CUDA device present. Returns the source's device.
int check_device_source(const plan& p, memory_space space) {
  if (space != memory_space::device)
    throw invalid_view(std::string("device-to-host copy of a view in ") + to_string(space) + " memory");
  if (!cuda_available()) throw cuda_error("copy_to_host: no CUDA device is available", int(cudaErrorNoDevice));
  const pointer_info src = query_pointer(p.src);
  if (src.type != cudaMemoryTypeDevice && src.type != cudaMemoryTypeManaged)
    throw invalid_view("copy_to_host: the view's data pointer is not device memory (the view says device)");
  if (src.device < 0) {
    int current = 0;
    STRIDECOPY_CUDA_TRY(cudaGetDevice(&current));
    return current;
  }
  return src.device;
}

}  // namespace

strategy copy_to_host_async(const view& v, void* dst, std::size_t dst_bytes, cudaStream_t stream,
                            const copy_options& options, const exec_options& exec) {
  const strategy forced = options.how != strategy::automatic ? options.how : strategy_from_environment();
  if (v.space != memory_space::device) {  // a host view: the CPU copies it now
    copy_on_host(v, dst, dst_bytes);
    return strategy::automatic;
  }
  plan p = make_plan(v);
  check_destination(p, dst, dst_bytes, "host destination");
  if (p.pat == pattern::empty) return strategy::dma;
  const device_guard on(check_device_source(p, v.space));
  // On the source's device, so that devicePointer is the alias this device uses.
  cudaPointerAttributes first{}, last{};
  STRIDECOPY_CUDA_TRY(cudaPointerGetAttributes(&first, dst));
  if (first.type == cudaMemoryTypeDevice || first.type == cudaMemoryTypeManaged)
    throw invalid_view("copy_to_host: the destination is device memory (use copy_to_device)");
  STRIDECOPY_CUDA_TRY(cudaPointerGetAttributes(&last, static_cast<std::byte*>(dst) + (p.bytes - 1)));
  // Pinned only if the whole destination is (a cudaHostRegister range may end inside it).
  const bool pinned = first.type == cudaMemoryTypeHost && last.type == cudaMemoryTypeHost;
  const host_memory kind = pinned ? host_memory::pinned : host_memory::pageable;
  strategy how = choose_strategy(p, kind, forced);
  void* mapped = first.devicePointer;
  const bool mapped_whole = mapped && last.devicePointer &&
                            static_cast<std::byte*>(last.devicePointer) - static_cast<std::byte*>(mapped) ==
                                std::ptrdiff_t(p.bytes - 1);
  // A staged copy uses events and host work that a stream capture cannot hold; direct can be captured.
  const bool capturing = capture_status(stream) != cudaStreamCaptureStatusNone;
  if (capturing && how == strategy::staged) {
    if (forced == strategy::staged || !pinned || !mapped_whole)
      throw invalid_view("copy_to_host: a staged copy cannot be captured into a CUDA graph (use a pinned destination, "
                         "which is copied directly)");
    how = strategy::direct;
  }
  if (how == strategy::direct && !mapped_whole) {
    if (forced == strategy::direct) throw invalid_view("strategy direct: the pinned destination is not mapped for the device");
    how = strategy::staged;
  }
  // Kernels store whole units: a destination aligned to less than the unit gets smaller units.
  if (how == strategy::direct) p = make_plan(v, address_alignment(mapped));
  switch (how) {
    case strategy::dma: run_dma(p, static_cast<std::byte*>(dst), kind, stream); break;
    case strategy::direct: enqueue_gather(p, 0, p.units(), mapped, stream, exec); break;
    default: run_staged(p, static_cast<std::byte*>(dst), kind, stream, exec); break;
  }
  return how;
}

void stream_device_to_host(const plan& p, cudaStream_t stream, const std::function<void(const void*, std::size_t)>& sink) {
  if (p.pat == pattern::empty) return;
  const device_guard on(check_device_source(p, p.space));
  if (capture_status(stream) != cudaStreamCaptureStatusNone)
    throw invalid_view("saving a device view waits for its chunks, which a capturing stream cannot do");
  const staged_schedule s = make_staged_schedule(p, staged_chunk_bytes(p), d2h_policy::slots);
  int device = 0;
  STRIDECOPY_CUDA_TRY(cudaGetDevice(&device));
  staging_ring& ring = ring_for(device, stream);
  const std::lock_guard<std::mutex> lock(ring.mutex);
  ring.reserve(s.slot_bytes, s.slots, true, stream);
  std::size_t next = 0;  // the next chunk to hand to the sink
  auto hand_over = [&](std::size_t upto) {
    for (; next < upto; ++next) {
      const staged_chunk& c = s.chunks[next];
      STRIDECOPY_CUDA_TRY(cudaEventSynchronize(ring.copied(c.slot)));
      sink(ring.host_slot(c.slot), std::size_t(c.count) * std::size_t(p.unit));
    }
  };
  try {
    for (std::size_t k = 0; k < s.chunks.size(); ++k) {
      const staged_chunk& c = s.chunks[k];
      const std::size_t bytes = std::size_t(c.count) * std::size_t(p.unit);
      // The host slot is reused only after the sink has taken its previous chunk (below), the
      // device slot only after its previous copy.
      STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(stream, ring.copied(c.slot), 0));
      enqueue_gather(p, c.first, c.count, ring.device_slot(c.slot), stream, {});
      STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.gathered(c.slot), stream));
      STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(ring.copy_stream(), ring.gathered(c.slot), 0));
      STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(ring.host_slot(c.slot), ring.device_slot(c.slot), bytes,
                                          cudaMemcpyDeviceToHost, ring.copy_stream()));
      STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.copied(c.slot), ring.copy_stream()));
      if (k + 1 >= std::size_t(s.slots)) hand_over(k + 2 - std::size_t(s.slots));
    }
    hand_over(s.chunks.size());
  } catch (...) {
    // Leave the ring idle for the next call: nothing may still write its slots.
    (void)cudaStreamSynchronize(stream);
    (void)cudaStreamSynchronize(ring.copy_stream());
    throw;
  }
}

std::size_t staging_scratch_bytes() {
  ring_registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  std::size_t total = 0;
  for (auto& [key, ring] : r.rings) {
    const std::lock_guard<std::mutex> ring_lock(ring->mutex);
    total += ring->scratch_bytes();
  }
  return total;
}

void release_staging_rings() {
  ring_registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  // Rings stay in the map (another thread may hold a reference); released ones rebuild on next use.
  for (auto& [key, ring] : r.rings) {
    const std::lock_guard<std::mutex> ring_lock(ring->mutex);
    ring->release();
  }
}

}  // namespace detail

void copy_to_host_async(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream,
                        const copy_options& options) {
  (void)detail::copy_to_host_async(v, dst, dst_bytes, stream.get(), options, {});
}

void copy_to_host(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream, const copy_options& options) {
  if (detail::copy_to_host_async(v, dst, dst_bytes, stream.get(), options, {}) != strategy::automatic)
    STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(stream.get()));
}

host_array to_host(const view& v, cuda::stream_ref stream, const copy_options& options) {
  (void)make_plan(v);  // a bad view throws before anything is allocated
  host_array out(v.type, v.shape());
  copy_to_host(v, out.data(), out.bytes(), stream, options);
  return out;
}

void release_cached_memory() {
  detail::release_staging_rings();
  detail::trim_pinned_pool();
}

}  // namespace stridecopy
