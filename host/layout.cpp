// host/layout.cpp — constructors and queries of stridecopy::layout.
#include "stridecopy/layout.hpp"

#include <string>

#include "checked_math.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {

namespace {
void check_shape(std::span<const std::int64_t> shape) {
  if (shape.size() > std::size_t(max_rank))
    throw invalid_view("shape " + shape_string(shape) + " has rank " + std::to_string(shape.size()) +
                       "; stridecopy supports rank 0 to " + std::to_string(max_rank));
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0)
      throw invalid_view("shape " + shape_string(shape) + " has a negative extent in dimension " + std::to_string(i));
}
}  // namespace

layout make_layout(std::span<const std::int64_t> shape, std::span<const std::int64_t> stride) {
  check_shape(shape);
  if (stride.size() != shape.size())
    throw invalid_view("shape " + shape_string(shape) + " has rank " + std::to_string(shape.size()) + " but " +
                       std::to_string(stride.size()) + " strides were given");
  layout l;
  l.rank = int(shape.size());
  for (int i = 0; i < l.rank; ++i) {
    l.shape[i] = shape[i];
    l.stride[i] = stride[i];
  }
  return l;
}

layout c_contiguous(std::span<const std::int64_t> shape) {
  check_shape(shape);
  layout l;
  l.rank = int(shape.size());
  std::int64_t s = 1;
  for (int i = l.rank - 1; i >= 0; --i) {
    l.shape[i] = shape[i];
    l.stride[i] = s;
    // Strides of an empty array do not matter; keep them finite.
    if (auto next = detail::checked_mul(s, shape[i] > 0 ? shape[i] : 1)) s = *next;
  }
  return l;
}

layout f_contiguous(std::span<const std::int64_t> shape) {
  check_shape(shape);
  layout l;
  l.rank = int(shape.size());
  std::int64_t s = 1;
  for (int i = 0; i < l.rank; ++i) {
    l.shape[i] = shape[i];
    l.stride[i] = s;
    if (auto next = detail::checked_mul(s, shape[i] > 0 ? shape[i] : 1)) s = *next;
  }
  return l;
}

std::int64_t element_count(const layout& l) {
  std::int64_t n = 1;
  for (int i = 0; i < l.rank; ++i)
    if (l.shape[i] == 0) return 0;
  for (int i = 0; i < l.rank; ++i) {
    auto next = detail::checked_mul(n, l.shape[i]);
    if (!next) throw invalid_view("shape " + shape_string(l.extents()) + " has more than 2^63 elements");
    n = *next;
  }
  return n;
}

bool is_c_contiguous(const layout& l) {
  if (element_count(l) == 0) return true;
  std::int64_t expected = 1;
  for (int i = l.rank - 1; i >= 0; --i) {
    if (l.shape[i] == 1) continue;
    if (l.stride[i] != expected) return false;
    expected *= l.shape[i];
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
