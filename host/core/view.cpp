// host/core/view.cpp — constructors of stridecopy::view, and the names of memory kinds.
#include "stridecopy/view.hpp"

#include <cstddef>

#include "core/checked_math.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {

const char* to_string(memory_kind k) {
  switch (k) {
    case memory_kind::pageable: return "pageable host";
    case memory_kind::pinned: return "pinned host";
    case memory_kind::device: return "device";
  }
  return "?";
}

view make_view(const void* data, dtype type, std::span<const std::int64_t> shape, std::span<const std::int64_t> strides,
               memory_kind memory) {
  view v;
  v.data = data;
  v.type = type;
  v.layout = strides.empty() ? c_contiguous(shape) : make_layout(shape, strides);
  v.memory = memory;
  return v;
}

view make_view(const void* data, dtype type, std::initializer_list<std::int64_t> shape,
               std::initializer_list<std::int64_t> strides, memory_kind memory) {
  return make_view(data, type, std::span<const std::int64_t>(shape.begin(), shape.size()),
                   std::span<const std::int64_t>(strides.begin(), strides.size()), memory);
}

view contiguous_view(const void* data, dtype type, std::span<const std::int64_t> shape, memory_kind memory) {
  view v = make_view(data, type, shape, {}, memory);
  validate(type);
  const auto bytes = detail::checked_mul(element_count(v.layout), std::int64_t(type.itemsize));
  if (!bytes)
    throw invalid_view("shape " + shape_string(shape) + " of " + to_descr(type) + " has more than 2^63 bytes");
  v.allocation = byte_range{data, std::size_t(*bytes)};
  return v;
}

view contiguous_view(const void* data, dtype type, std::initializer_list<std::int64_t> shape, memory_kind memory) {
  return contiguous_view(data, type, std::span<const std::int64_t>(shape.begin(), shape.size()), memory);
}

mutable_view assume_writable(const view& made_from_writable_memory) { return mutable_view(made_from_writable_memory); }

mutable_view make_view(void* data, dtype type, std::span<const std::int64_t> shape,
                       std::span<const std::int64_t> strides, memory_kind memory) {
  return assume_writable(make_view(static_cast<const void*>(data), type, shape, strides, memory));
}

mutable_view make_view(void* data, dtype type, std::initializer_list<std::int64_t> shape,
                       std::initializer_list<std::int64_t> strides, memory_kind memory) {
  return assume_writable(make_view(static_cast<const void*>(data), type, shape, strides, memory));
}

mutable_view make_view(std::nullptr_t, dtype type, std::span<const std::int64_t> shape,
                       std::span<const std::int64_t> strides, memory_kind memory) {
  return assume_writable(make_view(static_cast<const void*>(nullptr), type, shape, strides, memory));
}

mutable_view contiguous_view(void* data, dtype type, std::span<const std::int64_t> shape, memory_kind memory) {
  return assume_writable(contiguous_view(static_cast<const void*>(data), type, shape, memory));
}

mutable_view contiguous_view(void* data, dtype type, std::initializer_list<std::int64_t> shape, memory_kind memory) {
  return assume_writable(contiguous_view(static_cast<const void*>(data), type, shape, memory));
}

mutable_view contiguous_view(std::nullptr_t, dtype type, std::span<const std::int64_t> shape, memory_kind memory) {
  return assume_writable(contiguous_view(static_cast<const void*>(nullptr), type, shape, memory));
}

mutable_view contiguous_view(std::nullptr_t, dtype type, std::initializer_list<std::int64_t> shape,
                             memory_kind memory) {
  return assume_writable(contiguous_view(static_cast<const void*>(nullptr), type, shape, memory));
}

}  // namespace stridecopy
