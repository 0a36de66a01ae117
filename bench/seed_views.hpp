// bench/seed_views.hpp — the seed family of views every benchmark measures, built with slice/permute.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stridecopy/index.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy::bench {

struct seed_view {
  std::string name;   ///< as NumPy would write it
  view v;
};

/// The seed family over a contiguous base of the seed shape: float32 (or other 4/2-byte types)
/// [4, 3, 966, 1296] views, and uint8 [4, 966, 1296, 3] channel reverse.
inline std::vector<seed_view> seed_family(const view& nchw, const view& nhwc_u8) {
  return {
      {"[:, ::-1, :, :]", slice(nchw, "[:, ::-1, :, :]")},
      {"[..., ::-1]", slice(nchw, "[..., ::-1]")},
      {"[:, :, ::-1, ::-1]", slice(nchw, "[:, :, ::-1, ::-1]")},
      {"[..., ::2]", slice(nchw, "[..., ::2]")},
      {".transpose(0, 2, 3, 1)", permute(nchw, {0, 2, 3, 1})},
      {"u8 NHWC [..., ::-1]", slice(nhwc_u8, "[..., ::-1]")},
  };
}

inline const std::vector<std::int64_t> seed_shape{4, 3, 966, 1296};
inline const std::vector<std::int64_t> seed_shape_nhwc{4, 966, 1296, 3};

}  // namespace stridecopy::bench
