// bench/nchw_views.hpp — the NCHW view family every benchmark measures (host and device), built with
// slice/permute from a contiguous NCHW base and its NHWC twin.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "stridecopy/index.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy::bench {

/// Short names, in the order nchw_views() returns them (benchmark names use them).
inline constexpr std::array<const char*, 7> nchw_view_names{
    "channel_reverse", "row_reverse", "plane_reverse", "step2", "crop", "nchw_to_nhwc", "nhwc_channel_reverse"};

struct nchw_view {
  std::string name;   ///< one of nchw_view_names
  std::string numpy;  ///< the view as NumPy writes it
  view v;
};

inline std::vector<nchw_view> nchw_views(const view& nchw, const view& nhwc) {
  return {
      {nchw_view_names[0], "[:, ::-1, :, :]", slice(nchw, "[:, ::-1, :, :]")},
      {nchw_view_names[1], "[..., ::-1]", slice(nchw, "[..., ::-1]")},
      {nchw_view_names[2], "[:, :, ::-1, ::-1]", slice(nchw, "[:, :, ::-1, ::-1]")},
      {nchw_view_names[3], "[..., ::2]", slice(nchw, "[..., ::2]")},
      {nchw_view_names[4], "[:, :, 8:-8, 8:-8]", slice(nchw, "[:, :, 8:-8, 8:-8]")},
      {nchw_view_names[5], ".transpose(0, 2, 3, 1)", permute(nchw, {0, 2, 3, 1})},
      {nchw_view_names[6], "NHWC [..., ::-1]", slice(nhwc, "[..., ::-1]")},
  };
}

/// The BGR example's batch: [4, 3, 966, 1296], and its channel-last twin.
inline const std::vector<std::int64_t> bgr_shape{4, 3, 966, 1296};
inline const std::vector<std::int64_t> bgr_shape_nhwc{4, 966, 1296, 3};

/// The index text "[k]" of frame k of a batch (built without operator+, which GCC 12's -Wrestrict
/// misreads under -Werror).
inline std::string frame_index(std::int64_t k) {
  std::string at = std::to_string(k);
  at.insert(at.begin(), '[');
  at.push_back(']');
  return at;
}

}  // namespace stridecopy::bench
