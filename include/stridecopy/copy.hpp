// stridecopy/copy.hpp — the copies: any strided view into any writable view (or a contiguous C-order
// buffer), host or device memory on either side, on the CPU or the GPU. Every function checks
// everything before any work: a throw leaves the destination untouched.
#pragma once

#include <cstddef>
#include <span>

#include "stridecopy/device_array.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/options.hpp"
#include "stridecopy/plan.hpp"
#include "stridecopy/stream.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy {

/// True when a CUDA driver and at least one device are present.
bool cuda_available() noexcept;

// ---- plans, reused

/// Copies the C-order elements of plan p's view from the allocation at `src` (the base the plan's
/// view was made from: see plan::origin) into `dst` (dst_bytes long), on `stream`. Returns without
/// waiting, also when earlier work on the stream has not started: the bytes are in `dst` once
/// `stream` reaches this point. The source is read and the destination written in stream order:
/// work queued before the call that writes a host source is seen, and a host source must stay valid
/// and unchanged until the stream has passed this point (unlike cudaMemcpyAsync, which copies a
/// pageable source out before returning). A host-to-host plan with a CUDA device present runs on the
/// CPU in stream order (a host function); without a device it runs before returning. Pageable memory
/// moves on a library thread; a failure there after this call has returned is thrown by the next
/// such call on the stream. The stream must belong to the device of the copy (where its device
/// memory is). Captures into a CUDA graph as README.md says (dma, direct, device to device, host to
/// host); what cannot be captured throws invalid_view before any work. Every check (pointers, sizes,
/// overlap, memory kinds) happens before anything is enqueued. Returns the strategy that ran. Throws
/// invalid_view for bad input, cuda_error (naming the call) when CUDA fails.
strategy copy_async(const plan& p, const void* src, void* dst, std::size_t dst_bytes, stream_ref stream = {},
                    const copy_options& options = {});
/// copy_async, then waits until the copy is complete, on the copy's device. Refuses a stream that is
/// capturing a graph (invalid_argument), before any work.
strategy copy(const plan& p, const void* src, void* dst, std::size_t dst_bytes, stream_ref stream = {},
              const copy_options& options = {});

// ---- one copy call: any view into any view

/// Copies `src` into `dst` as np.copyto(dst, src, casting="no") does: src is broadcast to dst's shape
/// (NumPy's rules; src's leading dims of extent 1 beyond dst's rank are dropped, as NumPy's
/// assignment drops them), the dtypes must be equal, every element of dst is written once (a destination
/// that would write an element twice — a zero stride, or strides that alias — is refused), and views
/// that overlap in memory give the result of copying through a temporary (one of a chunk's size
/// where both walk alike, a shift within one array; the same view on both sides is left as it is).
/// That is NumPy's result too, except in one dimension with steps of one sign and different sizes,
/// where NumPy's loop reads elements it has already written. Either
/// side may be pageable or pinned host memory or device memory, as its view says (checked where CUDA
/// can tell); direction, strategy and kernels follow from the two views (see strategy). The walk
/// follows dst's memory order. Returns without waiting, as copy_async(plan, ...) does; the same
/// stream rules hold (both views' memory is read and written in stream order). strategy::cpu forced
/// takes both views' word that they are host memory and makes no CUDA call. Throws invalid_view for
/// views that cannot be copied (before any work: dst untouched), cuda_error when CUDA fails.
strategy copy_async(const view& src, const mutable_view& dst, stream_ref stream = {}, const copy_options& options = {});
/// copy_async(src, dst), then waits until the copy is complete (refuses a capturing stream).
strategy copy(const view& src, const mutable_view& dst, stream_ref stream = {}, const copy_options& options = {});

/// Copies the C-order elements of `src` into the contiguous destination `dst` (dst_bytes long), host
/// or device memory (cudaPointerGetAttributes says which where CUDA is present; host memory
/// otherwise), as copy_async(src, dst view) does: the form for a buffer of bytes (a pinned block, a
/// cudaMalloc allocation, a std::vector). strategy::cpu forced copies host to host without a CUDA
/// call, on options.threads threads.
strategy copy_async(const view& src, void* dst, std::size_t dst_bytes, stream_ref stream = {},
                    const copy_options& options = {});
/// copy_async(src, dst, dst_bytes), then waits until the copy is complete (refuses a capturing stream).
strategy copy(const view& src, void* dst, std::size_t dst_bytes, stream_ref stream = {},
              const copy_options& options = {});

/// One copy of a batch.
struct copy_pair {
  view src;
  mutable_view dst;
};
/// Copies each pair as copy_async(src, dst) does, in one call, on `stream`, with the result of
/// running the pairs one after another (a pair reads what an earlier pair of the batch wrote). Every
/// pair is checked before any work (an error names its pair, and no destination is touched); the
/// pairs' device memory must all be on one device, the stream's. Pairs that do not touch each
/// other's memory run together: the kernels of every pair of one kernel family in one launch,
/// copy-engine runs of one direction in one cudaMemcpyBatchAsync, host-to-host pairs in one CPU
/// job; a pair that depends on an earlier one starts a new group. Staged copies (pageable memory,
/// large transfers) run one by one, in order. Returns without waiting, as copy_async does.
void copy_async(std::span<const copy_pair> pairs, stream_ref stream = {}, const copy_options& options = {});
/// copy_async(pairs), then waits until every copy is complete (refuses a capturing stream).
void copy(std::span<const copy_pair> pairs, stream_ref stream = {}, const copy_options& options = {});

// ---- one-shot copies of a view

/// The view's elements in a new C-order device_array, allocated and filled on `stream` (stream-ordered
/// allocation, freed in stream order): on the view's device for a device view, else on the current
/// device. Returns without waiting: the bytes are there once `stream` reaches this point, and the
/// view's memory must stay valid until then. Throws cuda_error when no device is present, and
/// invalid_argument for a capturing stream (it allocates), before any work.
device_array to_device(const view& v, stream_ref stream = {}, const copy_options& options = {});

/// The view's elements in a new C-order host_array (pinned, from a caching pool, where a CUDA driver
/// is present), complete when this returns (refuses a capturing stream).
host_array to_host(const view& v, stream_ref stream = {}, const copy_options& options = {});

/// Frees the cached staging rings nobody is using (device scratch, pinned slots, streams, events)
/// and the cached pinned blocks of the pinned pool, waiting for the work that still uses released
/// ones. Without it, idle rings keep at most 128 MiB of device and of pinned memory in all.
void release_cached_memory();

}  // namespace stridecopy
