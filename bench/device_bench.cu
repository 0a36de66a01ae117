// bench/device_bench.cu — Google Benchmark, device to device: the gather kernels on the NCHW view
// family (float32, float16, uint8; 1 MiB, 64 MiB, 1 GiB) beside, in the same run and on the same bytes,
// the limit (a contiguous cudaMemcpyAsync D2D) and the two-pass way (gather into a contiguous
// temporary, then copy it). CUDA-event timing, L2 flushed before every timed iteration. Prints nothing
// but a note where no GPU is present. bench/report_device.py turns the JSON into ratios.
//
//   device_bench [--iterations=N] [--benchmark_filter=REGEX] [other --benchmark_* flags]
//   (--iterations: see bench/cuda_bench_util.cuh; tools/gpu_check.sh passes 10)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>

#include "cuda_bench_util.cuh"
#include "stridecopy/copy.hpp"
#include "stridecopy/plan.hpp"

namespace sc = stridecopy;
namespace sb = stridecopy::bench;

namespace {

struct workload {
  std::unique_ptr<sc::device_buffer> src, dst, tmp;
  std::vector<sb::nchw_view> views;
  std::size_t base_bytes = 0;
};

workload& make_workload(std::size_t bytes, int itemsize) {
  static std::map<std::pair<std::size_t, int>, std::unique_ptr<workload>> cache;
  if (auto it = cache.find({bytes, itemsize}); it != cache.end()) return *it->second;
  cache.clear();  // one workload alive at a time: 1 GiB cases need the memory
  auto& w = cache[{bytes, itemsize}];
  w = std::make_unique<workload>();
  const auto shape = sb::nchw_shape_for(bytes, itemsize);
  const std::vector<std::int64_t> nhwc{shape[0], shape[2], shape[3], shape[1]};
  const sc::dtype t{itemsize == 1 ? 'u' : 'f', itemsize, itemsize == 1 ? '|' : '<'};
  w->base_bytes = std::size_t(shape[0] * shape[1] * shape[2] * shape[3]) * std::size_t(itemsize);
  w->src = std::make_unique<sc::device_buffer>(w->base_bytes);
  w->dst = std::make_unique<sc::device_buffer>(w->base_bytes);
  w->tmp = std::make_unique<sc::device_buffer>(w->base_bytes);
  // Fresh random data, never zeros: generated on the host once per workload.
  std::vector<std::uint32_t> host(w->base_bytes / 4 + 1);
  std::mt19937 g(std::random_device{}());
  for (auto& x : host) x = g() | 1u;
  BENCH_CUDA(cudaMemcpy(w->src->data(), host.data(), w->base_bytes, cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaDeviceSynchronize());  // a pageable upload may return before it lands
  const sc::view base = sc::contiguous_view(w->src->data(), t, shape, sc::memory_kind::device);
  const sc::view base_nhwc = sc::contiguous_view(w->src->data(), t, nhwc, sc::memory_kind::device);
  w->views = sb::nchw_views(base, base_nhwc);
  return *w;
}

enum class method { gather, memcpy_limit, two_pass };

void run(benchmark::State& state, std::size_t bytes, int itemsize, int view_index, method m) {
  static sb::l2_flusher l2;
  workload& w = make_workload(bytes, itemsize);
  const sb::nchw_view& nv = w.views[std::size_t(view_index)];
  const sc::plan p = sc::make_plan(nv.v);
  cudaStream_t stream = nullptr;
  state.SetLabel(nv.name + " " + sb::dtype_name(itemsize) + " " + sc::to_string(p.pat));
  switch (m) {
    case method::gather:
      sb::time_on_stream(state, stream, l2, p.bytes, [&] { sc::copy_to_device_async(nv.v, w.dst->data(), w.base_bytes, stream); });
      break;
    case method::memcpy_limit:
      sb::time_on_stream(state, stream, l2, p.bytes, [&] {
        BENCH_CUDA(cudaMemcpyAsync(w.dst->data(), w.src->data(), p.bytes, cudaMemcpyDeviceToDevice, stream));
      });
      break;
    case method::two_pass:
      sb::time_on_stream(state, stream, l2, p.bytes, [&] {
        sc::copy_to_device_async(nv.v, w.tmp->data(), w.base_bytes, stream);
        BENCH_CUDA(cudaMemcpyAsync(w.dst->data(), w.tmp->data(), p.bytes, cudaMemcpyDeviceToDevice, stream));
      });
      break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  sb::take_iterations_flag(argc, argv);
  const bool listing = sb::listing_only(argc, argv);  // names only: no device needed
  benchmark::Initialize(&argc, argv);
  if (!listing && !sb::device_present("device_bench")) return 0;
  if (!listing) sb::add_bench_context();
  sb::for_each_case({std::size_t(1) << 20, std::size_t(64) << 20, std::size_t(1) << 30},
                    [](std::size_t bytes, int item, int v, const std::string& tag) {
                      for (auto [name, m] : {std::pair{"gather", method::gather}, std::pair{"two_pass", method::two_pass},
                                             std::pair{"memcpy", method::memcpy_limit}})
                        sb::bounded(benchmark::RegisterBenchmark(("d2d/" + std::string(name) + "/" + tag).c_str(), run,
                                                                 bytes, item, v, m)
                                        ->UseManualTime(),
                                    bytes);
                    });
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
