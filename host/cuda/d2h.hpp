// host/cuda/d2h.hpp — the device-to-host staged pipeline (internal): gather into a bounded device ring
// while the copy engine drains it, with its sinks. It executes only: the front door has checked and
// chosen.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Where the staged pipeline delivers each chunk of output.
struct staged_sink {
  enum class kind {
    pinned,    ///< the copy engine writes the destination (pinned host memory) directly
    callback,  ///< via a pinned host slot, handed to `callback(bytes, n)` on this thread, in order
  };
  kind what = kind::pinned;
  std::byte* dst = nullptr;  ///< pinned: the whole output's destination
  const std::function<void(const void*, std::size_t)>* callback = nullptr;
};

/// Gathers p chunk by chunk (each at most staged_chunk_bytes) into the ring of `stream` and delivers
/// the chunks to `sink`, overlapped. For the pinned sink `stream` waits for the last delivery and
/// the call returns at once; the callback sink returns once every chunk is handed over.
/// On a failure nothing it enqueued is left running.
void run_staged(const plan& p, const std::byte* src, cudaStream_t stream, const staged_sink& sink,
                bool force_index64 = false);

}  // namespace stridecopy::detail
