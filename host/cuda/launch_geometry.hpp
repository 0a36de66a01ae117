// host/cuda/launch_geometry.hpp — grid arithmetic for kernel launches (internal, plain C++, tested on
// the CPU): a block count of any size becomes launches whose grids respect the device's limits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace stridecopy::detail {

struct grid_slice {
  std::int64_t block_offset;  ///< first block of this launch
  std::int64_t blocks;        ///< gridDim.x of this launch, 1 .. max_grid_x
};

/// Splits `blocks` blocks into launches of at most `max_grid_x` blocks each; none for zero blocks.
inline std::vector<grid_slice> grid_slices(std::int64_t blocks, std::int64_t max_grid_x) {
  std::vector<grid_slice> out;
  if (max_grid_x < 1) max_grid_x = 1;
  for (std::int64_t at = 0; at < blocks; at += max_grid_x) out.push_back({at, std::min(max_grid_x, blocks - at)});
  return out;
}

}  // namespace stridecopy::detail
