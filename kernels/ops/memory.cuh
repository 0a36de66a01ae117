// kernels/ops/memory.cuh — how ops touch memory on the device. Ops read and write only
// through an accessor like this one, so the CPU replay can substitute one that checks every access.
#pragma once

#include <vector_types.h>  // uint4

#include <cuda/std/bit>
#include <cuda/std/type_traits>

#include "ops/config.cuh"

namespace stridecopy::kernels {

/// Plain loads and stores; global loads go through the read-only path (the source is never written
/// during a copy).
struct device_memory {
  unsigned char* shared = nullptr;

  template <class T>
  STRIDECOPY_HD T load(const T* p) const {
#ifdef __CUDA_ARCH__
    if constexpr (sizeof(T) == 16 && !::cuda::std::is_same_v<T, uint4>) {  // unit16: __ldg knows uint4 only
      return ::cuda::std::bit_cast<T>(__ldg(reinterpret_cast<const uint4*>(p)));
    } else {
      return __ldg(p);
    }
#else
    return *p;
#endif
  }
  template <class T>
  STRIDECOPY_HD void store(T* p, const T& v) const {
    *p = v;
  }
  template <class T>
  STRIDECOPY_HD T load_shared(const T* p) const {
    return *p;
  }
  template <class T>
  STRIDECOPY_HD void store_shared(T* p, const T& v) const {
    *p = v;
  }
};

}  // namespace stridecopy::kernels
