// tests/consumer/device_part.cu — the same from CUDA code: a device-to-device copy on a stream into
// a device_array, where a GPU exists.
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
  cudaStream_t s;
  cudaStreamCreate(&s);
  stridecopy::device_array src(stridecopy::dtype_of<float>(), {8, 8}, s), dst(stridecopy::dtype_of<float>(), {8, 8}, s);
  cudaMemcpyAsync(src.data(), host.data(), 256, cudaMemcpyHostToDevice, s);
  stridecopy::copy(stridecopy::flip(src.as_view(), 1), dst.data(), dst.bytes(), s);
  std::vector<float> out(64);
  cudaMemcpyAsync(out.data(), dst.data(), 256, cudaMemcpyDeviceToHost, s);
  cudaStreamSynchronize(s);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      if (out[std::size_t(r * 8 + c)] != host[std::size_t(r * 8 + 7 - c)]) {
        std::printf("consumer: wrong device value at %d,%d\n", r, c);
        return 1;
      }
  std::printf("consumer: device copy ok\n");
  return 0;
}
