// bench/h2d_bench.cu — Google Benchmark, host to device: the NCHW view family (float32, float16,
// uint8; 4 KiB, 1 MiB, 64 MiB, 1 GiB) over a pinned source by every strategy that applies (automatic,
// dma, staged with the CPU gathering into pinned slots, staged with the device gathering from device
// slots, direct), and over a pageable source (automatic); beside, in the same run and on the same
// bytes: the limit (contiguous pinned cudaMemcpyAsync H2D) and the two-step way users take today (a
// contiguous host copy, then the copy to the device) from pinned and from pageable memory. The
// two-step way's host copy is stridecopy's own CPU gather on every thread, faster than NumPy's
// np.ascontiguousarray: the ratio against it is conservative. CUDA-event timing, L2 flushed before
// every timed iteration; counters: scratch_bytes (device and pinned staging held after the call).
// bench/report_device.py prints ratios and the winner per view and size.
//
//   h2d_bench [--iterations=N] [--benchmark_filter=REGEX] [other --benchmark_* flags]
//   (--iterations: see bench/cuda_bench_util.cuh; tools/gpu_check.sh passes 10)
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>

#include "core/choose.hpp"
#include "cuda/staging.hpp"
#include "cuda_bench_util.cuh"
#include "dispatch.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/plan.hpp"

namespace sc = stridecopy;
namespace sb = stridecopy::bench;

namespace {

struct workload {
  std::unique_ptr<sc::device_buffer> dst;
  std::unique_ptr<sc::host_buffer> pinned, pinned_tmp;  // the source; the two-step way's temporary
  std::vector<std::byte> pageable, pageable_tmp;
  std::vector<sb::nchw_view> pinned_views, pageable_views;
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
  const std::size_t n = std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * std::size_t(itemsize);
  fresh->base_bytes = n;
  fresh->dst = std::make_unique<sc::device_buffer>(n);
  fresh->pinned = std::make_unique<sc::host_buffer>(n);
  fresh->pinned_tmp = std::make_unique<sc::host_buffer>(n);
  fresh->pageable.resize(n);
  fresh->pageable_tmp.assign(n, std::byte{1});  // touched: no first-touch faults timed
  std::mt19937 g(std::random_device{}());
  for (std::size_t i = 0; i < n; ++i) fresh->pageable[i] = std::byte(g());
  std::memcpy(fresh->pinned->data(), fresh->pageable.data(), n);
  std::memset(fresh->pinned_tmp->data(), 1, n);
  const auto family = [&](void* base, sc::memory_kind kind) {
    return sb::nchw_views(sc::contiguous_view(base, t, shape, kind), sc::contiguous_view(base, t, nhwc, kind));
  };
  fresh->pinned_views = family(fresh->pinned->data(), sc::memory_kind::pinned);
  fresh->pageable_views = family(fresh->pageable.data(), sc::memory_kind::pageable);
  auto& w = cache[{bytes, itemsize}];
  w = std::move(fresh);
  return *w;
}

enum class method {
  limit,
  automatic,
  dma,
  staged_cpu,
  staged_device,
  direct,
  pageable_auto,
  two_step_pinned,
  two_step_pageable,
  to_device_warm
};
const char* method_name(method m) {
  switch (m) {
    case method::limit: return "limit";
    case method::automatic: return "auto";
    case method::dma: return "dma";
    case method::staged_cpu: return "staged_cpu";
    case method::staged_device: return "staged_device";
    case method::direct: return "direct";
    case method::pageable_auto: return "pageable_auto";
    case method::two_step_pinned: return "two_step_pinned";
    case method::two_step_pageable: return "two_step_pageable";
    case method::to_device_warm: return "to_device_warm";
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
  const bool from_pageable = m == method::pageable_auto || m == method::two_step_pageable;
  const sb::nchw_view& nv = (from_pageable ? w.pageable_views : w.pinned_views)[std::size_t(view_index)];
  const sc::plan p = sc::make_plan(nv.v, sc::memory_kind::device);
  sc::detail::copy_facts facts;
  facts.source = from_pageable ? sc::memory_kind::pageable : sc::memory_kind::pinned;
  facts.source_mapped = !from_pageable;
  facts.destination = sc::memory_kind::device;
  const sc::strategy chosen = sc::detail::choose(p, facts, std::nullopt);
  state.SetLabel(nv.name + " " + sb::dtype_name(itemsize) + " " + sc::to_string(p.pattern()) +
                 " auto=" + sc::to_string(chosen));
  void* dst = w.dst->data();
  const auto copy_as = [&](std::optional<sc::strategy> how,
                           sc::detail::h2d_gather gather = sc::detail::h2d_gather::automatic) {
    sc::detail::exec_options exec;
    exec.staged_gather = gather;
    (void)sc::detail::execute(p, nv.v.base(), dst, w.base_bytes, stream, {how}, exec);
  };
  const auto timed = [&](auto&& body) { sb::time_on_stream(state, stream, l2, p.bytes, body); };
  try {
    switch (m) {
      case method::limit:
        timed([&] { BENCH_CUDA(cudaMemcpyAsync(dst, w.pinned->data(), p.bytes, cudaMemcpyHostToDevice, stream)); });
        break;
      case method::automatic:
      case method::pageable_auto: timed([&] { copy_as(std::nullopt); }); break;
      case method::dma: timed([&] { copy_as(sc::strategy::dma); }); break;
      case method::staged_cpu: timed([&] { copy_as(sc::strategy::staged, sc::detail::h2d_gather::cpu); }); break;
      case method::staged_device: timed([&] { copy_as(sc::strategy::staged, sc::detail::h2d_gather::device); }); break;
      case method::direct: timed([&] { copy_as(sc::strategy::direct); }); break;
      case method::two_step_pinned:
      case method::two_step_pageable: {
        // What a user writes today: a contiguous host copy (np.ascontiguousarray), then the upload. The
        // host copy runs before the upload is enqueued, as it would in user code, and is timed with it.
        void* tmp = m == method::two_step_pinned ? w.pinned_tmp->data() : static_cast<void*>(w.pageable_tmp.data());
        timed([&] {
          BENCH_CUDA(cudaStreamSynchronize(stream));  // the flush first: the host copy is not overlapped with it
          sc::copy(nv.v, tmp, w.base_bytes, {}, {.how = sc::strategy::cpu});
          BENCH_CUDA(cudaMemcpyAsync(dst, tmp, p.bytes, cudaMemcpyHostToDevice, stream));
        });
        break;
      }
      case method::to_device_warm:
        // to_device allocates its result with cudaMallocAsync on the stream (the pool keeps it warm).
        timed([&] { benchmark::DoNotOptimize(sc::to_device(nv.v, stream)); });
        break;
    }
  } catch (const sc::error& e) {  // a strategy forced where it cannot run (a device gather that does not fit)
    BENCH_CUDA(cudaStreamSynchronize(stream));
    state.SkipWithError(e.what());
    return;
  }
  state.counters["scratch_bytes"] = double(sc::detail::staging_scratch_bytes());
}

}  // namespace

int main(int argc, char** argv) {
  sb::take_iterations_flag(argc, argv);
  const bool listing = sb::listing_only(argc, argv);  // names only: no device needed
  benchmark::Initialize(&argc, argv);
  if (!listing && !sb::device_present("h2d_bench")) return 0;
  if (!listing) sb::add_bench_context();
  const auto sizes = {std::size_t(4) << 10, std::size_t(1) << 20, std::size_t(64) << 20, std::size_t(1) << 30};
  sb::for_each_case(sizes, [](std::size_t bytes, int item, int v, const std::string& tag) {
    const bool runs = v == 0 || v == 4;  // channel reverse and crop are runs; the rest are gathers
    for (method m :
         {method::limit, method::automatic, method::dma, method::staged_cpu, method::staged_device, method::direct,
          method::pageable_auto, method::two_step_pinned, method::two_step_pageable, method::to_device_warm}) {
      if (m == method::dma && !runs) continue;
      if (m == method::two_step_pageable && bytes > (std::size_t(64) << 20) && item != 4) continue;  // time
      sb::bounded(benchmark::RegisterBenchmark(("h2d/" + std::string(method_name(m)) + "/" + tag).c_str(), run, bytes,
                                               item, v, m)
                      ->UseManualTime(),
                  bytes);
    }
  });
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
