// stridecopy_sim/kernel.hpp — kernels under the CUDA runtime simulator: a launch replays a
// __host__ __device__ op over its grid on a stream's worker thread, through a memory accessor that
// reads and writes device memory where the simulator keeps it and checks every access.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

namespace stridecopy_sim {

/// The memory accessor a kernel op gets under the simulator (the role of device_memory on a GPU).
/// Every global access must lie, naturally aligned, inside one live allocation the kernel's device
/// can reach (its device memory, or pinned host memory); anything else is reported and reads zeros.
class kernel_memory {
 public:
  unsigned char* shared = nullptr;

  template <class T>
  T load(const T* p) const {
    T v;
    std::memcpy(&v, at(p, sizeof(T), false), sizeof(T));
    return v;
  }
  template <class T>
  void store(T* p, const T& v) const {
    std::memcpy(at(p, sizeof(T), true), &v, sizeof(T));
  }
  template <class T>
  T load_shared(const T* p) const {
    return *p;
  }
  template <class T>
  void store_shared(T* p, const T& v) const {
    *p = v;
  }

  /// A resolved allocation: [lo, hi) in the kernel's addresses, `delta` to where the bytes are, and
  /// the bounds of what the kernel read and wrote there (for the happens-before checks).
  struct window {
    std::uintptr_t lo = 0, hi = 0;
    std::ptrdiff_t delta = 0;
    std::uintptr_t read_lo = ~std::uintptr_t(0), read_hi = 0, write_lo = ~std::uintptr_t(0), write_hi = 0;
    void* alloc = nullptr;
  };
  static constexpr int max_windows = 4;

  void* context = nullptr;  ///< the simulator's launch state
  mutable window windows[max_windows];
  mutable int used = 0;

 private:
  unsigned char* at(const void* p, std::size_t n, bool write) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    if (a % n == 0)
      for (int i = 0; i < used; ++i) {
        window& w = windows[i];
        if (a >= w.lo && a + n <= w.hi) {
          if (write) {
            if (a < w.write_lo) w.write_lo = a;
            if (a + n > w.write_hi) w.write_hi = a + n;
          } else {
            if (a < w.read_lo) w.read_lo = a;
            if (a + n > w.read_hi) w.read_hi = a + n;
          }
          return reinterpret_cast<unsigned char*>(a + std::uintptr_t(w.delta));
        }
      }
    return resolve(a, n, write);
  }
  unsigned char* resolve(std::uintptr_t a, std::size_t n, bool write) const;
};

/// Runs one thread of one block in one phase of a kernel.
using kernel_body = std::function<void(const kernel_memory&, long long block, int thread, int phase)>;

/// Queues a kernel of `blocks` blocks of `threads` threads on `stream` (or adds it to the stream's
/// capture): every thread of a phase runs before any of the next (the barrier between phases),
/// blocks and threads in a random order. Returns what cudaLaunchKernelEx would for the
/// configuration: cudaErrorInvalidConfiguration for no blocks, more than the device's grid or block
/// limits, or more shared memory than a block may have without opting in.
cudaError_t launch(cudaStream_t stream, const char* name, long long blocks, int threads, int phases,
                   std::size_t shared_bytes, kernel_body body);

}  // namespace stridecopy_sim
