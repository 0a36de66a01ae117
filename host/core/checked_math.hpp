// host/checked_math.hpp — int64 arithmetic that reports overflow instead of wrapping (internal).
#pragma once

#include <cstdint>
#include <optional>

namespace stridecopy::detail {

inline std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

}  // namespace stridecopy::detail
