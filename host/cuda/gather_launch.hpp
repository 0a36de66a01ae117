// host/cuda/gather_launch.hpp — enqueueing the gather kernels of a plan on a stream (internal).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <typeindex>
#include <utility>
#include <vector>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// Enqueues the gather kernels writing output units [first, first + count) of p to `dst` on the
/// current device; `src` is the view's first element (device memory, or a mapped alias), `dst` is
/// unit-aligned and receives unit `first` at its start — or, for a plan whose destination is strided
/// (walk::scatter), is the destination walk's first element. No checks: the front door validates first. A launch
/// failure throws cuda_error naming this launch, never an earlier failure of the thread.
void enqueue_gather(const plan& p, const std::byte* src, std::int64_t first, std::int64_t count, void* dst,
                    cudaStream_t stream, bool force_index64 = false);

/// The gathers of many plans, launched together: every op of one kernel family (unit, pattern) in
/// one launch of a batch_op, up to its capacity. Plans that need 64-bit indexes (copies of 2^30
/// units or more, never small) launch one by one, as enqueue_gather runs them: batches are
/// instantiated for 32-bit indexes only, which halves the kernels they add to the build.
/// The plans' copies must not depend on each other (no destination overlapping another pair's
/// source or destination): a batch runs their blocks in any order.
class gather_batch {
 public:
  gather_batch();
  ~gather_batch();
  gather_batch(const gather_batch&) = delete;
  gather_batch& operator=(const gather_batch&) = delete;

  /// Adds the whole of plan p, as enqueue_gather(p, src, 0, p.units(), dst, ...) would run it.
  void add(const plan& p, const std::byte* src, void* dst, bool force_index64 = false);
  /// Enqueues every op added since the last launch on `stream` (the current device's), and forgets
  /// them. Returns the number of launches.
  int launch(cudaStream_t stream);
  [[nodiscard]] bool empty() const;

  /// The ops of one family (defined in gather_batch.cu).
  struct family {
    virtual ~family() = default;
    virtual int launch(cudaStream_t stream) = 0;
    virtual bool empty() const = 0;
  };

 private:
  std::vector<std::pair<std::type_index, std::unique_ptr<family>>> families_;
  struct single {
    plan p;
    const std::byte* src;
    void* dst;
  };
  std::vector<single> singles_;  ///< plans with 64-bit indexes
};

}  // namespace stridecopy::detail
