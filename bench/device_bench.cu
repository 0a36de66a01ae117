// bench/device_bench.cu — Google Benchmark, device to device: the gather kernels on the NCHW view
// family (float32, float16, uint8; 1 MiB, 64 MiB, 1 GiB) beside, in the same run and on the same bytes,
// the limit (a contiguous cudaMemcpyAsync D2D) and the two-pass way (gather into a contiguous
// temporary, then copy it); a batch of frames in one call against one call per frame; the BGR view
// into an NHWC destination. CUDA-event timing, L2 flushed before every timed iteration. Prints nothing
// but a note where no GPU is present. bench/report_device.py turns the JSON into ratios.
//
//   device_bench [--iterations=N] [--benchmark_filter=REGEX] [other --benchmark_* flags]
//   (--iterations: see bench/cuda_bench_util.cuh; tools/gpu_check.sh passes 10)
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

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
  state.SetLabel(nv.name + " " + sb::dtype_name(itemsize) + " " + sc::to_string(p.pattern()));
  switch (m) {
    case method::gather:
      sb::time_on_stream(state, stream, l2, p.bytes,
                         [&] { sc::copy_async(nv.v, w.dst->data(), w.base_bytes, stream); });
      break;
    case method::memcpy_limit:
      sb::time_on_stream(state, stream, l2, p.bytes, [&] {
        BENCH_CUDA(cudaMemcpyAsync(w.dst->data(), w.src->data(), p.bytes, cudaMemcpyDeviceToDevice, stream));
      });
      break;
    case method::two_pass:
      sb::time_on_stream(state, stream, l2, p.bytes, [&] {
        sc::copy_async(nv.v, w.tmp->data(), w.base_bytes, stream);
        BENCH_CUDA(cudaMemcpyAsync(w.dst->data(), w.tmp->data(), p.bytes, cudaMemcpyDeviceToDevice, stream));
      });
      break;
  }
}

// A batch of `frames` frames ([:, ::-1] of a float32 square of `frame_bytes`) into the slots of one
// device buffer: one copy(pairs) call (one kernel launch) against one copy_async per frame. The L2
// is flushed before each repetition as elsewhere; the frames are small, so this measures launches.
void batch(benchmark::State& state, std::size_t frame_bytes, int frames, bool one_call) {
  static sb::l2_flusher l2;
  const auto side = std::int64_t(std::sqrt(double(frame_bytes / 4)));
  const std::size_t bytes = std::size_t(side * side * frames) * 4;
  static std::unique_ptr<sc::device_buffer> src, dst;
  if (!src || src->size() < bytes) {
    src = std::make_unique<sc::device_buffer>(bytes);
    dst = std::make_unique<sc::device_buffer>(bytes);
    BENCH_CUDA(cudaMemset(src->data(), 1, bytes));
  }
  const auto f32 = sc::dtype_of<float>();
  const sc::view all =
      sc::make_view(static_cast<const void*>(src->data()), f32, {frames, side, side}, {}, sc::memory_kind::device);
  const sc::mutable_view slots = sc::make_view(dst->data(), f32, {frames, side, side}, {}, sc::memory_kind::device);
  std::vector<sc::copy_pair> pairs;
  for (std::int64_t f = 0; f < frames; ++f) {
    const std::string at = sb::frame_index(f);
    pairs.push_back({sc::slice(sc::slice(all, at), "[:, ::-1]"), sc::slice(slots, at)});
  }
  cudaStream_t stream = nullptr;
  state.SetLabel(std::to_string(frames) + " frames of " + std::to_string(frame_bytes) + " bytes, " +
                 (one_call ? "one call" : "one call per frame"));
  sb::time_on_stream(state, stream, l2, bytes, [&] {
    if (one_call) {
      sc::copy_async(pairs, stream);
    } else {
      for (const sc::copy_pair& c : pairs) sc::copy_async(c.src, c.dst, stream);
    }
  });
}

// The BGR view into an NHWC destination of the same bytes (a strided destination: the scatter
// kernel), beside the contiguous gather of the same view.
void into_nhwc(benchmark::State& state, std::size_t bytes) {
  static sb::l2_flusher l2;
  workload& w = make_workload(bytes, 4);
  const sb::nchw_view& bgr = w.views[0];
  const auto shape = bgr.v.shape();
  const sc::mutable_view nhwc = sc::permute(
      sc::make_view(w.dst->data(), bgr.v.type, {shape[0], shape[2], shape[3], shape[1]}, {}, sc::memory_kind::device),
      {0, 3, 1, 2});
  const sc::plan p = sc::make_plan(bgr.v, nhwc);
  cudaStream_t stream = nullptr;
  state.SetLabel(bgr.name + " into NHWC, float32 " + sc::to_string(p.pattern()));
  sb::time_on_stream(state, stream, l2, p.bytes, [&] { sc::copy_async(bgr.v, nhwc, stream); });
}

}  // namespace

int main(int argc, char** argv) {
  sb::take_iterations_flag(argc, argv);
  const bool listing = sb::listing_only(argc, argv);  // names only: no device needed
  benchmark::Initialize(&argc, argv);
  if (!listing && !sb::device_present("device_bench")) return 0;
  if (!listing) sb::add_bench_context();
  sb::for_each_case({std::size_t(1) << 20, std::size_t(64) << 20, std::size_t(1) << 30}, [](std::size_t bytes, int item,
                                                                                            int v,
                                                                                            const std::string& tag) {
    for (auto [name, m] : {std::pair{"gather", method::gather}, std::pair{"two_pass", method::two_pass},
                           std::pair{"memcpy", method::memcpy_limit}})
      sb::bounded(benchmark::RegisterBenchmark(("d2d/" + std::string(name) + "/" + tag).c_str(), run, bytes, item, v, m)
                      ->UseManualTime(),
                  bytes);
  });
  for (const auto& [frame, frames] : {std::pair<std::size_t, int>{4096, 64}, {std::size_t(1) << 20, 16}})
    for (const bool one_call : {true, false})
      sb::bounded(benchmark::RegisterBenchmark((std::string(one_call ? "batch/one_call/" : "batch/per_frame/") +
                                                std::to_string(frame) + "x" + std::to_string(frames))
                                                   .c_str(),
                                               batch, frame, frames, one_call)
                      ->UseManualTime(),
                  frame * std::size_t(frames));
  // Beside d2d/gather/f32/64MiB/channel_reverse and its memcpy (report_device.py's "into_nhwc" column).
  sb::bounded(benchmark::RegisterBenchmark("d2d/into_nhwc/f32/64MiB/channel_reverse", into_nhwc, std::size_t(64) << 20)
                  ->UseManualTime(),
              std::size_t(64) << 20);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
