// bench/cuda_bench_util.cuh — what the device benchmarks share: CUDA-event timing, an L2 flush
// before every timed iteration, the NCHW shape of the view family scaled to a byte size, and the
// --iterations=N bound on iteration counts. Device memory is the library's own device_buffer; CUDA
// failures end the program with the call that failed.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "nchw_views.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/device_array.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/view.hpp"

#define BENCH_CUDA(call)                                                      \
  do {                                                                        \
    const cudaError_t e_ = (call);                                            \
    if (e_ != cudaSuccess) {                                                  \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(e_)); \
      std::exit(1);                                                           \
    }                                                                         \
  } while (0)

namespace stridecopy::bench {

/// The card's L2 size in bytes (64 MiB where the driver reports none).
inline std::size_t l2_cache_bytes() {
  int dev = 0, l2 = 0;
  BENCH_CUDA(cudaGetDevice(&dev));
  BENCH_CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
  return std::size_t(l2 > 0 ? l2 : (64 << 20));
}

/// The flush buffer: twice the card's L2 (H100: 2 x 50 MB, one memset of about 35 us per timed
/// iteration), so that the replacement policy cannot keep part of the source in L2.
inline std::size_t l2_flush_bytes() { return 2 * l2_cache_bytes(); }

/// Overwrites a buffer twice the size of L2 so that no timed iteration finds its data in L2.
class l2_flusher {
 public:
  l2_flusher() : buf_(std::make_unique<device_buffer>(l2_flush_bytes())) { BENCH_CUDA(cudaDeviceSynchronize()); }
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

/// NCHW shape [4, 3, H, W] with the BGR example's aspect (966 x 1296) holding about `bytes` of `itemsize`,
/// and at least [4, 3, 20, 32] (the crop view takes 8 rows and columns off each side): the "4KiB" cases
/// hold 30 KiB of float32 and 7.5 KiB of uint8.
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

/// Calls f(bytes, itemsize, view_index, tag) for every size x dtype (f32, f16, u8) x view of the NCHW
/// view family, tag naming the case ("f32/64MiB/row_reverse") the same way in every device benchmark.
template <class F>
void for_each_case(std::initializer_list<std::size_t> sizes, F&& f) {
  for (std::size_t bytes : sizes)
    for (int item : {4, 2, 1})
      for (int v = 0; v < int(nchw_view_names.size()); ++v) {
        const std::string size =
            bytes < (std::size_t(1) << 20) ? std::to_string(bytes >> 10) + "KiB" : std::to_string(bytes >> 20) + "MiB";
        f(bytes, item, v, std::string(dtype_name(item)) + "/" + size + "/" + nchw_view_names[std::size_t(v)]);
      }
}

inline const char* dtype_name(int itemsize) { return itemsize == 4 ? "f32" : itemsize == 2 ? "f16" : "u8"; }

// ---- bounded iteration counts
//
// With UseManualTime, Google Benchmark 1.7.1 grows the iteration count until the summed manual time
// reaches --benchmark_min_time (seconds only): a 4 KiB copy of ~10 us then runs thousands of
// iterations, each behind an L2 flush, and more in the trial runs before. `--iterations=N` (taken out
// of argv by take_iterations_flag before benchmark::Initialize) fixes the count of every timed case
// instead, so that each repetition moves about N x 64 MiB: ceil(N x 64 MiB / bytes), at least 3 and
// at most 20 N. N = 10: 200 iterations at 4 KiB and 1 MiB, 10 at 64 MiB, 3 at 1 GiB. Without the flag
// (or with N = 0) the counts are Google Benchmark's own, as when run by hand.

inline benchmark::IterationCount& iterations_flag() {
  static benchmark::IterationCount n = 0;
  return n;
}

/// Iterations of one repetition of a case of `bytes` under --iterations=n (n > 0).
inline benchmark::IterationCount iterations_for(std::size_t bytes, benchmark::IterationCount n) {
  const double want = std::ceil(double(n) * double(std::size_t(64) << 20) / double(std::max<std::size_t>(bytes, 1)));
  const benchmark::IterationCount hi = std::max<benchmark::IterationCount>(3, 20 * n);
  return std::clamp(benchmark::IterationCount(std::min(want, double(hi))), benchmark::IterationCount(3), hi);
}

/// Reads and removes --iterations=N from argv (call before benchmark::Initialize; add_bench_context
/// records it in the JSON). Exits with status 2 on a malformed value. Prints the flag's line under --help.
inline void take_iterations_flag(int& argc, char** argv) {
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h")
      std::printf(
          "  [--iterations=N]  fixed iteration counts: each repetition moves about N x 64 MiB\n"
          "                    (at least 3, at most 20 N iterations); 0 or absent: Google Benchmark's\n"
          "                    own counts from --benchmark_min_time\n");
    if (a.rfind("--iterations=", 0) == 0) {
      const std::string v = a.substr(13);
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0 || n > 100000) {
        std::fprintf(stderr, "%s: --iterations needs a whole number from 0 to 100000, not \"%s\"\n", argv[0],
                     v.c_str());
        std::exit(2);
      }
      iterations_flag() = benchmark::IterationCount(n);
      continue;
    }
    argv[kept++] = argv[i];
  }
  argc = kept;
  argv[argc] = nullptr;
}

/// True when argv asks only for the list of benchmarks (--benchmark_list_tests[=true]): the names can
/// then be listed, filter and all, on a machine without a GPU.
inline bool listing_only(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true" || a == "--benchmark_list_tests=1")
      return true;
  }
  return false;
}

/// Applies the --iterations bound to a registered manual-time case of `bytes`.
inline benchmark::internal::Benchmark* bounded(benchmark::internal::Benchmark* b, std::size_t bytes) {
  if (iterations_flag() > 0) b->Iterations(iterations_for(bytes, iterations_flag()));
  return b;
}

/// Context lines in the JSON: the iteration bound and the L2 flush size (call once a device is known).
inline void add_bench_context() {
  benchmark::AddCustomContext("stridecopy_iterations_flag", std::to_string(iterations_flag()));
  benchmark::AddCustomContext("l2_cache_bytes", std::to_string(l2_cache_bytes()));
  benchmark::AddCustomContext("l2_flush_bytes", std::to_string(l2_flush_bytes()));
}

}  // namespace stridecopy::bench
