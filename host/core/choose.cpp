// host/core/choose.cpp — the strategy chooser: which strategy runs for a plan and a call's facts.
#include "core/choose.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include "stridecopy/error.hpp"

namespace stridecopy {

const char* to_string(strategy s) {
  switch (s) {
    case strategy::none: return "none";
    case strategy::cpu: return "cpu";
    case strategy::dma: return "dma";
    case strategy::staged: return "staged";
    case strategy::direct: return "direct";
  }
  return "?";
}

namespace detail {

namespace {

/// Contiguous runs on both sides: the source's inner stride +1, and the destination's too where it
/// is strided.
bool has_runs(const plan& p) {
  return p.walk.rank == 0 ||
         (p.walk.inner_stride() == 1 && (!p.walk.scatter || p.walk.dst_stride[p.walk.rank - 1] == 1));
}
std::int64_t run_count(const plan& p) { return p.walk.rank == 0 ? 1 : p.units() / p.walk.inner_extent(); }

[[noreturn]] void cannot(strategy s, const std::string& why) {
  throw invalid_view(std::string("strategy ") + to_string(s) + " cannot run: " + why);
}

strategy host_to_host(std::optional<strategy> forced) {
  if (forced && *forced != strategy::cpu)
    cannot(*forced, "both sides are host memory, which only the CPU copies (strategy cpu)");
  return strategy::cpu;
}

strategy device_to_device(const plan& p, std::optional<strategy> asked) {
  const bool one_run = p.walk.pattern == pattern::contiguous && !p.walk.scatter;
  if (!asked) return one_run ? strategy::dma : strategy::direct;
  const strategy forced = *asked;
  switch (forced) {
    case strategy::dma:
      if (!one_run)
        cannot(forced,
               "a device-to-device copy engine transfer needs a contiguous view into a contiguous "
               "destination (this one is " +
                   std::string(to_string(p.walk.pattern)) + (p.walk.scatter ? ", into a strided destination)" : ")"));
      return forced;
    case strategy::direct: return forced;
    default: cannot(forced, "a device-to-device copy runs as dma or direct");
  }
}

/// Host memory on one side, device memory on the other: the same rules both ways, worded for the
/// side the host memory is on (the destination of a device-to-host copy, the source of the reverse).
strategy host_and_device(const plan& p, const copy_facts& f, std::optional<strategy> asked) {
  const bool to_host = is_host(f.destination);
  const bool pinned = (to_host ? f.destination : f.source) == memory_kind::pinned;
  const bool mapped = to_host ? f.destination_mapped : f.source_mapped;
  const std::string side = to_host ? "destination" : "source";
  if (f.capturing && !pinned)
    throw invalid_view(std::string("a copy ") + (to_host ? "into" : "from") +
                       " pageable host memory cannot be captured into a CUDA graph (use a pinned " + side + ")");
  if (asked) {
    const strategy forced = *asked;
    switch (forced) {
      case strategy::dma:
        if (!has_runs(p))
          cannot(forced,
                 p.walk.inner_stride() != 1
                     ? "it copies contiguous runs of the source, but this view's inner stride is " +
                           std::to_string(p.walk.inner_stride()) + " units (pattern " + to_string(p.walk.pattern) + ")"
                     : "it copies contiguous runs into contiguous runs, but the destination's inner stride is " +
                           std::to_string(p.walk.dst_stride[p.walk.rank - 1]) + " units");
        return forced;
      case strategy::direct:
        if (!pinned)
          cannot(forced, std::string("a kernel ") + (to_host ? "writes" : "reads") +
                             " through mapped pinned memory, but the " + side + " is pageable");
        if (!mapped) cannot(forced, "the pinned " + side + " is not mapped for the device");
        return forced;
      case strategy::staged:
        if (f.capturing)
          cannot(forced, std::string(to_host ? "its ring and events" : "its ring, events and host functions") +
                             " cannot be captured into a CUDA graph (a pinned, mapped " + side + " is " +
                             (to_host ? "copied" : "read") + " directly)");
        return forced;
      default:
        cannot(forced, std::string("a ") + (to_host ? "device-to-host" : "host-to-device") +
                           " copy runs as dma, staged or direct");
    }
  }
  // Pageable memory cannot be reached by a kernel or copied asynchronously, and is never pinned
  // behind the caller's back: it goes through pinned slots (host to device: the CPU gathers into them).
  if (!pinned) return strategy::staged;
  if (p.walk.pattern == pattern::contiguous && !p.walk.scatter) return strategy::dma;
  if ((p.walk.pattern == pattern::long_runs || (p.walk.pattern == pattern::contiguous && p.walk.scatter)) &&
      has_runs(p) && run_count(p) <= transfer_policy::dma_max_runs)
    return strategy::dma;
  if (mapped && (f.capturing || p.bytes <= transfer_policy::direct_max_bytes)) return strategy::direct;
  if (f.capturing) {
    if (has_runs(p)) return strategy::dma;  // one copy per run: capturable
    throw invalid_view("this copy cannot be captured into a CUDA graph: the pinned " + side +
                       " is not mapped for the device, and the view has no contiguous runs");
  }
  return strategy::staged;
}

}  // namespace

strategy choose(const plan& p, const copy_facts& f, std::optional<strategy> forced) {
  if (forced == strategy::none) cannot(strategy::none, "it is what an empty copy reports, not a way to copy");
  if (p.bytes == 0) return strategy::none;
  const bool from_host = is_host(f.source), to_host = is_host(f.destination);
  if (from_host && to_host) return host_to_host(forced);
  if (!from_host && !to_host) return device_to_device(p, forced);
  return host_and_device(p, f, forced);
}

std::optional<strategy> strategy_from_environment() {
  const char* env = std::getenv("STRIDECOPY_STRATEGY");
  if (!env || !*env) return std::nullopt;
  const std::string_view s(env);
  for (const strategy k : {strategy::dma, strategy::staged, strategy::direct})
    if (s == to_string(k)) return k;
  if (s == "automatic" || s == "auto") return std::nullopt;
  throw invalid_argument("STRIDECOPY_STRATEGY=\"" + std::string(s) + "\": expected dma, staged, direct or automatic");
}

std::size_t staged_chunk_bytes(const plan& p) {
  return std::clamp(p.bytes / 4, transfer_policy::min_chunk_bytes, transfer_policy::max_chunk_bytes);
}

}  // namespace detail
}  // namespace stridecopy
