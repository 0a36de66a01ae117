// bench/plan_bench.cpp — Google Benchmark, host only: what a call costs beyond its bytes. make_plan
// alone, and per-call time of a small CPU copy (64 B, 4 KiB, 64 KiB) made four ways: a reused plan
// (copy), a one-shot copy(view, dst, bytes) (plans every call), the same with strategy::cpu forced
// (no CUDA call; the team chosen from the size), and forced onto two threads; beside memcpy of the same bytes in the
// same run. Two views: a contiguous [rows, 16] float32 array, whose gather is a memcpy (so a way's time minus memcpy's
// is the call's overhead), and the same array with its rows reversed (a real gather).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "nchw_views.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/plan.hpp"

namespace sc = stridecopy;

namespace {

struct small_case {
  std::vector<float> src, dst;
  sc::view v;
  small_case(std::size_t bytes, bool reversed) : src(bytes / 4), dst(bytes / 4) {
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = float(i) + 0.5f;
    const std::int64_t rows = std::int64_t(bytes / 64);
    v = sc::contiguous_view(src.data(), sc::dtype_of<float>(), {rows, 16});
    if (reversed) v = sc::flip(v, 1);
  }
};

enum class way { memcpy, reused_plan, one_shot, forced_cpu, forced_cpu_two_threads };

void per_call(benchmark::State& state, std::size_t bytes, bool reversed, way w) {
  small_case c(bytes, reversed);
  const sc::plan p = sc::make_plan(c.v);
  for (auto _ : state) {
    switch (w) {
      case way::memcpy: std::memcpy(c.dst.data(), c.src.data(), bytes); break;
      case way::reused_plan: (void)sc::copy(p, c.src.data(), c.dst.data(), bytes); break;
      case way::one_shot: (void)sc::copy(c.v, c.dst.data(), bytes); break;
      case way::forced_cpu: sc::copy(c.v, c.dst.data(), bytes, {}, {.how = sc::strategy::cpu}); break;
      case way::forced_cpu_two_threads:
        sc::copy(c.v, c.dst.data(), bytes, {}, {.how = sc::strategy::cpu, .threads = 2});
        break;
    }
    benchmark::DoNotOptimize(c.dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(bytes));
  state.counters["bytes"] = double(bytes);
}

void make_plan_alone(benchmark::State& state) {
  const sc::view bgr =
      sc::slice(sc::contiguous_view(nullptr, sc::dtype_of<float>(), sc::bench::bgr_shape), "[:, ::-1, :, :]");
  for (auto _ : state) benchmark::DoNotOptimize(sc::make_plan(bgr));
  state.SetLabel("the BGR example [:, ::-1, :, :]");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("make_plan/bgr", make_plan_alone);
  const std::pair<const char*, way> ways[] = {{"memcpy", way::memcpy},
                                              {"reused_plan", way::reused_plan},
                                              {"one_shot", way::one_shot},
                                              {"forced_cpu", way::forced_cpu},
                                              {"forced_cpu_2_threads", way::forced_cpu_two_threads}};
  for (const bool reversed : {false, true})
    for (const std::size_t bytes : {std::size_t(64), std::size_t(4096), std::size_t(65536)})
      for (const auto& [name, w] : ways)
        benchmark::RegisterBenchmark(("per_call/" + std::string(reversed ? "reversed_rows/" : "contiguous/") + name +
                                      "/" + std::to_string(bytes))
                                         .c_str(),
                                     per_call, bytes, reversed, w);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
