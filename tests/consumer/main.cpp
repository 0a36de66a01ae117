// tests/consumer/main.cpp — uses the installed package's host API: a view, a NumPy index, a copy.
#include <stridecopy/stridecopy.hpp>

#include <cstdio>
#include <vector>

int device_part();  // device_part.cu

int main() {
  std::vector<float> imgs(2 * 3 * 4 * 5);
  for (std::size_t i = 0; i < imgs.size(); ++i) imgs[i] = float(i) + 0.5f;
  const std::vector<std::int64_t> shape{2, 3, 4, 5};
  const auto v = stridecopy::slice(stridecopy::contiguous_view(imgs.data(), stridecopy::dtype_of<float>(), shape),
                                   "[:, ::-1, :, :]");
  std::vector<float> out(imgs.size());
  stridecopy::copy_on_host(v, out.data(), out.size() * sizeof(float));
  // out[n, c, h, w] == imgs[n, 2 - c, h, w]
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int hw = 0; hw < 20; ++hw)
        if (out[std::size_t((n * 3 + c) * 20 + hw)] != imgs[std::size_t((n * 3 + 2 - c) * 20 + hw)]) {
          std::printf("consumer: wrong value at n=%d c=%d hw=%d\n", n, c, hw);
          return 1;
        }
  std::printf("consumer: host copy ok\n");
  return device_part();
}
