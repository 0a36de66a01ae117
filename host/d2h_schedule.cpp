// host/d2h_schedule.cpp — strategy choice, staged chunks and DMA runs for device-to-host copies.
#include "d2h_schedule.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "kernel_ops_shape.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {

const char* to_string(strategy s) {
  switch (s) {
    case strategy::automatic: return "automatic";
    case strategy::dma: return "dma";
    case strategy::staged: return "staged";
    case strategy::direct: return "direct";
  }
  return "?";
}

namespace detail {

namespace {
bool has_runs(const plan& p) { return p.rank == 0 || p.inner_stride() == 1; }
std::int64_t run_count(const plan& p) { return p.rank == 0 ? 1 : p.units() / p.inner_extent(); }
}  // namespace

strategy choose_strategy(const plan& p, host_memory dst, strategy forced) {
  if (p.pat == pattern::empty) return strategy::dma;
  switch (forced) {
    case strategy::dma:
      if (!has_runs(p))
        throw invalid_view(std::string("strategy dma copies contiguous runs of the source, but this view's inner "
                                       "stride is ") + std::to_string(p.inner_stride()) + " units (pattern " +
                           to_string(p.pat) + ")");
      return strategy::dma;
    case strategy::direct:
      if (dst != host_memory::pinned)
        throw invalid_view("strategy direct writes through mapped pinned memory, but the destination is pageable");
      return strategy::direct;
    case strategy::staged: return strategy::staged;
    case strategy::automatic: break;
  }
  // Pageable memory cannot be written by a kernel or copied into asynchronously: bounce.
  if (dst == host_memory::pageable) return strategy::staged;
  if (p.pat == pattern::contiguous) return strategy::dma;
  if (p.pat == pattern::long_runs && run_count(p) <= d2h_policy::dma_max_runs) return strategy::dma;
  if (p.bytes <= d2h_policy::direct_max_bytes) return strategy::direct;
  return strategy::staged;
}

strategy strategy_from_environment() {
  const char* env = std::getenv("STRIDECOPY_STRATEGY");
  if (!env || !*env) return strategy::automatic;
  const std::string_view s(env);
  if (s == "dma") return strategy::dma;
  if (s == "staged") return strategy::staged;
  if (s == "direct") return strategy::direct;
  if (s == "automatic" || s == "auto") return strategy::automatic;
  throw invalid_view("STRIDECOPY_STRATEGY=\"" + std::string(s) + "\": expected dma, staged, direct or automatic");
}

std::size_t staged_chunk_bytes(const plan& p) {
  return std::clamp(p.bytes / 4, d2h_policy::min_chunk_bytes, d2h_policy::max_chunk_bytes);
}

staged_schedule make_staged_schedule(const plan& p, std::size_t max_chunk_bytes, int slots) {
  staged_schedule s;
  s.slots = std::max(1, slots);
  const std::int64_t units = p.units();
  if (units == 0) return s;
  const std::int64_t max_units = std::max<std::int64_t>(1, std::int64_t(max_chunk_bytes / std::size_t(p.unit)));
  const std::int64_t row = p.pat == pattern::transposed ? transpose_row_units(p) : p.inner_extent();
  const std::int64_t align = row <= max_units ? row : std::max(1, 16 / p.unit);
  const std::int64_t chunk = std::min(units, std::max(align, max_units / align * align));
  s.slot_bytes = std::size_t(chunk) * std::size_t(p.unit);
  for (std::int64_t first = 0, k = 0; first < units; first += chunk, ++k)
    s.chunks.push_back({first, std::min(chunk, units - first), int(k % s.slots), k >= s.slots ? k - s.slots : -1});
  return s;
}

std::vector<dma_run> dma_runs(const plan& p) {
  std::vector<dma_run> runs;
  if (p.pat == pattern::empty) return runs;
  if (p.rank == 0) return {{0, 0, p.bytes}};
  const std::int64_t n = run_count(p), row_bytes = p.inner_extent() * p.unit;
  runs.reserve(std::size_t(n));
  std::int64_t idx[max_plan_rank] = {};
  std::int64_t off = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    runs.push_back({off * p.unit, r * row_bytes, std::size_t(row_bytes)});
    for (int d = p.rank - 2; d >= 0; --d) {  // odometer over the outer dims
      off += p.stride[d];
      if (++idx[d] < p.extent[d]) break;
      off -= idx[d] * p.stride[d];
      idx[d] = 0;
    }
  }
  return runs;
}

dma_2d dma_as_2d(const plan& p) {
  dma_2d d;
  if (p.rank != 2 || p.inner_stride() != 1) return d;
  const std::int64_t width = p.inner_extent() * p.unit, pitch = p.stride[0] * p.unit;
  // Negative or overlapping rows are not a 2D copy; nor are pitches beyond cudaMemcpy2D's limit.
  if (pitch < width || pitch > std::numeric_limits<int>::max()) return d;
  d.possible = true;
  d.src_offset = 0;
  d.src_pitch = std::size_t(pitch);
  d.width = std::size_t(width);
  d.height = std::size_t(p.extent[0]);
  return d;
}

}  // namespace detail
}  // namespace stridecopy
