// bench/npy_bench.cpp — Google Benchmark, host only: save_npy of the NCHW view family from memory into a
// file (the page cache), beside save_npy of a contiguous array of the same bytes (no gather: the bytes
// are written as they are). bench/cli_bench.py runs it beside np.save in the same run.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "nchw_views.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/npy.hpp"
#include "stridecopy/plan.hpp"

namespace sc = stridecopy;
namespace fs = std::filesystem;

namespace {

struct inputs {
  sc::host_array nchw{sc::dtype_of<float>(), sc::bench::bgr_shape, sc::order::c, sc::memory_kind::pageable};
  sc::host_array nhwc{sc::dtype_of<std::uint8_t>(), sc::bench::bgr_shape_nhwc, sc::order::c, sc::memory_kind::pageable};
  std::vector<sc::bench::nchw_view> views;
  fs::path out;
  inputs() {
    std::mt19937_64 g(7);
    for (sc::host_array* a : {&nchw, &nhwc}) {
      auto* p = static_cast<std::uint64_t*>(a->data());
      for (std::size_t i = 0; i < a->bytes() / 8; ++i) p[i] = g();
    }
    views = sc::bench::nchw_views(nchw.as_view(), nhwc.as_view());
    const char* dir = std::getenv("NPY_BENCH_DIR");
    out =
        fs::path(dir ? dir : fs::temp_directory_path().string()) / ("npy_bench_" + std::to_string(::getpid()) + ".npy");
  }
  ~inputs() {
    std::error_code ec;
    fs::remove(out, ec);
  }
};

inputs& data() {
  static inputs d;
  return d;
}

void save(benchmark::State& state, const sc::view& v, const std::string& label) {
  auto& d = data();
  sc::save_npy(d.out, v);  // warm-up
  for (auto _ : state) {
    // Each run writes a new file, as bench/cli_bench.py times np.save: the previous one is removed
    // first, untimed (replacing it would time the freeing of its pages and blocks as well).
    std::error_code ec;
    fs::remove(d.out, ec);
    const auto t0 = std::chrono::steady_clock::now();
    sc::save_npy(d.out, v);
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const std::size_t bytes = sc::make_plan(v).bytes;
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(bytes));
  state.counters["bytes"] = double(bytes);
  state.SetLabel(label);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (std::size_t i = 0; i < data().views.size(); ++i) {
    const auto& nv = data().views[i];
    benchmark::RegisterBenchmark(("save_npy/" + nv.name).c_str(),
                                 [i](benchmark::State& s) { save(s, data().views[i].v, data().views[i].numpy); })
        ->UseManualTime()
        ->Iterations(10);
  }
  // The same bytes, contiguous: what np.save of a contiguous array does, from stridecopy.
  benchmark::RegisterBenchmark(
      "save_npy/contiguous_f32",
      [](benchmark::State& s) { save(s, data().nchw.as_view(), "contiguous float32 [4, 3, 966, 1296]"); })
      ->UseManualTime()
      ->Iterations(10);
  benchmark::RegisterBenchmark(
      "save_npy/contiguous_u8",
      [](benchmark::State& s) { save(s, data().nhwc.as_view(), "contiguous uint8 [4, 966, 1296, 3]"); })
      ->UseManualTime()
      ->Iterations(10);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
