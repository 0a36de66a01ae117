// kernels/ops/divmod.cuh — division by an invariant divisor as a multiply-high, a
// shift and an add (Granlund and Montgomery, "Division by invariant integers using
// multiplication", 1994, figure 4.1): exact for every dividend of the unsigned type, every divisor
// >= 1. The kernels split linear indices into coordinates with it; tests prove it on the CPU.
#pragma once

#include <cstdint>
#include <type_traits>

#include "ops/config.cuh"

namespace stridecopy::kernels {

template <class Index>
struct divmod_result {
  Index quotient;
  Index remainder;
};

/// n / d and n % d for a divisor d fixed when the struct is built (on the host). Index may be
/// signed; dividends must then be >= 0 (indices and offsets are).
template <class Index>
class fast_divmod {
 public:
  using unsigned_type = std::make_unsigned_t<Index>;
  static_assert(sizeof(Index) == 4 || sizeof(Index) == 8, "32- or 64-bit indices");

  fast_divmod() = default;

  /// Host only: the magic numbers for divisor d >= 1.
  explicit fast_divmod(Index d) : divisor_(unsigned_type(d)) {
    using wide = std::conditional_t<sizeof(Index) == 4, std::uint64_t, unsigned __int128>;
    constexpr int bits = int(sizeof(unsigned_type)) * 8;
    int l = 0;  // ceil(log2(d))
    while (l < bits && (wide(1) << l) < wide(divisor_)) ++l;
    // m' = floor(2^N (2^l - d) / d) + 1 fits N bits; 2^N (2^l - d) < 2^2N fits the wide type.
    multiplier_ = unsigned_type((wide(1) << bits) * ((wide(1) << l) - wide(divisor_)) / wide(divisor_) + 1);
    shift1_ = l > 0 ? 1 : 0;
    shift2_ = l > 0 ? l - 1 : 0;
  }

  [[nodiscard]] STRIDECOPY_HD Index divisor() const { return Index(divisor_); }

  [[nodiscard]] STRIDECOPY_HD divmod_result<Index> operator()(Index n) const {
    const auto u = unsigned_type(n);
    const unsigned_type t = mulhi(multiplier_, u);
    const unsigned_type q = (t + ((u - t) >> shift1_)) >> shift2_;
    return {Index(q), Index(u - q * divisor_)};
  }

 private:
  static STRIDECOPY_HD unsigned_type mulhi(unsigned_type a, unsigned_type b) {
    if constexpr (sizeof(unsigned_type) == 4) {
      return unsigned_type((static_cast<unsigned long long>(a) * b) >> 32);
    } else {
#ifdef __CUDA_ARCH__
      return __umul64hi(a, b);
#else
      return unsigned_type((static_cast<unsigned __int128>(a) * b) >> 64);
#endif
    }
  }

  unsigned_type divisor_ = 1;
  unsigned_type multiplier_ = 1;
  int shift1_ = 0;
  int shift2_ = 0;
};

}  // namespace stridecopy::kernels
