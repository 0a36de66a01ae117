// host/copy.cpp — the front door: every public copy function. It checks a call's pointers, gathers
// the facts the chooser needs (memory kinds, mapping, capture), chooses once, and hands a checked
// plan to one executor: the CPU's (cpu/) here, the device's through run_device_copy and device_batch
// (cuda/device_copy.cpp). Executors decide nothing. No CUDA header: what it asks of a device goes
// through cuda/runtime.hpp and dispatch.hpp, which a build without CUDA implements too.
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/checked_math.hpp"
#include "core/choose.hpp"
#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "cpu/scatter.hpp"
#include "cpu/thread_pool.hpp"
#include "cuda/runtime.hpp"
#include "dispatch.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {
namespace detail {

namespace {

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

/// The memory behind `p` where CUDA can tell; `claimed` otherwise.
pointer_info measure(const void* p, memory_kind claimed) {
  if (!cuda_available()) return {claimed, -1, nullptr};
  return query_pointer(p);
}

void check_options(const copy_options& o) {
  if (o.how && *o.how > strategy::direct)
    throw invalid_argument("copy_options::how = " + std::to_string(int(*o.how)) + " is not a strategy");
  if (o.how == strategy::none)
    throw invalid_argument(
        "copy_options::how = strategy::none: it is what a copy with nothing to copy returns, not "
        "a way to copy (leave how empty to let the chooser decide)");
}

void check_threads(int threads) {
  if (threads < 0 || threads > max_cpu_threads)
    throw invalid_argument("threads = " + std::to_string(threads) + ": expected 0 (chosen from the size) to " +
                           std::to_string(max_cpu_threads));
}

/// What host memory [lo, hi] (both inclusive, around a walk's first element) is: pinned only if both
/// ends are (a cudaHostRegister range may end inside it), mapped only if the device sees it as one
/// range; then the device address of the walk's first element. Queried on the copy's device, so that
/// the alias is the one its kernels use.
struct host_range {
  memory_kind kind = memory_kind::pageable;
  std::byte* first_alias = nullptr;
};
host_range measure_host_range(const std::byte* first, std::int64_t span_begin, std::int64_t span_end) {
  const std::byte* lo = first + span_begin;
  const std::byte* hi = first + (span_end - 1);
  const pointer_info a = query_pointer(lo), b = query_pointer(hi);
  host_range h;
  if (a.kind != memory_kind::pinned || b.kind != memory_kind::pinned) return h;
  h.kind = memory_kind::pinned;
  if (a.device_alias && b.device_alias &&
      static_cast<std::byte*>(b.device_alias) - static_cast<std::byte*>(a.device_alias) == hi - lo)
    h.first_alias = static_cast<std::byte*>(a.device_alias) - span_begin;
  return h;
}

overlap overlap_of(const plan& p, const std::byte* src, const std::byte* dst) {
  overlap o;
  const std::uintptr_t s = address(src), d = address(dst);
  const std::uintptr_t s_lo = s - (std::uintptr_t(0) - std::uintptr_t(p.walk.span_begin)),
                       s_hi = s + std::uintptr_t(p.walk.span_end);
  const std::uintptr_t d_lo = d + std::uintptr_t(p.walk.dst_span_begin), d_hi = d + std::uintptr_t(p.walk.dst_span_end);
  if (d_hi <= s_lo || s_hi <= d_lo) return o;
  o.same_walk = true;
  for (int i = 0; i < p.walk.rank && o.same_walk; ++i) o.same_walk = p.walk.stride[i] == p.walk.dst_stride[i];
  o.what = o.same_walk && s == d ? overlap::kind::identical : overlap::kind::partial;
  o.forward = s > d;
  return o;
}

/// Output units [first, first + count) of p through the contiguous buffer `tmp` (count units): all of
/// the range read first, then all of it written.
void cpu_through(const plan& gather_half, const plan& scatter_half, const std::byte* src, std::byte* dst,
                 std::int64_t first, std::int64_t count, std::byte* tmp, int threads) {
  gather_range(gather_half, src, first, count, tmp, threads);
  if (scatter_half.walk.scatter) {
    const auto* chunk =
        reinterpret_cast<const std::byte*>(address(tmp) - std::uintptr_t(first * scatter_half.walk.unit));
    copy_range(scatter_half, chunk, dst, first, count);
  } else {
    std::memcpy(dst + first * scatter_half.walk.unit, tmp, std::size_t(count) * std::size_t(scatter_half.walk.unit));
  }
}

/// The CPU's copy of p from the source walk at `src` to the destination at `dst` (its walk's first
/// element): a gather into a contiguous destination, a copy into a strided one, or, where the two
/// overlap, through a temporary.
void cpu_copy(const plan& p, const std::byte* src, std::byte* dst, int threads, const overlap& o) {
  if (o.what == overlap::kind::identical) return;
  if (o.what == overlap::kind::none) {
    if (p.walk.scatter)
      copy_all(p, src, dst, threads);
    else
      gather(p, src, dst, threads);
    return;
  }
  const plan gather_half = into_contiguous(p), scatter_half = from_contiguous(p);
  const std::int64_t chunk = o.same_walk ? chunk_output(p, staged_chunk_bytes(p)).chunk_units : p.units();
  const std::int64_t count = (p.units() + chunk - 1) / chunk;
  std::vector<std::byte> tmp(std::size_t(chunk) * std::size_t(p.walk.unit));
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t k = o.forward ? i : count - 1 - i, first = k * chunk;
    cpu_through(gather_half, scatter_half, src, dst, first, std::min(chunk, p.units() - first), tmp.data(), threads);
  }
}

}  // namespace

void cpu_job::run() const {
  for (const cpu_item& i : items) cpu_copy(i.p, i.src, i.dst, i.threads, i.o);
}

namespace {

/// Runs `job` now (no CUDA: the views' word is taken), or after the stream's earlier work: in stream
/// order for an asynchronous call, after waiting for the stream for a blocking one.
void submit_cpu_job(std::unique_ptr<cpu_job> job, stream_handle stream, const exec_options& exec) {
  if (exec.cpu_only) return job->run();
  if (cuda_available() && !exec.blocking) {
    // In stream order: earlier work on the stream may still be writing the source.
    return enqueue_cpu_job(std::move(job), stream);
  }
  if (cuda_available()) synchronize(stream);
  job->run();
}

strategy run_on_cpu(const plan& p, const std::byte* src, std::byte* dst, stream_handle stream, int threads,
                    const exec_options& exec, const overlap& o) {
  auto job = std::make_unique<cpu_job>();
  job->items.push_back({p, src, dst, team_size(p.bytes, threads), o});
  submit_cpu_job(std::move(job), stream, exec);
  return strategy::cpu;
}

}  // namespace

checked_source check_source(const plan& p, const void* src, bool measure_kind) {
  checked_source s;
  s.kind = p.source;
  if (p.walk.pattern == pattern::empty) return s;
  if (!src)
    throw invalid_view("the source pointer is null but the view has " + std::to_string(p.elements) + " elements");
  // The first element and the span around it, in integers: none may wrap around the address space.
  const std::uintptr_t base = address(src);
  const auto origin = std::uintptr_t(p.origin);
  const std::uintptr_t first = base + origin;
  if (p.origin >= 0 ? first < base : first > base)
    throw invalid_view("the view's first element lies " + std::to_string(p.origin) +
                       " bytes from its source pointer, outside the address space");
  if (p.walk.span_begin < 0 && std::uintptr_t(-(p.walk.span_begin + 1)) >= first)
    throw invalid_view("the view reaches " + std::to_string(std::uint64_t(0) - std::uint64_t(p.walk.span_begin)) +
                       " bytes below its first element, before address 0");
  if (std::uintptr_t(p.walk.span_end) > std::numeric_limits<std::uintptr_t>::max() - first)
    throw invalid_view("the view reaches past the end of the address space");
  s.first = reinterpret_cast<const std::byte*>(first);
  if (p.source == memory_kind::device && !cuda_available()) no_device("a copy from device memory");
  if (!measure_kind) return s;
  const pointer_info info = measure(s.first, p.source);
  if (is_host(p.source) && info.kind == memory_kind::device)
    throw invalid_view("the view says " + std::string(to_string(p.source)) +
                       " memory but its data pointer is device memory (make the view with memory_kind::device)");
  if (p.source == memory_kind::device && info.kind != memory_kind::device)
    throw invalid_view(std::string("the view says device memory but its data pointer is ") + to_string(info.kind) +
                       " memory");
  s.kind = info.kind;
  s.device = info.device;
  return s;
}

checked_destination check_destination(const plan& p, void* dst, std::size_t dst_bytes, bool measure_kind) {
  checked_destination d;
  d.kind = p.destination;
  if (dst_bytes != unbounded && !p.walk.scatter && p.walk.dst_origin == 0 && dst_bytes < p.bytes)
    throw invalid_view("the destination holds " + std::to_string(dst_bytes) + " bytes; the copy needs " +
                       std::to_string(p.bytes));
  if (p.walk.pattern == pattern::empty) return d;
  if (dst_bytes != unbounded) {
    // dst_bytes from `dst`: the bytes the walk writes must lie inside.
    const auto lo = checked_add(p.walk.dst_origin, p.walk.dst_span_begin),
               hi = checked_add(p.walk.dst_origin, p.walk.dst_span_end);
    if (!lo || !hi || *lo < 0 || std::uint64_t(*hi) > dst_bytes)
      throw invalid_view("the destination holds " + std::to_string(dst_bytes) + " bytes; the copy writes bytes [" +
                         (lo ? std::to_string(*lo) : std::string("-inf")) + ", " +
                         (hi ? std::to_string(*hi) : std::string("inf")) + ") of it");
  }
  if (!dst) throw invalid_view("the destination pointer is null");
  const std::uintptr_t base = address(dst);
  const std::uintptr_t first = base + std::uintptr_t(p.walk.dst_origin);
  if (p.walk.dst_origin >= 0 ? first < base : first > base)
    throw invalid_view("the destination's first element lies " + std::to_string(p.walk.dst_origin) +
                       " bytes from its pointer, outside the address space");
  if (std::uintptr_t(p.walk.dst_span_end) > std::numeric_limits<std::uintptr_t>::max() - first)
    throw invalid_view("the destination reaches past the end of the address space");
  d.first = reinterpret_cast<std::byte*>(first);
  if (p.destination == memory_kind::device && !cuda_available()) no_device("a copy into device memory");
  if (!measure_kind) return d;
  const pointer_info info = measure(d.first, p.destination);
  if (is_host(p.destination) && info.kind == memory_kind::device)
    throw invalid_view("the destination is device memory, but the copy was asked to write " +
                       std::string(to_string(p.destination)) + " memory (make its view with memory_kind::device)");
  if (p.destination == memory_kind::device && info.kind != memory_kind::device)
    throw invalid_view(std::string("the destination is ") + to_string(info.kind) +
                       " memory, but the copy was asked to write device memory");
  d.kind = info.kind;
  d.device = info.device;
  return d;
}

namespace {

/// Every check of one copy and the chooser's answer; no work. Throws what execute throws.
prepared_copy prepare(const plan& p, const void* src, void* dst, std::size_t dst_bytes, stream_handle stream,
                      const copy_options& options, const exec_options& exec) {
  check_options(options);
  check_threads(options.threads);
  if (exec.cpu_only)
    for (const auto& [kind, side] : {std::pair{p.source, "source"}, std::pair{p.destination, "destination"}})
      if (kind == memory_kind::device)
        throw invalid_view(std::string("strategy cpu cannot run: the ") + side +
                           " is device memory (the CPU copies host memory only)");
  prepared_copy c;
  c.p = p;
  c.source = check_source(p, src, !exec.cpu_only);
  c.target = check_destination(p, dst, dst_bytes, !exec.cpu_only);
  const bool transfer = is_host(p.source) != is_host(p.destination);
  const std::optional<strategy> forced = options.how ? options.how
                                         : transfer  ? strategy_from_environment()
                                                     : std::nullopt;
  std::byte* const out = c.target.first;

  copy_facts& facts = c.facts;
  facts.source = c.source.kind;
  facts.destination = p.destination;
  c.host_only = is_host(p.source) && is_host(p.destination);
  if (p.bytes == 0) {
    c.how = choose(p, facts, forced);
    return c;
  }
  // Both sides in one memory (host, or one device) may overlap: NumPy's result, as if through a
  // temporary; the very same elements are left as they are.
  const bool one_memory = is_host(c.source.kind) == is_host(c.target.kind) && c.source.device == c.target.device;
  c.o = one_memory ? overlap_of(p, c.source.first, out) : overlap{};
  if (c.host_only) {
    facts.destination = c.target.kind;
    c.how = choose(p, facts, forced);
    // The gather stores into any alignment; a strided destination's stores are whole units.
    const int unit =
        p.walk.scatter ? std::min(alignment_of(c.source.first), alignment_of(out)) : alignment_of(c.source.first);
    c.p = narrow_unit(p, unit);
    if (c.o.what == overlap::kind::identical) c.how = strategy::none;
    return c;
  }
  if (!cuda_available()) no_device("a copy to or from device memory");
  // The device whose kernels and copies run: the source's, else the destination's.
  int device = c.source.device;
  if (p.destination == memory_kind::device) {
    if (device >= 0 && c.target.device >= 0 && device != c.target.device)
      throw invalid_view("the view is on device " + std::to_string(device) + " but the destination on device " +
                         std::to_string(c.target.device));
    if (device < 0) device = c.target.device;
    facts.destination = memory_kind::device;
  }
  const device_guard on(device >= 0 ? device : current_device());
  if (device < 0) device = current_device();
  c.device = device;
  // A stream of another device would fail inside an event record or a launch: say so first.
  if (const int s = stream_device(stream); s != device)
    throw invalid_view("the stream belongs to device " + std::to_string(s) + ", but this copy runs on device " +
                       std::to_string(device) + ", where its device memory is");
  // Device aliases of mapped pinned memory, queried on that device: what a direct kernel uses.
  if (is_host(p.destination)) {
    const host_range h = measure_host_range(out, p.walk.dst_span_begin, p.walk.dst_span_end);
    facts.destination = h.kind;
    facts.destination_mapped = h.first_alias != nullptr;
    c.dst_alias = h.first_alias;
  }
  if (is_host(p.source)) {
    const host_range h = measure_host_range(c.source.first, p.walk.span_begin, p.walk.span_end);
    facts.source = h.kind;
    facts.source_mapped = h.first_alias != nullptr;
    c.src_alias = h.first_alias;
  }
  facts.capturing = is_capturing(stream);
  if (c.o.what == overlap::kind::identical) {
    c.how = strategy::none;
    return c;
  }
  if (c.o.what == overlap::kind::partial && facts.capturing)
    throw invalid_view(
        "the source and the destination overlap: the copy goes through a temporary, which a capturing "
        "stream cannot allocate");
  c.how = c.o.what == overlap::kind::partial ? strategy::direct : choose(p, facts, forced);
  return c;
}

/// Enqueues (or runs) a prepared copy, and waits for it where exec.blocking.
strategy run_prepared(const prepared_copy& c, stream_handle stream, const copy_options& options,
                      const exec_options& exec) {
  if (c.how == strategy::none) return strategy::none;
  if (c.host_only) return run_on_cpu(c.p, c.source.first, c.target.first, stream, options.threads, exec, c.o);
  return run_device_copy(c, stream, options, exec);
}

/// The bytes [lo, hi) one side of a copy touches.
struct byte_range {
  std::uintptr_t lo = 0, hi = 0;
  [[nodiscard]] bool meets(const byte_range& o) const { return lo < o.hi && o.lo < hi; }
};
byte_range source_range(const prepared_copy& c) {
  const std::uintptr_t f = address(c.source.first);
  return {f - (std::uintptr_t(0) - std::uintptr_t(c.p.walk.span_begin)), f + std::uintptr_t(c.p.walk.span_end)};
}
byte_range destination_range(const prepared_copy& c) {
  const std::uintptr_t f = address(c.target.first);
  return {f + std::uintptr_t(c.p.walk.dst_span_begin), f + std::uintptr_t(c.p.walk.dst_span_end)};
}

/// The copies of a batch that run together: independent of each other (no destination meets
/// another copy's source or destination), so one CPU job, one batched copy per direction and one
/// launch per kernel family may run them in any order.
class copy_group {
 public:
  /// Whether c may run inside a group: a CPU copy, a copy-engine copy or a direct kernel of its own
  /// (a staged copy has its ring and pipeline; one through a temporary, its own order).
  static bool fuses(const prepared_copy& c) {
    if (c.host_only) return c.how == strategy::cpu;
    if (c.o.what == overlap::kind::partial) return false;
    return c.how == strategy::dma || c.how == strategy::direct;
  }
  /// Whether c depends on a copy of the group, or it on c.
  [[nodiscard]] bool depends(const prepared_copy& c) const {
    const byte_range r = source_range(c), w = destination_range(c);
    for (const byte_range& x : writes_)
      if (x.meets(r) || x.meets(w)) return true;
    for (const byte_range& x : reads_)
      if (x.meets(w)) return true;
    return false;
  }
  void add(const prepared_copy& c, int threads, const exec_options& exec) {
    reads_.push_back(source_range(c));
    writes_.push_back(destination_range(c));
    const plan& p = c.p;
    if (c.host_only) {
      if (!cpu_) cpu_ = std::make_unique<cpu_job>();
      cpu_->items.push_back({p, c.source.first, c.target.first, team_size(p.bytes, threads), c.o});
      return;
    }
    device_.add(c, exec);
  }
  /// Enqueues (or runs) everything added, and empties the group.
  void flush(stream_handle stream, const exec_options& exec) {
    device_.flush(stream);
    if (cpu_) submit_cpu_job(std::move(cpu_), stream, exec);
    reads_.clear();
    writes_.clear();
  }

 private:
  std::vector<byte_range> reads_, writes_;
  std::unique_ptr<cpu_job> cpu_;
  device_batch device_;
};

}  // namespace

strategy execute(const plan& p, const void* src, void* dst, std::size_t dst_bytes, stream_handle stream,
                 const copy_options& options, const exec_options& exec) {
  return run_prepared(prepare(p, src, dst, dst_bytes, stream, options, exec), stream, options, exec);
}

}  // namespace detail

namespace {

/// A call that waits for its copy, or allocates memory for it, cannot be part of a CUDA graph: it is
/// refused before any work, and the caller's capture goes on.
void refuse_capture(stream_handle stream, const char* call, const char* why) {
  if (cuda_available() && detail::is_capturing(stream))
    throw invalid_argument(std::string(call) + ": the stream is capturing a CUDA graph, and this call " + why);
}
constexpr const char* waits = "waits for its copy, which a capturing stream cannot do (use the _async form)";

strategy run(const plan& p, const void* src, void* dst, std::size_t dst_bytes, stream_handle stream,
             const copy_options& options, bool blocking) {
  detail::exec_options exec;
  exec.blocking = blocking;
  // The CPU asked for: both views are taken at their word (host memory), no CUDA call is made.
  exec.cpu_only = options.how == strategy::cpu;
  return detail::execute(p, src, dst, dst_bytes, stream, options, exec);
}

/// The memory a destination pointer is in: device or host, as CUDA says where it is present.
memory_kind destination_of(const void* dst, const copy_options& options) {
  if (options.how == strategy::cpu || !cuda_available()) return memory_kind::pageable;
  const memory_kind k = detail::query_pointer(dst).kind;
  return k == memory_kind::device ? memory_kind::device : memory_kind::pageable;
}

}  // namespace

strategy copy_async(const view& src, const mutable_view& dst, stream_ref stream, const copy_options& options) {
  return run(make_plan(src, dst), src.base(), dst.mutable_base(), detail::unbounded, stream.get(), options, false);
}

strategy copy(const view& src, const mutable_view& dst, stream_ref stream, const copy_options& options) {
  const plan p = make_plan(src, dst);
  refuse_capture(stream.get(), "copy", waits);
  return run(p, src.base(), dst.mutable_base(), detail::unbounded, stream.get(), options, true);
}

strategy copy_async(const view& src, void* dst, std::size_t dst_bytes, stream_ref stream, const copy_options& options) {
  const plan p = make_plan(src, destination_of(dst, options));
  return run(p, src.base(), dst, dst_bytes, stream.get(), options, false);
}

strategy copy(const view& src, void* dst, std::size_t dst_bytes, stream_ref stream, const copy_options& options) {
  const plan p = make_plan(src, destination_of(dst, options));
  refuse_capture(stream.get(), "copy", waits);
  return run(p, src.base(), dst, dst_bytes, stream.get(), options, true);
}

namespace detail {

void run_batch(std::span<const copy_pair> pairs, stream_handle stream, const copy_options& options,
               const exec_options& exec) {
  // Every pair checked and chosen before any work; an error names its pair.
  std::vector<prepared_copy> items;
  items.reserve(pairs.size());
  int device = -1;
  std::size_t device_pair = 0;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const std::string which = "pair " + std::to_string(i) + " of " + std::to_string(pairs.size()) + ": ";
    try {
      const plan p = make_plan(pairs[i].src, pairs[i].dst);
      items.push_back(prepare(p, pairs[i].src.base(), pairs[i].dst.mutable_base(), unbounded, stream, options, exec));
    } catch (const cuda_error& e) {
      throw cuda_error(which + e.what(), e.code());
    } catch (const invalid_argument& e) {
      throw invalid_argument(which + e.what());
    } catch (const invalid_view& e) {
      throw invalid_view(which + e.what());
    }
    const prepared_copy& c = items.back();
    if (c.device < 0) continue;
    if (device < 0) {
      device = c.device;
      device_pair = i;
    } else if (c.device != device) {
      throw invalid_view("pair " + std::to_string(i) + " of " + std::to_string(pairs.size()) + " runs on device " +
                         std::to_string(c.device) + ", but pair " + std::to_string(device_pair) + " on device " +
                         std::to_string(device) + ": a batch runs on one device, its stream's");
    }
  }
  // As if one pair after another: a pair joins the group of those before it unless it depends on
  // one of them; a copy that cannot join runs on its own, in order.
  std::optional<device_guard> on;
  if (device >= 0) on.emplace(device);
  copy_group group;
  try {
    for (const prepared_copy& c : items) {
      if (c.how == strategy::none) continue;
      if (!copy_group::fuses(c)) {
        group.flush(stream, exec);
        (void)run_prepared(c, stream, options, exec);
        continue;
      }
      if (group.depends(c)) group.flush(stream, exec);
      group.add(c, options.threads, exec);
    }
    group.flush(stream, exec);
  } catch (...) {
    if (device >= 0) synchronize_quietly(stream);
    throw;
  }
  if (exec.blocking && device >= 0) synchronize(stream);
}

}  // namespace detail

void copy_async(std::span<const copy_pair> pairs, stream_ref stream, const copy_options& options) {
  detail::exec_options exec;
  exec.cpu_only = options.how == strategy::cpu;
  detail::run_batch(pairs, stream.get(), options, exec);
}

void copy(std::span<const copy_pair> pairs, stream_ref stream, const copy_options& options) {
  refuse_capture(stream.get(), "copy", waits);
  detail::exec_options exec;
  exec.blocking = true;
  exec.cpu_only = options.how == strategy::cpu;
  detail::run_batch(pairs, stream.get(), options, exec);
}

strategy copy_async(const plan& p, const void* src, void* dst, std::size_t dst_bytes, stream_ref stream,
                    const copy_options& options) {
  return run(p, src, dst, dst_bytes, stream.get(), options, false);
}

strategy copy(const plan& p, const void* src, void* dst, std::size_t dst_bytes, stream_ref stream,
              const copy_options& options) {
  refuse_capture(stream.get(), "copy", waits);
  return run(p, src, dst, dst_bytes, stream.get(), options, true);
}

host_array to_host(const view& v, stream_ref stream, const copy_options& options) {
  const plan p = make_plan(v, memory_kind::pinned);  // a bad view throws before anything is allocated
  refuse_capture(stream.get(), "to_host", waits);
  host_array out(v.type, v.shape());
  (void)run(p, v.base(), out.data(), out.bytes(), stream.get(), options, true);
  return out;
}

device_array to_device(const view& v, stream_ref stream, const copy_options& options) {
  const plan p = make_plan(v, memory_kind::device);  // a bad view throws before anything is allocated
  if (!cuda_available()) detail::no_device("to_device");
  refuse_capture(stream.get(), "to_device",
                 "allocates its array, which a capturing stream cannot do (copy_async into memory you own)");
  // A device view's own device; a host view's copy goes to the current one.
  const detail::checked_source source = detail::check_source(p, v.base(), true);
  const detail::device_guard on(source.device >= 0 ? source.device : detail::current_device());
  device_array out(v.type, v.shape(), stream);
  (void)run(p, v.base(), out.data(), out.bytes(), stream.get(), options, false);
  return out;
}

void set_num_threads(int n) {
  detail::check_threads(n);
  detail::set_thread_setting(n);
}

int get_num_threads() { return detail::cpu_threads(); }

}  // namespace stridecopy
