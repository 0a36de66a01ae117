// stridecopy/copy.hpp — the copies: any strided view into a contiguous C-order destination, on the
// CPU or the GPU, in either direction. Every function checks everything before any work: a throw
// leaves the destination untouched.
#pragma once

#include <cstddef>

#include <cuda/stream_ref>

#include "stridecopy/device_array.hpp"
#include "stridecopy/pinned_buffer.hpp"
#include "stridecopy/plan.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy {

/// How a copy moves its bytes. Asked for through copy_options (or STRIDECOPY_STRATEGY); every copy
/// returns the one that ran.
enum class strategy : std::uint8_t {
  automatic,  ///< asked: let the chooser decide (never returned)
  none,       ///< ran: nothing to copy (the view is empty)
  cpu,        ///< ran: a gather on the CPU (host source, host destination)
  dma,        ///< the copy engine moves the view's contiguous runs as they are; no kernel, no scratch
  staged,     ///< gather kernels fill a bounded device ring that the copy engine drains, overlapped
  direct,     ///< gather kernels write the destination itself (device memory, or mapped pinned memory)
};
const char* to_string(strategy s);

struct copy_options {
  /// `automatic` unless forced; the environment variable STRIDECOPY_STRATEGY=dma|staged|direct
  /// forces one for the copies between host and device memory that do not ask here. A forced
  /// strategy that cannot run throws invalid_view naming why.
  strategy how = strategy::automatic;
  /// The most threads a CPU copy (or the CPU gather of a host-to-device copy) may use, 1 to
  /// max_cpu_threads; 0: get_num_threads(). Copies below 4 MiB run on the calling thread alone.
  int threads = 0;
};

/// The most threads a CPU copy may ask for.
inline constexpr int max_cpu_threads = 1024;

/// Sets the threads CPU copies may use when they do not ask (copy_options::threads == 0), for the
/// whole process, as torch.set_num_threads does; 0 restores the default. The default is the number
/// of CPUs in the calling thread's affinity mask (sched_getaffinity: a container given one CPU copies
/// on one thread), at most OMP_NUM_THREADS when that is set (read once, at the first large copy).
/// A copy's team is the calling thread plus pool workers that sleep while idle; it is never larger
/// than the pieces the copy is cut into. Throws invalid_argument outside 0..max_cpu_threads.
void set_num_threads(int n);
/// The threads a CPU copy that does not ask may use: the setting, or the default described above.
int get_num_threads();

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
strategy copy_async(const plan& p, const void* src, void* dst, std::size_t dst_bytes,
                    cuda::stream_ref stream = cudaStream_t{}, const copy_options& options = {});
/// copy_async, then waits until the copy is complete, on the copy's device. Refuses a stream that is
/// capturing a graph (invalid_argument), before any work.
strategy copy(const plan& p, const void* src, void* dst, std::size_t dst_bytes, cuda::stream_ref stream = cudaStream_t{},
              const copy_options& options = {});

// ---- one-shot copies of a view

/// Copies the C-order elements of a host view into host memory `dst` on the CPU, before
/// returning. Needs no GPU and no CUDA driver. `threads` as copy_options::threads; anything else
/// throws invalid_argument.
void copy_on_host(const view& v, void* dst, std::size_t dst_bytes, int threads = 0);

/// Copies the C-order elements of a view into host memory `dst`, on `stream`, as copy_async does.
/// Device views use the strategies above (pinned destinations are the fast path; pageable ones go
/// through pinned slots); host views are gathered on the CPU in stream order.
strategy copy_to_host_async(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream = cudaStream_t{},
                            const copy_options& options = {});
/// copy_to_host_async, then waits until the copy is complete (refuses a capturing stream).
strategy copy_to_host(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream = cudaStream_t{},
                      const copy_options& options = {});

/// Copies the C-order elements of a view into device memory `dst`, on `stream`. A device view is
/// gathered by the kernels (or moved by one copy-engine transfer when it is contiguous) on the
/// device that owns it. A host view goes one of three ways: dma (the contiguous runs of a pinned
/// source), staged (the CPU gathers chunks into pinned slots that the copy engine sends, or, for a
/// pinned source, the copy engine sends the bytes each chunk reads into a bounded device slot and the
/// kernels gather from there), or direct (the kernels read mapped pinned memory: small copies). A
/// pageable source is never pinned behind the caller's back: it is gathered into pinned slots. As
/// copy_async: the source is read in stream order, and must stay valid and unchanged until `stream`
/// has passed this point.
strategy copy_to_device_async(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream = cudaStream_t{},
                              const copy_options& options = {});
/// copy_to_device_async, then waits until the copy is complete (refuses a capturing stream).
strategy copy_to_device(const view& v, void* dst, std::size_t dst_bytes, cuda::stream_ref stream = cudaStream_t{},
                        const copy_options& options = {});

/// The view's elements in a new C-order device_array, allocated and filled on `stream` (stream-ordered
/// allocation, freed in stream order): on the view's device for a device view, else on the current
/// device. Returns without waiting: the bytes are there once `stream` reaches this point, and the
/// view's memory must stay valid until then. Throws cuda_error when no device is present, and
/// invalid_argument for a capturing stream (it allocates), before any work.
device_array to_device(const view& v, cuda::stream_ref stream = cudaStream_t{}, const copy_options& options = {});

/// The view's elements in a new C-order host_array (pinned, from a caching pool, where a CUDA driver
/// is present), complete when this returns (refuses a capturing stream).
host_array to_host(const view& v, cuda::stream_ref stream = cudaStream_t{}, const copy_options& options = {});

/// Frees the cached staging rings nobody is using (device scratch, pinned slots, streams, events)
/// and the cached pinned blocks of the pinned pool, waiting for the work that still uses released
/// ones. Without it, idle rings keep at most 128 MiB of device and of pinned memory in all.
void release_cached_memory();

}  // namespace stridecopy
