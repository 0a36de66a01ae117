// host/io/chunked_output.cpp — for_each_piece: a view's C-order bytes in bounded pieces, gathered on
// the CPU for host views; device views go to the device's executor (device_view_to_sink, the staged
// pipeline with a callback sink).
#include "io/chunked_output.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/dma_runs.hpp"
#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "cpu/thread_pool.hpp"
#include "dispatch.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy::detail {

void for_each_piece(const plan& p, const void* src, std::size_t max_piece, const piece_sink& sink, stream_handle stream,
                    const runs_sink* runs) {
  // Host views are taken at their word, as a copy with strategy::cpu takes them: no CUDA call, no context.
  const checked_source s = check_source(p, src, p.source == memory_kind::device);
  if (p.walk.pattern == pattern::empty) return;
  const plan q = narrow_unit(p, alignment_of(s.first));
  if (p.source == memory_kind::device) return device_view_to_sink(q, s, sink, stream);
  // A contiguous view needs no gather: hand out its own bytes, at once.
  if (q.walk.pattern == pattern::contiguous) return sink(s.first, q.bytes);
  // Long forward runs need no gather either: the sink takes them where they lie, a batch at a time.
  if (runs && (q.walk.pattern == pattern::long_runs || q.walk.pattern == pattern::rows) &&
      std::size_t(q.walk.inner_extent()) * std::size_t(q.walk.unit) >= direct_run_bytes) {
    constexpr std::size_t batch = 1024;
    std::vector<iovec> iov;
    iov.reserve(batch);
    for_each_run(q, [&](const dma_run& r) {
      iov.push_back({const_cast<std::byte*>(s.first) + r.src_offset, r.bytes});
      if (iov.size() == batch) {
        (*runs)(iov.data(), iov.size());
        iov.clear();
      }
    });
    if (!iov.empty()) (*runs)(iov.data(), iov.size());
    return;
  }
  const chunking c = chunk_output(q, std::max<std::size_t>(max_piece, std::size_t(q.type.itemsize)));
  const std::size_t piece_bytes = std::size_t(c.chunk_units) * std::size_t(q.walk.unit);
  const auto gather_piece = [&](std::int64_t i, std::byte* into) {
    const std::int64_t first = i * c.chunk_units, count = std::min(c.chunk_units, q.units() - first);
    gather_range(q, s.first, first, count, into);
    return std::size_t(count) * std::size_t(q.walk.unit);
  };
  if (c.count < 3 || cpu_threads() < 2) {
    std::vector<std::byte> piece(piece_bytes);
    for (std::int64_t i = 0; i < c.count; ++i) sink(piece.data(), gather_piece(i, piece.data()));
    return;
  }
  // A second thread gathers piece i + 1 while this one hands piece i to the sink (a write into the
  // page cache is a copy of its own): the two overlap, so a file takes little more than its write.
  // The sink runs on this thread only; a throw from either side stops both before it propagates.
  // Four pieces in flight; the ring is left uninitialised, so that its pages are first touched by
  // the gatherer, off the writer's path.
  constexpr int buffers = 4;
  const std::unique_ptr<std::byte[]> ring = std::make_unique_for_overwrite<std::byte[]>(piece_bytes * buffers);
  std::vector<std::size_t> filled(buffers, 0);
  std::mutex mutex;
  std::condition_variable changed;
  std::int64_t gathered = 0, handed = 0;  // pieces done by each side
  bool stop = false;
  std::exception_ptr gather_error;
  std::thread gatherer([&] {
    try {
      for (std::int64_t i = 0; i < c.count; ++i) {
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [&] { return stop || i - handed < buffers; });
          if (stop) return;
        }
        const std::size_t n = gather_piece(i, ring.get() + std::size_t(i % buffers) * piece_bytes);
        const std::lock_guard<std::mutex> lock(mutex);
        filled[std::size_t(i % buffers)] = n;
        gathered = i + 1;
        changed.notify_all();
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(mutex);
      gather_error = std::current_exception();
      stop = true;
      changed.notify_all();
    }
  });
  const auto finish = [&] {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      stop = true;
      changed.notify_all();
    }
    gatherer.join();
  };
  try {
    for (std::int64_t i = 0; i < c.count; ++i) {
      std::size_t n = 0;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return stop || gathered > i; });
        if (gathered <= i) break;  // the gatherer failed
        n = filled[std::size_t(i % buffers)];
      }
      sink(ring.get() + std::size_t(i % buffers) * piece_bytes, n);
      const std::lock_guard<std::mutex> lock(mutex);
      handed = i + 1;
      changed.notify_all();
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
  if (gather_error) std::rethrow_exception(gather_error);
}

}  // namespace stridecopy::detail
