// bench/d2h_bench.cu — Google Benchmark, device to host: the NCHW view family (float32, float16,
// uint8; 4 KiB, 1 MiB, 64 MiB, 1 GiB) by every strategy that applies (automatic, dma, staged, direct),
// beside, in the same run and on the same bytes: the limit (contiguous pinned cudaMemcpyAsync D2H) and
// the two-pass way (gather into a device temporary, then copy into pageable / pinned memory); into
// pageable memory (the driven path, chunks copied out of pinned slots by a library thread) beside
// its own limit (the contiguous cudaMemcpyAsync into pageable memory); plus
// to_host cold (first call: pinned allocation) and warm (pooled). CUDA-event timing, L2 flushed
// before every timed iteration. bench/report_device.py prints ratios and the winner per view and size.
//
//   d2h_bench [--iterations=N] [--benchmark_filter=REGEX] [other --benchmark_* flags]
//   (--iterations: see bench/cuda_bench_util.cuh; tools/gpu_check.sh passes 10)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <random>

#include "core/choose.hpp"
#include "cuda/staging.hpp"
#include "cuda_bench_util.cuh"
#include "stridecopy/copy.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/plan.hpp"

namespace sc = stridecopy;
namespace sb = stridecopy::bench;

namespace {

struct workload {
  std::unique_ptr<sc::device_buffer> src, tmp;
  std::unique_ptr<sc::host_buffer> pinned;
  std::vector<std::byte> pageable;
  std::vector<sb::nchw_view> views;
  std::size_t base_bytes = 0;
};

workload& make_workload(std::size_t bytes, int itemsize) {
  static std::map<std::pair<std::size_t, int>, std::unique_ptr<workload>> cache;
  if (auto it = cache.find({bytes, itemsize}); it != cache.end()) return *it->second;
  cache.clear();  // one workload alive at a time: 1 GiB cases need the memory
  auto fresh = std::make_unique<workload>();
  const auto shape = sb::nchw_shape_for(bytes, itemsize);
  const std::vector<std::int64_t> nhwc{shape[0], shape[2], shape[3], shape[1]};
  const sc::dtype t{itemsize == 1 ? 'u' : 'f', itemsize, itemsize == 1 ? '|' : '<'};
  fresh->base_bytes = std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * std::size_t(itemsize);
  fresh->src = std::make_unique<sc::device_buffer>(fresh->base_bytes);
  fresh->tmp = std::make_unique<sc::device_buffer>(fresh->base_bytes);
  fresh->pinned = std::make_unique<sc::host_buffer>(fresh->base_bytes);
  fresh->pageable.assign(fresh->base_bytes, std::byte{1});  // touched: no first-touch faults timed
  std::memset(fresh->pinned->data(), 1, fresh->base_bytes);
  std::vector<std::uint32_t> host(fresh->base_bytes / 4 + 1);
  std::mt19937 g(std::random_device{}());
  for (auto& x : host) x = g() | 1u;
  BENCH_CUDA(cudaMemcpy(fresh->src->data(), host.data(), fresh->base_bytes, cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaDeviceSynchronize());  // a pageable upload may return before it lands
  fresh->views = sb::nchw_views(sc::contiguous_view(fresh->src->data(), t, shape, sc::memory_kind::device),
                                sc::contiguous_view(fresh->src->data(), t, nhwc, sc::memory_kind::device));
  auto& w = cache[{bytes, itemsize}];
  w = std::move(fresh);
  return *w;
}

enum class method {
  limit,
  automatic,
  dma,
  staged,
  direct,
  pageable_limit,
  pageable,
  two_pass_pageable,
  two_pass_pinned,
  to_host_warm
};
const char* method_name(method m) {
  switch (m) {
    case method::limit: return "limit";
    case method::automatic: return "auto";
    case method::dma: return "dma";
    case method::staged: return "staged";
    case method::direct: return "direct";
    case method::pageable_limit: return "pageable_limit";
    case method::pageable: return "pageable";
    case method::two_pass_pageable: return "two_pass_pageable";
    case method::two_pass_pinned: return "two_pass_pinned";
    case method::to_host_warm: return "to_host_warm";
  }
  return "?";
}

void run(benchmark::State& state, std::size_t bytes, int itemsize, int view_index, method m) {
  static sb::l2_flusher l2;
  static cudaStream_t stream = [] {
    cudaStream_t s;
    BENCH_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
  }();
  workload& w = make_workload(bytes, itemsize);
  const sb::nchw_view& nv = w.views[std::size_t(view_index)];
  const sc::plan p = sc::make_plan(nv.v);
  sc::detail::copy_facts pinned_mapped;
  pinned_mapped.source = sc::memory_kind::device;
  pinned_mapped.destination = sc::memory_kind::pinned;
  pinned_mapped.destination_mapped = true;
  const sc::strategy chosen = sc::detail::choose(p, pinned_mapped, std::nullopt);
  state.SetLabel(nv.name + " " + sb::dtype_name(itemsize) + " " + sc::to_string(p.pattern()) +
                 " auto=" + sc::to_string(chosen));
  auto strategy_copy = [&](std::optional<sc::strategy> how) {
    sc::copy_async(nv.v, w.pinned->data(), w.base_bytes, stream, {how});
  };
  switch (m) {
    case method::limit:
      sb::time_on_stream(state, stream, l2, p.bytes, [&] {
        BENCH_CUDA(cudaMemcpyAsync(w.pinned->data(), w.src->data(), p.bytes, cudaMemcpyDeviceToHost, stream));
      });
      break;
    case method::automatic: sb::time_on_stream(state, stream, l2, p.bytes, [&] { strategy_copy(std::nullopt); }); break;
    case method::dma: sb::time_on_stream(state, stream, l2, p.bytes, [&] { strategy_copy(sc::strategy::dma); }); break;
    case method::staged:
      sb::time_on_stream(state, stream, l2, p.bytes, [&] { strategy_copy(sc::strategy::staged); });
      break;
    case method::direct:
      sb::time_on_stream(state, stream, l2, p.bytes, [&] { strategy_copy(sc::strategy::direct); });
      break;
    case method::pageable_limit:  // the output's bytes, contiguous, into pageable memory
      sb::time_on_stream(state, stream, l2, p.bytes, [&] {
        BENCH_CUDA(cudaMemcpyAsync(w.pageable.data(), w.src->data(), p.bytes, cudaMemcpyDeviceToHost, stream));
      });
      break;
    case method::pageable:  // the driven path: chunks staged through pinned slots, copied out by a library thread
      sb::time_on_stream(state, stream, l2, p.bytes,
                         [&] { sc::copy_async(nv.v, w.pageable.data(), w.base_bytes, stream); });
      break;
    case method::two_pass_pageable:
    case method::two_pass_pinned: {
      void* dst = m == method::two_pass_pinned ? w.pinned->data() : static_cast<void*>(w.pageable.data());
      sb::time_on_stream(state, stream, l2, p.bytes, [&] {
        sc::copy_async(nv.v, w.tmp->data(), w.base_bytes, stream);
        BENCH_CUDA(cudaMemcpyAsync(dst, w.tmp->data(), p.bytes, cudaMemcpyDeviceToHost, stream));
      });
      break;
    }
    case method::to_host_warm:
      // to_host allocates its result: from the pinned pool after the first call (timed on the host).
      sb::time_on_stream(state, stream, l2, p.bytes, [&] { benchmark::DoNotOptimize(sc::to_host(nv.v, stream)); });
      break;
  }
  state.counters["scratch_bytes"] = double(sc::detail::staging_scratch_bytes());
}

// to_host's first call in a fresh process pays for pinned allocation: cold, measured once.
void to_host_cold(benchmark::State& state) {
  workload& w = make_workload(std::size_t(64) << 20, 4);
  const sb::nchw_view& nv = w.views[1];
  for (auto _ : state) {
    sc::release_cached_memory();
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(sc::to_host(nv.v));
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  state.SetLabel(nv.name + " f32 cold");
}

}  // namespace

int main(int argc, char** argv) {
  sb::take_iterations_flag(argc, argv);
  const bool listing = sb::listing_only(argc, argv);  // names only: no device needed
  benchmark::Initialize(&argc, argv);
  if (!listing && !sb::device_present("d2h_bench")) return 0;
  if (!listing) sb::add_bench_context();
  const auto sizes = {std::size_t(4) << 10, std::size_t(1) << 20, std::size_t(64) << 20, std::size_t(1) << 30};
  sb::for_each_case(sizes, [](std::size_t bytes, int item, int v, const std::string& tag) {
    const bool runs = v == 0 || v == 4;  // channel reverse and crop are runs; the rest are gathers
    for (method m :
         {method::limit, method::automatic, method::dma, method::staged, method::direct, method::pageable_limit,
          method::pageable, method::two_pass_pageable, method::two_pass_pinned, method::to_host_warm}) {
      if (m == method::dma && !runs) continue;
      const bool into_pageable = m == method::pageable_limit || m == method::pageable || m == method::two_pass_pageable;
      if (into_pageable && bytes > (std::size_t(64) << 20) && item != 4) continue;  // time
      sb::bounded(benchmark::RegisterBenchmark(("d2h/" + std::string(method_name(m)) + "/" + tag).c_str(), run, bytes,
                                               item, v, m)
                      ->UseManualTime(),
                  bytes);
    }
  });
  benchmark::RegisterBenchmark("d2h_to_host_cold/f32/64MiB/row_reverse", to_host_cold)->UseManualTime()->Iterations(3);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
