// host/dispatch.hpp — the front door's internals (internal): the checks of one call's pointers and
// the dispatch of a checked plan to its executor. copy.cpp defines them; the .npy writer and the
// tests use them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/choose.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/plan.hpp"
#include "stridecopy/stream.hpp"

namespace stridecopy::detail {

/// Which side gathers a staged host-to-device copy.
enum class h2d_gather : std::uint8_t {
  automatic,  ///< the device where the source is pinned and its chunks' spans fit, else the CPU
  cpu,        ///< the CPU, into pinned host slots
  device,     ///< the gather kernels, from device slots (pinned sources only)
};

/// Knobs for tests and benchmarks; the public API uses the defaults.
struct exec_options {
  bool force_index64 = false;  ///< run 64-bit-index kernels even where 32 bits suffice
  bool blocking = false;       ///< the caller waits for the copy (copy, to_host, ...)
  /// strategy::cpu asked for: no stream, no CUDA call at all (the view's word on its memory is taken), so a
  /// CPU copy never creates a CUDA context.
  bool cpu_only = false;
  /// Which side gathers a staged host-to-device copy (benchmarks measure both).
  h2d_gather staged_gather = h2d_gather::automatic;
};

/// The source of one call, checked: the first element's address and the memory it is in.
struct checked_source {
  const std::byte* first = nullptr;
  memory_kind kind = memory_kind::pageable;  ///< measured where CUDA can tell, else the plan's word
  int device = -1;                           ///< device memory: its device
};
/// Checks the source of plan p at base `src`: not null (unless the view is empty), no address-space
/// wrap, and memory of the kind the plan says (host or device) where CUDA can tell. Throws
/// invalid_view naming the fault, cuda_error when the plan needs a device and none is present.
checked_source check_source(const plan& p, const void* src, bool measure = true);

/// The destination of one call, checked: where the walk's first element lies and the memory it is in.
struct checked_destination {
  std::byte* first = nullptr;
  memory_kind kind = memory_kind::pageable;  ///< measured where CUDA can tell, else the plan's word
  int device = -1;
};
/// `dst_bytes` for a destination that is a view: no count of bytes from its pointer to hold the walk
/// to (its own layout says what it writes; make_plan checked it against its allocation).
inline constexpr std::size_t unbounded = ~std::size_t(0);
/// Checks the destination of plan p at base `dst`: the walk inside [dst, dst + dst_bytes) (unless
/// `unbounded`), not null, no address-space wrap, and memory of the kind the plan says where CUDA can
/// tell. Throws invalid_view naming the fault.
checked_destination check_destination(const plan& p, void* dst, std::size_t dst_bytes, bool measure = true);

/// copy_async with the test knobs: every check, then the chosen executor. Returns what ran.
strategy execute(const plan& p, const void* src, void* dst, std::size_t dst_bytes, stream_handle stream,
                 const copy_options& options, const exec_options& exec = {});

/// copy_async(pairs) with the test knobs.
void run_batch(std::span<const copy_pair> pairs, stream_handle stream, const copy_options& options,
               const exec_options& exec = {});

// ---- between the front door (copy.cpp) and the device's executor (cuda/device_copy.cpp)

/// How a copy's two sides share memory: not at all, as the very same elements (nothing to do), or
/// in part — then the copy goes through a temporary, as NumPy's does. When both walk alike (the same
/// strides: a shift within one array), chunk by chunk in the order that reads each byte before the
/// copy overwrites it (`forward`: from the first unit on), so the temporary is one chunk.
struct overlap {
  enum class kind : std::uint8_t { none, identical, partial } what = kind::none;
  bool same_walk = false;
  bool forward = true;
};

/// One copy, checked and chosen: what its executor needs.
struct prepared_copy {
  plan p;  ///< host to host: narrowed to the pointers' alignment
  checked_source source;
  checked_destination target;
  copy_facts facts;
  overlap o;
  strategy how = strategy::none;         ///< none: nothing to do (empty, or the very same elements)
  int device = -1;                       ///< the device whose kernels and copies run; -1 for host to host
  const std::byte* src_alias = nullptr;  ///< device aliases of mapped pinned memory
  std::byte* dst_alias = nullptr;
  bool host_only = false;
};

/// Host-to-host copies that one CPU job runs, one after another.
struct cpu_item {
  plan p;
  const std::byte* src;
  std::byte* dst;
  int threads;
  overlap o;
};
struct cpu_job {
  std::vector<cpu_item> items;
  void run() const;  // copy.cpp
};

/// Queues `job` on `stream` (a host function, or a node of the graph the stream captures), to run
/// after the work enqueued before it; the queue owns it from then on. Needs a device.
void enqueue_cpu_job(std::unique_ptr<cpu_job> job, stream_handle stream);

/// Enqueues a prepared copy that involves a device (not host_only, how not none) on `stream`, with
/// its device current; waits for it where exec.blocking. On a failure, waits for what was enqueued
/// before rethrowing. Returns c.how.
strategy run_device_copy(const prepared_copy& c, stream_handle stream, const copy_options& options,
                         const exec_options& exec);

/// The device copies of one batch group (copy-engine runs by direction, direct kernels), enqueued
/// together by flush().
class device_batch {
 public:
  device_batch();
  ~device_batch();
  device_batch(const device_batch&) = delete;
  device_batch& operator=(const device_batch&) = delete;
  device_batch(device_batch&&) = delete;
  device_batch& operator=(device_batch&&) = delete;
  /// Adds c (how dma or direct, no partial overlap).
  void add(const prepared_copy& c, const exec_options& exec);
  /// Enqueues everything added on `stream`, and empties the batch.
  void flush(stream_handle stream);

 private:
  struct parts;
  std::unique_ptr<parts> parts_;  ///< made at the first add: a host-only batch makes none
};

/// Takes consecutive pieces of a view's C-order bytes (the .npy writer's file).
using piece_sink = std::function<void(const void*, std::size_t)>;

/// Hands the C-order bytes of plan q's device view (its source checked: s) to `sink`, one staging
/// chunk at a time through pinned slots, in order, on this thread; returns when all are handed.
/// Refuses a capturing stream (it waits for its chunks) before any work.
void device_view_to_sink(const plan& q, const checked_source& s, const piece_sink& sink, stream_handle stream);

}  // namespace stridecopy::detail
