// host/core/layout.cpp — constructors and queries of stridecopy::layout, and the shape checks.
#include "stridecopy/layout.hpp"

#include <string>

#include "core/checked_math.hpp"
#include "core/checks.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {

namespace detail {

void check_shape(std::span<const std::int64_t> shape) {
  if (shape.size() > std::size_t(max_rank))
    throw invalid_view("shape " + shape_string(shape) + " has " + std::to_string(shape.size()) +
                       " dimensions; stridecopy supports at most " + std::to_string(max_rank));
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0)
      throw invalid_view("shape " + shape_string(shape) + " has a negative extent in dimension " + std::to_string(i));
}

void check_layout(const layout& l) {
  if (l.rank < 0 || l.rank > max_rank)
    throw invalid_view("layout has rank " + std::to_string(l.rank) + "; stridecopy supports 0 to " +
                       std::to_string(max_rank) + " dimensions");
  check_shape(l.extents());
}

}  // namespace detail

namespace {
/// A dense layout: C order walks the last dim fastest, F order the first. Strides of an empty array
/// do not matter; they stay finite.
layout dense(std::span<const std::int64_t> shape, bool c_order) {
  detail::check_shape(shape);
  layout l;
  l.rank = int(shape.size());
  std::int64_t s = 1;
  for (int k = 0; k < l.rank; ++k) {
    const int i = c_order ? l.rank - 1 - k : k;
    l.extent[i] = shape[std::size_t(i)];
    l.stride[i] = s;
    if (auto next = detail::checked_mul(s, l.extent[i] > 0 ? l.extent[i] : 1)) s = *next;
  }
  return l;
}
}  // namespace

layout make_layout(std::span<const std::int64_t> shape, std::span<const std::int64_t> stride) {
  detail::check_shape(shape);
  if (stride.size() != shape.size())
    throw invalid_view("shape " + shape_string(shape) + " has " + std::to_string(shape.size()) + " dimensions but " +
                       std::to_string(stride.size()) + " strides were given");
  layout l;
  l.rank = int(shape.size());
  for (int i = 0; i < l.rank; ++i) {
    l.extent[i] = shape[std::size_t(i)];
    l.stride[i] = stride[std::size_t(i)];
  }
  return l;
}

layout c_contiguous(std::span<const std::int64_t> shape) { return dense(shape, true); }

layout c_contiguous(std::initializer_list<std::int64_t> shape) {
  return c_contiguous(std::span<const std::int64_t>(shape.begin(), shape.size()));
}

layout f_contiguous(std::span<const std::int64_t> shape) { return dense(shape, false); }

std::int64_t element_count(const layout& l) {
  std::int64_t n = 1;
  for (int i = 0; i < l.rank; ++i)
    if (l.extent[i] == 0) return 0;
  for (int i = 0; i < l.rank; ++i) {
    auto next = detail::checked_mul(n, l.extent[i]);
    if (!next) throw invalid_view("shape " + shape_string(l.extents()) + " has more than 2^63 elements");
    n = *next;
  }
  return n;
}

bool is_c_contiguous(const layout& l) {
  if (element_count(l) == 0) return true;
  std::int64_t expected = 1;
  for (int i = l.rank - 1; i >= 0; --i) {
    if (l.extent[i] == 1) continue;
    if (l.stride[i] != expected) return false;
    expected *= l.extent[i];
  }
  return true;
}

std::string shape_string(std::span<const std::int64_t> shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace stridecopy
