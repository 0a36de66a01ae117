// host/cuda/h2d.hpp — the host-to-device staged pipeline (internal), in its two forms: the CPU gathers
// output chunks into pinned slots that the copy engine sends (any view, pageable sources included;
// a driven copy, cuda/driven.hpp), or the copy engine sends the source bytes each chunk reads into a
// device slot and the gather kernels write the destination (pinned sources, dense views). It
// executes only: the front door has checked and chosen.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/h2d_schedule.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// The device-gather schedule of p when the device may gather it (pinned source, every chunk's
/// span within a slot, at most 1.25x the output's bytes sent), else none.
h2d_schedule device_gather_plan(const plan& p);

/// Copies plan p from pinned host memory at `src` (the first element) into device memory `dst` (the
/// output's first element, or for a strided destination its walk's),
/// staged with the gather on the device by `schedule` (device_gather_plan, not empty), in stream
/// order on `stream`; returns without waiting.
void run_device_gather_h2d(const plan& p, const std::byte* src, std::byte* dst, cudaStream_t stream,
                           const h2d_schedule& schedule, bool force_index64 = false);

}  // namespace stridecopy::detail
