// tests/consumer/device_part.cu — the same from CUDA code: copy_to_device on a stream, where a GPU exists.
#include <cuda_runtime.h>
#include <stridecopy/stridecopy.hpp>

#include <cstdio>
#include <vector>

int device_part() {
  if (!stridecopy::cuda_available()) {
    std::printf("consumer: no CUDA device, device copy skipped\n");
    return 0;
  }
  std::vector<float> host(64);
  for (std::size_t i = 0; i < host.size(); ++i) host[i] = float(i);
  float *src = nullptr, *dst = nullptr;
  cudaMalloc(&src, 256);
  cudaMalloc(&dst, 256);
  cudaMemcpy(src, host.data(), 256, cudaMemcpyHostToDevice);
  const std::vector<std::int64_t> shape{8, 8};
  const auto v = stridecopy::flip(stridecopy::contiguous_view(src, stridecopy::dtype_of<float>(), shape,
                                                              stridecopy::memory_space::device), 1);
  cudaStream_t s;
  cudaStreamCreate(&s);
  stridecopy::copy_to_device(v, dst, 256, s);
  std::vector<float> out(64);
  cudaMemcpy(out.data(), dst, 256, cudaMemcpyDeviceToHost);
  cudaStreamDestroy(s);
  cudaFree(src);
  cudaFree(dst);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      if (out[std::size_t(r * 8 + c)] != host[std::size_t(r * 8 + 7 - c)]) {
        std::printf("consumer: wrong device value at %d,%d\n", r, c);
        return 1;
      }
  std::printf("consumer: device copy ok\n");
  return 0;
}
