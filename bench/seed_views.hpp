// bench/seed_views.hpp — the seed family of views every benchmark measures (host and device), built
// with slice/permute from a contiguous NCHW base and its NHWC twin.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "stridecopy/index.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy::bench {

/// Short names, in the order seed_views() returns them (benchmark names use them).
inline constexpr std::array<const char*, 7> seed_view_names{
    "channel_reverse", "row_reverse", "plane_reverse", "step2", "crop", "nchw_to_nhwc", "nhwc_channel_reverse"};

struct seed_view {
  std::string name;   ///< one of seed_view_names
  std::string numpy;  ///< the view as NumPy writes it
  view v;
};

inline std::vector<seed_view> seed_views(const view& nchw, const view& nhwc) {
  return {
      {seed_view_names[0], "[:, ::-1, :, :]", slice(nchw, "[:, ::-1, :, :]")},
      {seed_view_names[1], "[..., ::-1]", slice(nchw, "[..., ::-1]")},
      {seed_view_names[2], "[:, :, ::-1, ::-1]", slice(nchw, "[:, :, ::-1, ::-1]")},
      {seed_view_names[3], "[..., ::2]", slice(nchw, "[..., ::2]")},
      {seed_view_names[4], "[:, :, 8:-8, 8:-8]", slice(nchw, "[:, :, 8:-8, 8:-8]")},
      {seed_view_names[5], ".transpose(0, 2, 3, 1)", permute(nchw, {0, 2, 3, 1})},
      {seed_view_names[6], "NHWC [..., ::-1]", slice(nhwc, "[..., ::-1]")},
  };
}

/// The seed batch: [4, 3, 966, 1296], and its channel-last twin.
inline const std::vector<std::int64_t> seed_shape{4, 3, 966, 1296};
inline const std::vector<std::int64_t> seed_shape_nhwc{4, 966, 1296, 3};

}  // namespace stridecopy::bench
