// host/io/chunked_output.cpp — for_each_piece: a view's C-order bytes in bounded pieces, gathered on
// the CPU for host views and by the staged pipeline (callback sink) for device views.
#include "io/chunked_output.hpp"

#include <algorithm>
#include <vector>

#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "cuda/d2h.hpp"
#include "cuda/runtime.hpp"
#include "dispatch.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy::detail {

void for_each_piece(const plan& p, const void* src, std::size_t max_piece, const piece_sink& sink, cudaStream_t stream) {
  // Host views are taken at their word, as copy_on_host takes them: no CUDA call, no context.
  const checked_source s = check_source(p, src, p.source == memory_kind::device);
  if (p.pat == pattern::empty) return;
  const plan q = narrow_unit(p, alignment_of(s.first));
  if (p.source == memory_kind::device) {
    const device_guard on(s.device >= 0 ? s.device : current_device());
    if (is_capturing(stream))
      throw invalid_view("writing a device view to a file waits for its chunks, which a capturing stream cannot do");
    staged_sink to_sink;
    to_sink.what = staged_sink::kind::callback;
    to_sink.callback = &sink;
    return run_staged(q, s.first, stream, to_sink);
  }
  // A contiguous view needs no gather: hand out its own bytes.
  if (q.pat == pattern::contiguous) {
    for (std::size_t at = 0; at < q.bytes; at += max_piece) sink(s.first + at, std::min(max_piece, q.bytes - at));
    return;
  }
  const chunking c = chunk_output(q, std::max<std::size_t>(max_piece, std::size_t(q.type.itemsize)));
  std::vector<std::byte> piece(std::size_t(c.chunk_units) * std::size_t(q.unit));
  for (std::int64_t i = 0; i < c.count; ++i) {
    const std::int64_t first = i * c.chunk_units, count = std::min(c.chunk_units, q.units() - first);
    gather_range(q, s.first, first, count, piece.data());
    sink(piece.data(), std::size_t(count) * std::size_t(q.unit));
  }
}

}  // namespace stridecopy::detail
