// tests/consumer/main.cpp — uses the installed package's host API: a view, a NumPy index, a copy, and
// a plan reused on a second allocation.
#include <stridecopy/stridecopy.hpp>

#include <cstdio>
#include <vector>

#ifdef CONSUMER_WITHOUT_CUDA
// A CPU-only package: no device, and a device copy says how the library was built.
int device_part() {
  if (stridecopy::cuda_available()) {
    std::printf("consumer: a CPU-only package reports a CUDA device\n");
    return 1;
  }
  std::vector<float> host(64);
  try {
    (void)stridecopy::to_device(stridecopy::contiguous_view(host.data(), stridecopy::dtype_of<float>(), {8, 8}));
  } catch (const stridecopy::cuda_error& e) {
    std::printf("consumer: %s\n", e.what());
    return 0;
  }
  std::printf("consumer: to_device of a CPU-only package did not throw\n");
  return 1;
}
#else
int device_part();  // device_part.cu
#endif

namespace {
bool is_bgr_of(const std::vector<float>& out, const std::vector<float>& imgs) {
  // out[n, c, h, w] == imgs[n, 2 - c, h, w]
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int hw = 0; hw < 20; ++hw)
        if (out[std::size_t((n * 3 + c) * 20 + hw)] != imgs[std::size_t((n * 3 + 2 - c) * 20 + hw)]) return false;
  return true;
}
}  // namespace

int main() {
  std::vector<float> imgs(2 * 3 * 4 * 5);
  for (std::size_t i = 0; i < imgs.size(); ++i) imgs[i] = float(i) + 0.5f;
  const auto v = stridecopy::slice(
      stridecopy::contiguous_view(imgs.data(), stridecopy::dtype_of<float>(), {2, 3, 4, 5}), "[:, ::-1, :, :]");
  std::vector<float> out(imgs.size());
  stridecopy::copy(v, out.data(), out.size() * sizeof(float), {}, {.how = stridecopy::strategy::cpu});
  if (!is_bgr_of(out, imgs)) {
    std::printf("consumer: wrong host copy\n");
    return 1;
  }
  // The same view as a plan, run on another frame of the same shape.
  const stridecopy::plan p = stridecopy::make_plan(v);
  std::vector<float> frame(imgs.size());
  for (std::size_t i = 0; i < frame.size(); ++i) frame[i] = -float(i);
  if (stridecopy::copy(p, frame.data(), out.data(), out.size() * sizeof(float)) != stridecopy::strategy::cpu ||
      !is_bgr_of(out, frame)) {
    std::printf("consumer: wrong copy with a reused plan\n");
    return 1;
  }
  std::printf("consumer: host copy ok\n");
  return device_part();
}
