// host/dispatch.hpp — the front door's internals (internal): the checks of one call's pointers and
// the dispatch of a checked plan to its executor. copy.cpp defines them; the .npy writer and the
// tests use them.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <span>

#include "cuda/h2d.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

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
strategy execute(const plan& p, const void* src, void* dst, std::size_t dst_bytes, cudaStream_t stream,
                 const copy_options& options, const exec_options& exec = {});

/// copy_async(pairs) with the test knobs.
void run_batch(std::span<const copy_pair> pairs, cudaStream_t stream, const copy_options& options,
               const exec_options& exec = {});

}  // namespace stridecopy::detail
