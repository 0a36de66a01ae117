// bench/host_bench.cpp — Google Benchmark: the CPU gather on the NCHW view family and a float64
// 2048x2048 transpose, the BGR example into an NHWC buffer (a strided destination), beside memcpy of
// the same output bytes (one and all threads) in the same run; and a batch of frames in one call
// against one call per frame.
// Each view reports the traffic it must move (bench/traffic.hpp); bench/run_host_bench.py turns the
// JSON into ratios to that traffic at the same run's memcpy bandwidth and adds NumPy on the same views.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/nontemporal.hpp"
#include "cpu/thread_pool.hpp"
#include "nchw_views.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/plan.hpp"
#include "traffic.hpp"

namespace sc = stridecopy;

namespace {

// Fresh random source data (never zeros) and a destination touched once before timing, so that
// page faults are not measured (warm against warm). Before every timed iteration the caches are
// flushed by writing a buffer three times the last-level cache, so every copy, ours and the limit,
// starts from memory (cold against cold): otherwise the 15 and 30 MB cases run partly in L3.
struct fixture_data {
  sc::host_array nchw{sc::dtype_of<float>(), sc::bench::bgr_shape, sc::order::c, sc::memory_kind::pageable};
  sc::host_array nhwc{sc::dtype_of<std::uint8_t>(), sc::bench::bgr_shape_nhwc, sc::order::c, sc::memory_kind::pageable};
  // A square transpose with no short side to interleave: a.T of a C-order float64 2048x2048.
  sc::host_array square{sc::dtype_of<double>(), {2048, 2048}, sc::order::c, sc::memory_kind::pageable};
  std::vector<sc::bench::nchw_view> views;
  std::vector<std::byte> dst;
  fixture_data() {
    std::mt19937_64 g(12345);
    for (sc::host_array* a : {&nchw, &nhwc, &square}) {
      auto* p = static_cast<std::uint64_t*>(a->data());
      for (std::size_t i = 0; i < a->bytes() / 8; ++i) p[i] = g();
    }
    views = sc::bench::nchw_views(nchw.as_view(), nhwc.as_view());
    views.push_back({"f64_transpose", "float64 2048x2048 .T", sc::permute(square.as_view(), {1, 0})});
    dst.assign(nchw.bytes(), std::byte{1});
    flush.assign(std::size_t(96) << 20, std::byte{2});
  }
  std::vector<std::byte> flush;
  void flush_caches() {
    std::memset(flush.data(), int(flush[0]) + 1, flush.size());
    benchmark::ClobberMemory();
  }
};

fixture_data& data() {
  static fixture_data d;
  return d;
}

/// The BGR example into an NHWC float32 buffer: a strided destination (the copy walks the
/// destination's memory order; the source is read across its channel planes).
sc::mutable_view nhwc_destination(std::vector<std::byte>& dst) {
  const auto& s = sc::bench::bgr_shape;
  return sc::permute(sc::make_view(static_cast<void*>(dst.data()), sc::dtype_of<float>(), {s[0], s[2], s[3], s[1]}),
                     {0, 3, 1, 2});
}

void set_bytes(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(bytes));
  state.counters["bytes"] = double(bytes);
}

void host_copy(benchmark::State& state, int which) {
  auto& d = data();
  const sc::view& v = d.views[std::size_t(which)].v;
  const sc::plan p = sc::make_plan(v);
  state.SetLabel(d.views[std::size_t(which)].numpy + " " + sc::to_string(p.pattern()));
  const std::int64_t lines = sc::bench::source_lines(v);
  for (auto _ : state) {
    d.flush_caches();
    const auto t0 = std::chrono::steady_clock::now();
    sc::copy(v, d.dst.data(), d.dst.size(), {}, {.how = sc::strategy::cpu, .threads = int(state.range(0))});
    benchmark::ClobberMemory();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  set_bytes(state, p.bytes);
  // The traffic limit's inputs: the source lines it must read (the output bytes are "bytes").
  state.counters["source_lines"] = double(lines);
  state.counters["line_bytes"] = double(sc::bench::cache_line);
}

// A copy into a strided destination: the BGR view of the NCHW batch into an NHWC buffer.
void host_copy_into(benchmark::State& state) {
  auto& d = data();
  const sc::view v = sc::slice(d.nchw.as_view(), "[:, ::-1, :, :]");
  const sc::mutable_view into = nhwc_destination(d.dst);
  const sc::plan p = sc::make_plan(v, into);
  state.SetLabel("copyto(nhwc.transpose(0, 3, 1, 2), [:, ::-1, :, :]) " + std::string(sc::to_string(p.pattern())));
  const std::int64_t lines = sc::bench::source_lines(v);
  for (auto _ : state) {
    d.flush_caches();
    const auto t0 = std::chrono::steady_clock::now();
    sc::copy(v, into, {}, {.how = sc::strategy::cpu, .threads = int(state.range(0))});
    benchmark::ClobberMemory();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  set_bytes(state, p.bytes);
  state.counters["source_lines"] = double(lines);
  state.counters["line_bytes"] = double(sc::bench::cache_line);
}

// A batch of N frames (each [:, ::-1] of a float32 square, `frame_bytes` bytes) into the slots of
// one buffer: one copy(pairs) call against N copy(src, dst) calls. Caches stay warm: this measures
// what a call costs beside its bytes. Arg 0: 1 for the batch, 0 for the single calls.
void host_batch(benchmark::State& state, std::size_t frame_bytes, int frames) {
  const auto side = std::int64_t(std::sqrt(double(frame_bytes / 4)));
  std::vector<float> src(std::size_t(side * side * frames)), dst(src.size());
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = float(i);
  const auto f32 = sc::dtype_of<float>();
  const sc::view all = sc::make_view(static_cast<const void*>(src.data()), f32, {frames, side, side});
  const sc::mutable_view slots = sc::make_view(static_cast<void*>(dst.data()), f32, {frames, side, side});
  std::vector<sc::copy_pair> pairs;
  for (std::int64_t f = 0; f < frames; ++f) {
    const std::string at = sc::bench::frame_index(f);
    pairs.push_back({sc::slice(sc::slice(all, at), "[:, ::-1]"), sc::slice(slots, at)});
  }
  const bool batch = state.range(0) == 1;
  for (auto _ : state) {
    if (batch) {
      sc::copy(pairs, {}, {.how = sc::strategy::cpu, .threads = 1});
    } else {
      for (const sc::copy_pair& c : pairs) sc::copy(c.src, c.dst, {}, {.how = sc::strategy::cpu, .threads = 1});
    }
    benchmark::ClobberMemory();
  }
  set_bytes(state, std::size_t(side * side * frames) * 4);
  state.counters["frames"] = double(frames);
  state.counters["ns_per_frame"] =
      benchmark::Counter(double(frames), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// The limit: memcpy of the same bytes, contiguous source, one thread or split across threads, with
// glibc's memcpy or with non-temporal stores (glibc uses them only above 240 MB here, so for these sizes
// the non-temporal copy is the faster, stricter limit). Split across threads either in one contiguous
// part per thread, or in 1 MiB chunks handed out in turn, as the gather hands out its output (both
// threads then work in neighbouring memory, which made glibc's memcpy about 10% faster on 2 threads:
// bench/RESULTS.md). run_host_bench.py takes the fastest.
enum class split { halves, chunks };

void copy_part(std::byte* d, const std::byte* s, std::size_t n, bool nontemporal) {
  if (nontemporal) {
    sc::detail::nt_copy(d, s, n);
    sc::detail::nt_fence();
  } else {
    std::memcpy(d, s, n);
  }
}

void memcpy_limit(benchmark::State& state, std::size_t bytes, bool nontemporal, split how) {
  auto& d = data();
  const int threads = int(state.range(0));
  const auto* src = static_cast<const std::byte*>(d.nchw.data());
  constexpr std::size_t chunk = std::size_t(1) << 20;
  const auto chunks = std::int64_t((bytes + chunk - 1) / chunk);
  for (auto _ : state) {
    d.flush_caches();
    const auto t0 = std::chrono::steady_clock::now();
    if (how == split::chunks) {
      sc::detail::run_pieces(chunks, threads, [&](std::int64_t i) {
        const std::size_t begin = std::size_t(i) * chunk;
        copy_part(d.dst.data() + begin, src + begin, std::min(chunk, bytes - begin), nontemporal);
      });
    } else {
      const auto n = std::size_t(threads);
      sc::detail::run_pieces(threads, threads, [&](std::int64_t i) {
        const auto t = std::size_t(i);
        const std::size_t begin = bytes * t / n / 64 * 64, end = t + 1 == n ? bytes : bytes * (t + 1) / n / 64 * 64;
        copy_part(d.dst.data() + begin, src + begin, end - begin, nontemporal);
      });
    }
    benchmark::ClobberMemory();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  set_bytes(state, bytes);
}

const int registered = [] {
  const int threads = sc::detail::cpu_threads();
  // The NCHW view family (float32; the channel-last one on uint8 NHWC, an RGB/BGR swap), the float64
  // transpose and, for each distinct output size among them, the memcpy limits.
  const auto& views = data().views;
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < views.size(); ++i) {
    benchmark::RegisterBenchmark((std::string("host_copy/") + views[i].name).c_str(), host_copy, int(i))
        ->Arg(threads)
        ->Iterations(10)  // the untimed cache flush dominates wall time: bound it
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    const std::size_t bytes = sc::make_plan(views[i].v).bytes;
    if (std::find(sizes.begin(), sizes.end(), bytes) == sizes.end()) sizes.push_back(bytes);
  }
  benchmark::RegisterBenchmark("host_copy/bgr_into_nhwc", host_copy_into)
      ->Arg(threads)
      ->Iterations(10)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  for (const auto& [bytes, frames] : {std::pair<std::size_t, int>{4096, 64}, {std::size_t(1) << 20, 16}})
    benchmark::RegisterBenchmark(("host_batch/" + std::to_string(bytes) + "x" + std::to_string(frames)).c_str(),
                                 host_batch, bytes, frames)
        ->ArgName("batch")
        ->Arg(1)
        ->Arg(0)
        ->Unit(benchmark::kMicrosecond);
  for (std::size_t bytes : sizes)
    for (bool nontemporal : {false, true})
      for (int t : {1, threads})
        for (split how : {split::halves, split::chunks}) {
          if (how == split::chunks && t == 1) continue;  // one thread: the same copy
          const std::string name = std::string(nontemporal ? "memcpy_nontemporal" : "memcpy") +
                                   (how == split::chunks ? "_chunks/" : "/") + std::to_string(bytes);
          benchmark::RegisterBenchmark(name.c_str(), memcpy_limit, bytes, nontemporal, how)
              ->Arg(t)
              ->Iterations(10)
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond);
        }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
