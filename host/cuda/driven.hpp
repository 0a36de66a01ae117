// host/cuda/driven.hpp — staged copies whose host side runs on a library thread (internal): the
// bytes pageable memory sends or receives, and the CPU gathers of host-to-device copies, move on
// that thread, which follows the copy engine by events and queues the next chunks itself. No CUDA
// host function does that work: the caller's stream waits at one host function that only blocks
// until the thread is done with the copy.
#pragma once

#include <cuda_runtime_api.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

enum class driven_direction {
  to_host,    ///< a device view into host memory the CPU writes (pageable)
  from_host,  ///< a host view gathered by the CPU into pinned slots, then sent to device memory
};

/// How a driven copy ended, for a caller that waits for it.
class driven_status {
 public:
  /// Blocks until the library thread is done with the copy.
  void wait();
  /// After wait(): the failure, or nullptr.
  [[nodiscard]] std::exception_ptr failure();
  /// The library thread: done, with `failure` or nullptr.
  void finish(std::exception_ptr failure);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool finished_ = false;
  std::exception_ptr failure_;
};

/// Queues a driven copy of plan p from `src` (the first element) into `dst` on `stream`: it starts
/// after the work already queued there, and the stream's later work waits until it is complete.
/// Returns at once. `threads`: the CPU gather's team (0: from the chunk size). A failure after
/// the call has returned is reported by the next driven copy on the stream, as CUDA reports errors
/// of asynchronous work, unless `caller_waits`: then the caller, which waits for the stream, reports
/// it (through the returned status).
std::shared_ptr<driven_status> drive(driven_direction d, const plan& p, const std::byte* src, std::byte* dst,
                                     cudaStream_t stream, int threads, bool force_index64, bool caller_waits);

/// How many driven copies the library's threads have finished (done with their work, before the
/// held stream is let go) since the process started: tests watch the work go on.
std::uint64_t driven_copies_finished();

}  // namespace stridecopy::detail
