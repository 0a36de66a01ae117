// stridecopy/view.hpp — a strided view of memory: data pointer, element type, layout, memory space.
// `data` points at logical element (0, ..., 0); strides may be negative or zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "stridecopy/dtype.hpp"
#include "stridecopy/layout.hpp"

namespace stridecopy {

enum class memory_space {
  host,         ///< ordinary (pageable) host memory
  pinned_host,  ///< page-locked host memory (cudaHostAlloc), reachable by the device's copy engines
  device,       ///< device memory (cudaMalloc)
};

/// "host", "pinned host" or "device", for messages.
const char* to_string(memory_space s);

/// The bytes of one allocation; a view that knows its allocation is checked against it.
struct byte_range {
  const void* base = nullptr;
  std::size_t bytes = 0;
};

struct view {
  const void* data = nullptr;
  dtype type{};
  layout lay{};
  memory_space space = memory_space::host;
  /// When set, make_plan rejects a view that reads outside these bytes; slicing keeps it.
  std::optional<byte_range> allocation{};

  [[nodiscard]] int rank() const { return lay.rank; }
  [[nodiscard]] std::span<const std::int64_t> shape() const { return lay.extents(); }
  [[nodiscard]] std::span<const std::int64_t> strides() const { return lay.strides(); }
};

/// A view of `data` with the given shape and element strides (C order when `strides` is empty).
view make_view(const void* data, dtype type, std::span<const std::int64_t> shape,
               std::span<const std::int64_t> strides = {}, memory_space space = memory_space::host);

/// A C-contiguous view over a whole allocation of `shape`, with the allocation's bounds recorded.
view contiguous_view(const void* data, dtype type, std::span<const std::int64_t> shape,
                     memory_space space = memory_space::host);

}  // namespace stridecopy
