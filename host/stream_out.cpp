// host/stream_out.cpp — stream_c_order: a view's C-order bytes in bounded pieces, for save_npy.
#include "stream_out.hpp"

#include <algorithm>
#include <vector>

#include "d2h_executor.hpp"
#include "host_executor.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy::detail {

void stream_c_order(const view& v, std::size_t max_piece, const std::function<void(const void*, std::size_t)>& sink,
                    cuda::stream_ref stream) {
  const plan p = make_plan(v);
  if (p.pat == pattern::empty) return;
  // Device views stream through pinned staging slots (chunks of at most d2h_policy::max_chunk_bytes).
  if (p.space == memory_space::device) return stream_device_to_host(p, stream.get(), sink);
  // A contiguous view needs no gather: hand out its own bytes.
  if (p.pat == pattern::contiguous) {
    for (std::size_t at = 0; at < p.bytes; at += max_piece) sink(p.src + at, std::min(max_piece, p.bytes - at));
    return;
  }
  const chunking c = split(p, std::max<std::size_t>(max_piece, std::size_t(p.type.itemsize)));
  std::vector<std::byte> piece(std::size_t(c.chunk_units) * std::size_t(p.unit));
  for (std::int64_t i = 0; i < c.count; ++i) {
    const std::int64_t first = i * c.chunk_units, count = std::min(c.chunk_units, p.units() - first);
    gather_host_range(p, first, count, piece.data());
    sink(piece.data(), std::size_t(count) * std::size_t(p.unit));
  }
}

}  // namespace stridecopy::detail
