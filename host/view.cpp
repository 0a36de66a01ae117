// host/view.cpp — constructors of stridecopy::view.
#include "stridecopy/view.hpp"

#include <cstddef>

#include "stridecopy/error.hpp"

namespace stridecopy {

const char* to_string(memory_space s) {
  switch (s) {
    case memory_space::host: return "host";
    case memory_space::pinned_host: return "pinned host";
    case memory_space::device: return "device";
  }
  return "?";
}

view make_view(const void* data, dtype type, std::span<const std::int64_t> shape,
               std::span<const std::int64_t> strides, memory_space space) {
  view v;
  v.data = data;
  v.type = type;
  v.lay = strides.empty() ? c_contiguous(shape) : make_layout(shape, strides);
  v.space = space;
  return v;
}

view contiguous_view(const void* data, dtype type, std::span<const std::int64_t> shape, memory_space space) {
  view v = make_view(data, type, shape, {}, space);
  validate(type);
  const std::int64_t n = element_count(v.lay);
  std::int64_t bytes;
  if (__builtin_mul_overflow(n, std::int64_t(type.itemsize), &bytes))
    throw invalid_view("shape " + shape_string(shape) + " of " + to_descr(type) + " has more than 2^63 bytes");
  v.allocation = byte_range{data, std::size_t(bytes)};
  return v;
}

}  // namespace stridecopy
