// host/cuda/driven.cpp — driven copies: a queue per (device, stream) with its own staging ring, a
// library thread that drains it while it holds copies, and the two pipelines that thread runs.
#include "cuda/driven.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "core/choose.hpp"
#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "cpu/scatter.hpp"
#include "cuda/check.hpp"
#include "cuda/gather_launch.hpp"
#include "cuda/resources.hpp"
#include "cuda/ring_cache.hpp"
#include "cuda/runtime.hpp"
#include "cuda/staging.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy::detail {

void driven_status::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return finished_; });
}

std::exception_ptr driven_status::failure() {
  const std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void driven_status::finish(std::exception_ptr failure) {
  const std::lock_guard<std::mutex> lock(mutex_);
  failure_ = std::move(failure);
  finished_ = true;
  changed_.notify_all();
}

namespace {

struct job {
  driven_direction direction;
  plan p;  ///< into a strided destination too (walk::scatter): the CPU or a kernel scatters
  const std::byte* src;
  std::byte* dst;
  int threads;
  bool force_index64;
  bool caller_waits;
  int device;
  owned_event start;  ///< recorded on the caller's stream where the call was made
  std::shared_ptr<driven_status> status;
};

/// A stream's driven copies: the ring they stage through (the draining thread's alone), the copies
/// waiting, whether a thread drains them, and a failure no caller has seen yet.
struct driven_queue {
  explicit driven_queue(int device) : ring(device) {}
  staging_ring ring;
  std::mutex mutex;
  std::deque<std::unique_ptr<job>> waiting;
  bool draining = false;
  std::exception_ptr unreported;
};

using queue_key = std::pair<int, unsigned long long>;  // (device, stream id)

// Never destroyed: queues may be drained during static teardown.
ring_cache<queue_key, driven_queue>& queues() {
  static auto* cache = new ring_cache<queue_key, driven_queue>(ring_cache_capacity);
  return *cache;
}

/// The host function the caller's stream waits at: it only blocks until the thread is done.
void CUDART_CB hold_stream(void* arg) {
  const std::unique_ptr<std::shared_ptr<driven_status>> status(static_cast<std::shared_ptr<driven_status>*>(arg));
  (*status)->wait();
}

/// Device to host: chunk k is gathered into device slot k % slots on the ring's second stream, the
/// copy stream moves it to the pinned slot, and this thread copies it out once the copy is done,
/// then queues chunk k + slots into the freed slots.
void run_to_host(staging_ring& queued, const job& j) {
  const plan& p = j.p;
  const plan into_slots = into_contiguous(p), from_slots = from_contiguous(p);
  const chunking chunks = chunk_output(p, staged_chunk_bytes(p));
  if (chunks.count == 0) return;
  const int slots = transfer_policy::slots;
  const ring_turn turn(queued, {.slot_bytes = std::size_t(chunks.chunk_units) * std::size_t(p.walk.unit),
                                .slots = slots,
                                .device = true,
                                .host = true});
  staging_ring& ring = turn.ring();
  const cudaStream_t gather = ring.gather_stream(), copy = ring.copy_stream();
  const auto first_of = [&](std::int64_t k) { return k * chunks.chunk_units; };
  const auto bytes_of = [&](std::int64_t k) {
    return std::size_t(std::min(chunks.chunk_units, p.units() - first_of(k))) * std::size_t(p.walk.unit);
  };
  const auto enqueue = [&](std::int64_t k) {
    const int s = int(k % slots);
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(gather, ring.device_free(s), 0));
    enqueue_gather(into_slots, j.src, first_of(k), std::int64_t(bytes_of(k)) / p.walk.unit, ring.device_slot(s), gather,
                   j.force_index64);
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.filled(s), gather));
    STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(copy, ring.filled(s), 0));
    STRIDECOPY_CUDA_TRY(
        cudaMemcpyAsync(ring.host_slot(s), ring.device_slot(s), bytes_of(k), cudaMemcpyDeviceToHost, copy));
    STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.device_free(s), copy));
  };
  STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(gather, j.start.get(), 0));
  for (std::int64_t k = 0; k < std::min<std::int64_t>(slots, chunks.count); ++k) enqueue(k);
  for (std::int64_t k = 0; k < chunks.count; ++k) {
    const int s = int(k % slots);
    STRIDECOPY_CUDA_TRY(cudaEventSynchronize(ring.device_free(s)));
    if (p.walk.scatter) {  // the slot holds output units [first, first + n): the source at first
      const auto* chunk = reinterpret_cast<const std::byte*>(reinterpret_cast<std::uintptr_t>(ring.host_slot(s)) -
                                                             std::uintptr_t(first_of(k) * p.walk.unit));
      copy_range(from_slots, chunk, j.dst, first_of(k), std::int64_t(bytes_of(k)) / p.walk.unit);
    } else {
      std::memcpy(j.dst + first_of(k) * p.walk.unit, ring.host_slot(s), bytes_of(k));
    }
    if (k + slots < chunks.count) enqueue(k + slots);
  }
}

/// Host to device: once the caller's earlier work is done (it may write the source), this thread
/// gathers chunk k into pinned slot k % slots as soon as the slot's previous copy has read it, and
/// the copy stream sends it to its place in the destination.
void run_from_host(staging_ring& queued, const job& j) {
  const plan& p = j.p;
  const plan into_slots = into_contiguous(p), from_slots = from_contiguous(p);
  const chunking chunks = chunk_output(p, staged_chunk_bytes(p));
  if (chunks.count == 0) return;
  const int slots = transfer_policy::slots;
  const std::size_t chunk_bytes = std::size_t(chunks.chunk_units) * std::size_t(p.walk.unit);
  // A strided destination: each chunk goes to a device slot, and a kernel scatters it from there.
  const ring_turn turn(queued, {.slot_bytes = chunk_bytes, .slots = slots, .device = p.walk.scatter, .host = true});
  staging_ring& ring = turn.ring();
  const cudaStream_t copy = ring.copy_stream();
  const int team = team_size(chunk_bytes, j.threads);
  STRIDECOPY_CUDA_TRY(cudaEventSynchronize(j.start.get()));
  STRIDECOPY_CUDA_TRY(cudaStreamWaitEvent(copy, j.start.get(), 0));  // earlier work may use the destination
  for (std::int64_t k = 0; k < chunks.count; ++k) {
    const int s = int(k % slots);
    const std::int64_t first = k * chunks.chunk_units, n = std::min(chunks.chunk_units, p.units() - first);
    STRIDECOPY_CUDA_TRY(cudaEventSynchronize(ring.host_free(s)));
    gather_range(into_slots, j.src, first, n, ring.host_slot(s), team);
    const std::size_t bytes = std::size_t(n) * std::size_t(p.walk.unit);
    if (p.walk.scatter) {  // the device slot, then the kernel (both on the copy stream, so in order)
      STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(ring.device_slot(s), ring.host_slot(s), bytes, cudaMemcpyHostToDevice, copy));
      STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.host_free(s), copy));
      const auto* chunk = reinterpret_cast<const std::byte*>(reinterpret_cast<std::uintptr_t>(ring.device_slot(s)) -
                                                             std::uintptr_t(first * p.walk.unit));
      enqueue_gather(from_slots, chunk, first, n, j.dst, copy, j.force_index64);
      STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.device_free(s), copy));
    } else {
      STRIDECOPY_CUDA_TRY(
          cudaMemcpyAsync(j.dst + first * p.walk.unit, ring.host_slot(s), bytes, cudaMemcpyHostToDevice, copy));
      STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.host_free(s), copy));
    }
  }
  STRIDECOPY_CUDA_TRY(cudaEventRecord(ring.done(), copy));
  STRIDECOPY_CUDA_TRY(cudaEventSynchronize(ring.done()));
}

std::atomic<std::uint64_t> finished_copies{0};

/// Runs the queue's copies in order until none is left.
void drain(const std::shared_ptr<driven_queue>& q) {
  for (;;) {
    std::unique_ptr<job> j;
    {
      const std::lock_guard<std::mutex> lock(q->mutex);
      if (q->waiting.empty()) {
        q->draining = false;
        return;
      }
      j = std::move(q->waiting.front());
      q->waiting.pop_front();
    }
    std::exception_ptr failure;
    try {
      const device_guard on(j->device);
      if (j->direction == driven_direction::to_host)
        run_to_host(q->ring, *j);
      else
        run_from_host(q->ring, *j);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure && !j->caller_waits) {
      const std::lock_guard<std::mutex> lock(q->mutex);
      if (!q->unreported) q->unreported = failure;
    }
    finished_copies.fetch_add(1, std::memory_order_relaxed);
    j->status->finish(failure);
  }
}

[[noreturn]] void report_earlier(std::exception_ptr failure) {
  try {
    std::rethrow_exception(std::move(failure));
  } catch (const cuda_error& e) {
    throw cuda_error(std::string("an earlier copy on this stream failed after its call had returned: ") + e.what(),
                     e.code());
  } catch (const std::exception& e) {
    throw cuda_error(std::string("an earlier copy on this stream failed after its call had returned: ") + e.what(),
                     int(cudaErrorUnknown));
  }
}

}  // namespace

std::uint64_t driven_copies_finished() { return finished_copies.load(std::memory_order_relaxed); }

std::shared_ptr<driven_status> drive(driven_direction d, const plan& p, const std::byte* src, std::byte* dst,
                                     cudaStream_t stream, int threads, bool force_index64, bool caller_waits) {
  const int device = current_device();
  const auto q = queues().acquire({device, stream_id(stream)}, [&] { return new driven_queue(device); });
  {
    const std::lock_guard<std::mutex> lock(q->mutex);
    if (q->unreported) report_earlier(std::exchange(q->unreported, nullptr));
  }
  auto j = std::make_unique<job>(job{d, p, src, dst, threads, force_index64, caller_waits, device,
                                     owned_event::create(), std::make_shared<driven_status>()});
  STRIDECOPY_CUDA_TRY(cudaEventRecord(j->start.get(), stream));
  auto held = std::make_unique<std::shared_ptr<driven_status>>(j->status);
  STRIDECOPY_CUDA_TRY(cudaLaunchHostFunc(stream, hold_stream, held.get()));
  (void)held.release();  // hold_stream owns it now
  std::shared_ptr<driven_status> status = j->status;
  bool start = false;
  {
    const std::lock_guard<std::mutex> lock(q->mutex);
    q->waiting.push_back(std::move(j));
    start = !std::exchange(q->draining, true);
  }
  if (start) {
    try {
      std::thread(drain, q).detach();
    } catch (const std::system_error& e) {
      // No thread: nothing will run what is queued. Release the streams held for it.
      std::deque<std::unique_ptr<job>> dropped;
      {
        const std::lock_guard<std::mutex> lock(q->mutex);
        dropped.swap(q->waiting);
        q->draining = false;
      }
      const auto failure = std::make_exception_ptr(e);
      for (auto& w : dropped) w->status->finish(failure);
      throw cuda_error(std::string("cannot start the thread of a staged copy: ") + e.what(), int(cudaErrorUnknown));
    }
  }
  return status;
}

}  // namespace stridecopy::detail
