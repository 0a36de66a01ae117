// tools/cli/demo.cpp — the BGR example: a [4, 3, 966, 1296] float32 batch viewed as [:, ::-1, :, :]
// (RGB -> BGR), copied into a pinned NumPy-layout buffer and into a .npy, verified and timed against
// the limit measured in the same run.
#include "demo.hpp"

#if STRIDECOPY_HAS_CUDA
#include <cuda_runtime_api.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

#include "cpu/thread_pool.hpp"
#include "cuda/runtime.hpp"
#if STRIDECOPY_HAS_CUDA
#include "cuda/check.hpp"
#include "cuda/resources.hpp"
#endif
#include "stridecopy/stridecopy.hpp"

namespace stridecopy::tools {

namespace {

using clock_type = std::chrono::steady_clock;

template <class F>
double median_ms(int repeat, F&& f) {
  std::vector<double> t;
  f();  // warm-up: first touch of the destination, thread start
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = clock_type::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// memcpy split over as many threads as the host executor may use: the host path's limit.
void parallel_memcpy(void* dst, const void* src, std::size_t bytes) {
  const int k = detail::cpu_threads();
  detail::run_pieces(k, k, [&](std::int64_t t) {
    const std::size_t begin = bytes * std::size_t(t) / std::size_t(k) / 64 * 64;
    const std::size_t end = t + 1 == k ? bytes : bytes * std::size_t(t + 1) / std::size_t(k) / 64 * 64;
    std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, end - begin);
  });
}

double gbps(std::size_t bytes, double ms) { return double(bytes) / (ms * 1e6); }

// out[n, c] must be imgs[n, 2 - c], plane by plane.
bool verify_bgr(const float* imgs, const float* out, std::int64_t n, std::int64_t c, std::int64_t hw) {
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < c; ++j)
      if (std::memcmp(out + (i * c + j) * hw, imgs + (i * c + (c - 1 - j)) * hw, std::size_t(hw) * sizeof(float)) != 0)
        return false;
  return true;
}

}  // namespace

namespace {

const std::vector<std::int64_t> bgr_shape{4, 3, 966, 1296};
const std::string bgr_index = "[:, ::-1, :, :]";

/// The .npy half of the demo: save the view, read the file back, compare with `expected`.
bool save_and_check(const demo_options& o, const view& bgr, const host_array& expected) {
  namespace fs = std::filesystem;
  const fs::path path = o.output.empty()
                            ? fs::temp_directory_path() / ("stridecopy_demo_" + std::to_string(::getpid()) + ".npy")
                            : fs::path(o.output);
  const auto t0 = clock_type::now();
  save_npy(path, bgr);
  const double save_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  const host_array back = load_npy(path);
  const bool ok =
      back.type() == expected.type() &&
      std::equal(back.shape().begin(), back.shape().end(), expected.shape().begin(), expected.shape().end()) &&
      std::memcmp(back.data(), expected.data(), expected.bytes()) == 0;
  std::printf("  save_npy -> %s: %.1f ms (%.2f GB/s, into the page cache); reloaded: %s\n", path.c_str(), save_ms,
              gbps(expected.bytes(), save_ms), ok ? "identical" : "MISMATCH");
  if (o.output.empty()) fs::remove(path);
  return ok;
}

#if STRIDECOPY_HAS_CUDA
int run_gpu_demo(const demo_options& o) {
  const std::int64_t n = bgr_shape[0], c = bgr_shape[1], hw = bgr_shape[2] * bgr_shape[3];
  int device = 0;
  cudaDeviceProp prop{};
  STRIDECOPY_CUDA_TRY(cudaGetDevice(&device));
  STRIDECOPY_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
  std::printf("GPU: %s: the batch lives in device memory; the copy crosses the host link\n", prop.name);

  // Owned, and made before the device arrays: they free their memory on it when they go, so it must
  // outlive them (declared first, destroyed last).
  const detail::owned_stream stream = detail::owned_stream::create();
  const cudaStream_t s = stream.get();
  // Fresh random pixels on the device, uploaded on the stream the copies use.
  host_array imgs(dtype_of<float>(), bgr_shape, order::c, memory_kind::pageable);
  std::mt19937 g(std::random_device{}());
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  auto* p = static_cast<float*>(imgs.data());
  for (std::int64_t i = 0; i < imgs.size(); ++i) p[i] = pixel(g);
  device_array d_imgs(dtype_of<float>(), bgr_shape, s);
  device_array d_tmp(dtype_of<float>(), bgr_shape, s);
  STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(d_imgs.data(), imgs.data(), imgs.bytes(), cudaMemcpyHostToDevice, s));
  STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(s));
  const view bgr = slice(d_imgs.as_view(), bgr_index);

  host_array out(dtype_of<float>(), bgr_shape);  // pinned, from the caching pool
  std::printf("  destination: %s host buffer of %zu bytes\n", out.is_pinned() ? "pinned" : "pageable", out.bytes());
  const plan pl = make_plan(bgr, memory_kind::pinned);
  strategy ran = strategy::none;
  const double ours = median_ms(o.repeat, [&] { ran = copy(pl, d_imgs.data(), out.data(), out.bytes(), s); });
  std::printf("  plan: %s, %d dims after merging; strategy that ran: %s\n", to_string(pl.pattern()), pl.rank(),
              to_string(ran));
  const bool ok = verify_bgr(p, static_cast<const float*>(out.data()), n, c, hw);
  host_buffer limit_dst(out.bytes());
  const double limit = median_ms(o.repeat, [&] {
    STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(limit_dst.data(), d_imgs.data(), out.bytes(), cudaMemcpyDeviceToHost, s));
    STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(s));
  });
  // The two-pass way: contiguous-ise on the device, then copy into pageable memory.
  std::vector<std::byte> pageable(out.bytes());
  const double two_pass = median_ms(o.repeat, [&] {
    copy_async(bgr, d_tmp.data(), out.bytes(), s);
    STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(pageable.data(), d_tmp.data(), out.bytes(), cudaMemcpyDeviceToHost, s));
    STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(s));
  });
  std::printf("  copy (pinned, reused plan): %7.2f ms  %6.2f GB/s   (median of %d)\n", ours, gbps(out.bytes(), ours),
              o.repeat);
  std::printf(
      "  contiguous pinned cudaMemcpyAsync D2H, same bytes, same run (the limit): %7.2f ms  %6.2f GB/s -> %.2fx of the "
      "limit\n",
      limit, gbps(out.bytes(), limit), limit / ours);
  std::printf("  two-pass (gather on device, then copy to pageable): %7.2f ms -> stridecopy is %.2fx faster\n",
              two_pass, two_pass / ours);
  std::printf("  verified: %s\n", ok ? "every element equals imgs[n, 2 - c, h, w]" : "MISMATCH");
  const bool file_ok = ok && save_and_check(o, bgr, out);
  STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(s));
  return ok && file_ok ? 0 : 1;
}

#else
// A build without CUDA: run_demo never reaches the GPU demo (cuda_available() is false).
int run_gpu_demo(const demo_options& /*o*/) { detail::no_device("demo --backend cuda"); }
#endif

}  // namespace

int run_demo(const demo_options& o) {
  const std::vector<std::int64_t>& shape = bgr_shape;
  const std::int64_t n = shape[0], c = shape[1], hw = shape[2] * shape[3];
  const std::string& index = bgr_index;
  const bool gpu = cuda_available();
  if (o.backend == "cuda" && !gpu) detail::no_device("demo --backend cuda");
  std::printf("stridecopy demo: imgs%s on a float32 batch of shape %s (RGB -> BGR), %.1f MB\n", index.c_str(),
              shape_string(shape).c_str(), double(n * c * hw * 4) / 1e6);
  if (o.backend == "cuda" || (o.backend == "auto" && gpu)) return run_gpu_demo(o);
  std::printf("%s: running the host path (CPU gather on up to %d threads)\n",
              gpu ? "host backend chosen" : "no CUDA device on this machine", detail::cpu_threads());

  // Fresh random pixels in pageable memory, as a decoder would leave them.
  host_array imgs(dtype_of<float>(), shape, order::c, memory_kind::pageable);
  std::mt19937 g(std::random_device{}());
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  auto* p = static_cast<float*>(imgs.data());
  for (std::int64_t i = 0; i < imgs.size(); ++i) p[i] = pixel(g);
  const view bgr = slice(imgs.as_view(), index);
  const plan pl = make_plan(bgr);
  std::printf("  plan: %s, %d dims after merging, %s\n", to_string(pl.pattern()), pl.rank(),
              pl.walk.index64 ? "64-bit indexing" : "32-bit indexing");

  // Into a NumPy-layout buffer: pinned where a CUDA driver is present.
  host_array out(dtype_of<float>(), shape);
  std::printf("  destination: %s host buffer of %zu bytes\n", out.is_pinned() ? "pinned" : "pageable (no CUDA driver)",
              out.bytes());
  strategy ran = strategy::none;
  const double ours = median_ms(o.repeat, [&] { ran = copy(pl, imgs.data(), out.data(), out.bytes()); });
  std::printf("  strategy that ran: %s\n", to_string(ran));
  const bool ok = verify_bgr(p, static_cast<const float*>(out.data()), n, c, hw);
  std::vector<std::byte> scratch(out.bytes());
  const double limit = median_ms(o.repeat, [&] { parallel_memcpy(scratch.data(), imgs.data(), scratch.size()); });
  std::printf("  copy (reused plan): %7.2f ms  %6.2f GB/s   (median of %d)\n", ours, gbps(out.bytes(), ours), o.repeat);
  std::printf(
      "  memcpy on as many threads, same bytes, same run (the limit): %7.2f ms  %6.2f GB/s  -> %.2fx of the limit\n",
      limit, gbps(out.bytes(), limit), limit / ours);
  std::printf("  verified: %s\n", ok ? "every element equals imgs[n, 2 - c, h, w]" : "MISMATCH");
  if (!ok) return 1;

  return save_and_check(o, bgr, out) ? 0 : 1;
}

}  // namespace stridecopy::tools
