// host/cuda/h2d_schedule.hpp — the pure decisions of a host-to-device copy whose gather runs on the
// device (internal, plain C++, tested on the CPU): which bytes of the source each output chunk reads,
// so that only those cross the link into a bounded device slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

/// The bytes, relative to the first element, that output units [first, first + count) of p read:
/// [begin, end). Exact for whole rows of the inner dim (a partial row counts whole), O(rank^2).
struct byte_span {
  std::int64_t begin = 0, end = 0;
  [[nodiscard]] std::int64_t bytes() const { return end - begin; }
};
byte_span output_range_span(const plan& p, std::int64_t first, std::int64_t count);

/// One chunk of a device-gather copy: output units [first, first + count), reading source bytes
/// `span` (relative to the first element), which go to a device slot before the gather.
struct h2d_chunk {
  std::int64_t first = 0, count = 0;
  byte_span span;
};
struct h2d_schedule {
  std::vector<h2d_chunk> chunks;  ///< empty: the device gather does not fit (see below)
  std::size_t slot_bytes = 0;     ///< the largest span, rounded up to 16 bytes
  std::int64_t sent_bytes = 0;    ///< what crosses the link: the spans' sum
};
/// The chunks of p (output chunks of about chunk_bytes, whole rows), or none when a chunk's span is
/// more than max_slot_bytes or the spans add up to more than `max_traffic` times the output: then
/// the CPU gathers into pinned slots instead, sending the output's bytes alone.
h2d_schedule device_gather_schedule(const plan& p, std::size_t chunk_bytes, std::size_t max_slot_bytes,
                                    double max_traffic);

}  // namespace stridecopy::detail
