// bench/cuda_bench_util.cuh — what the device benchmarks share: CUDA-event timing, an L2 flush
// between repetitions, and the NCHW shape of the view family scaled to a byte size. Device memory is
// the library's own device_buffer; CUDA failures end the program with the call that failed.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <memory>
#include <vector>

#include "nchw_views.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/device_array.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/view.hpp"

#define BENCH_CUDA(call)                                                                        \
  do {                                                                                          \
    const cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) {                                                                    \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(e_));                 \
      std::exit(1);                                                                             \
    }                                                                                           \
  } while (0)

namespace stridecopy::bench {

/// Overwrites a buffer twice the size of L2 so that no repetition finds its data in L2.
class l2_flusher {
 public:
  l2_flusher() {
    int dev = 0, l2 = 0;
    BENCH_CUDA(cudaGetDevice(&dev));
    BENCH_CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    buf_ = std::make_unique<device_buffer>(std::size_t(2) * std::size_t(l2 > 0 ? l2 : (64 << 20)));
    BENCH_CUDA(cudaDeviceSynchronize());
  }
  void flush(cudaStream_t s) { BENCH_CUDA(cudaMemsetAsync(buf_->data(), ++value_ & 0xff, buf_->size(), s)); }

 private:
  std::unique_ptr<device_buffer> buf_;
  int value_ = 0;
};

/// Times `body` on `stream` with CUDA events, the L2 flushed before every repetition, and reports
/// each repetition's time to Google Benchmark (UseManualTime).
template <class F>
void time_on_stream(benchmark::State& state, cudaStream_t stream, l2_flusher& l2, std::size_t bytes, F&& body) {
  cudaEvent_t start, stop;
  BENCH_CUDA(cudaEventCreate(&start));
  BENCH_CUDA(cudaEventCreate(&stop));
  body();  // warm-up: first launch, module load, pages of pinned memory touched
  BENCH_CUDA(cudaStreamSynchronize(stream));
  for (auto _ : state) {
    l2.flush(stream);
    BENCH_CUDA(cudaEventRecord(start, stream));
    body();
    BENCH_CUDA(cudaEventRecord(stop, stream));
    BENCH_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(double(ms) / 1e3);
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(bytes));
  state.counters["bytes"] = double(bytes);
  BENCH_CUDA(cudaEventDestroy(start));
  BENCH_CUDA(cudaEventDestroy(stop));
}

/// NCHW shape [4, 3, H, W] with the BGR example's aspect (966 x 1296) holding about `bytes` of `itemsize`.
inline std::vector<std::int64_t> nchw_shape_for(std::size_t bytes, int itemsize) {
  const double pixels = double(bytes) / double(itemsize) / 12.0;
  std::int64_t w = std::int64_t(std::llround(std::sqrt(pixels * 1296.0 / 966.0)));
  w = std::max<std::int64_t>(32, w / 16 * 16);
  const std::int64_t h = std::max<std::int64_t>(20, std::int64_t(pixels / double(w)));
  return {4, 3, h, w};
}

/// False, with a note, where no GPU is present: the device benchmarks then measure nothing.
inline bool device_present(const char* program) {
  if (cuda_available()) return true;
  std::printf("%s: no CUDA device on this machine; nothing to measure\n", program);
  return false;
}

inline const char* dtype_name(int itemsize);

/// Calls f(bytes, itemsize, view_index, tag) for every size x dtype (f32, f16, u8) x view of the family, tag
/// naming the case ("f32/64MiB/row_reverse") the same way in every device benchmark.
template <class F>
void for_each_case(std::initializer_list<std::size_t> sizes, F&& f) {
  for (std::size_t bytes : sizes)
    for (int item : {4, 2, 1})
      for (int v = 0; v < int(nchw_view_names.size()); ++v) {
        const std::string size = bytes < (std::size_t(1) << 20) ? std::to_string(bytes >> 10) + "KiB"
                                                                 : std::to_string(bytes >> 20) + "MiB";
        f(bytes, item, v, std::string(dtype_name(item)) + "/" + size + "/" + nchw_view_names[std::size_t(v)]);
      }
}

inline const char* dtype_name(int itemsize) { return itemsize == 4 ? "f32" : itemsize == 2 ? "f16" : "u8"; }

}  // namespace stridecopy::bench
