// tests/test_util.hpp — fresh random data and canary-guarded, poisoned destinations for tests.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "stridecopy/error.hpp"
#include "stridecopy/options.hpp"

namespace stridecopy::test {

/// The tests' generator: fixed seed, so failures reproduce, yet the data differs in every call.
/// One per thread (tests that copy from several host threads draw from it concurrently).
/// A strategy asked for, or none (std::nullopt: the chooser decides), as the tests' tables list them.
using asked_strategy = std::optional<stridecopy::strategy>;
inline std::string name_of(asked_strategy s) { return s ? stridecopy::to_string(*s) : "automatic"; }
/// Every way a copy between host and device memory can be asked for: chosen, then each strategy forced.
inline constexpr std::array<asked_strategy, 4> every_asked_strategy{std::nullopt, strategy::dma, strategy::staged,
                                                                    strategy::direct};

inline std::mt19937_64& rng() {
  static thread_local std::mt19937_64 gen(0x5EEDC0DEull);
  return gen;
}

/// `n` random bytes, never all zero.
inline std::vector<std::byte> random_bytes(std::size_t n) {
  std::vector<std::byte> v(n);
  auto& g = rng();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t x = g();
    std::memcpy(v.data() + i, &x, 8);
  }
  for (; i < n; ++i) v[i] = std::byte(g() & 0xff);
  return v;
}

/// A destination of `bytes` bytes poisoned with 0xA5, between 64-byte canaries before and after.
class guarded_buffer {
 public:
  static constexpr std::size_t guard = 64;
  static constexpr std::byte poison{0xA5};
  static constexpr std::byte canary{0x5C};

  explicit guarded_buffer(std::size_t bytes, std::size_t misalign = 0)
      : misalign_(misalign), storage_(bytes + 2 * guard + misalign + 64) {
    std::memset(storage_.data(), int(canary), storage_.size());
    std::memset(data(), int(poison), bytes);
    bytes_ = bytes;
  }
  std::byte* data() { return storage_.data() + guard + misalign_; }
  std::size_t size() const { return bytes_; }
  /// True when nothing outside [data, data + size) was written.
  bool canaries_intact() const {
    for (std::size_t i = 0; i < guard + misalign_; ++i)
      if (storage_[i] != canary) return false;
    for (std::size_t i = guard + misalign_ + bytes_; i < storage_.size(); ++i)
      if (storage_[i] != canary) return false;
    return true;
  }
  /// True when the destination still holds only poison (nothing was written).
  bool untouched() const {
    for (std::size_t i = 0; i < bytes_; ++i)
      if (storage_[guard + misalign_ + i] != poison) return false;
    return canaries_intact();
  }
  std::vector<std::byte> contents() const {
    return {storage_.begin() + std::ptrdiff_t(guard + misalign_),
            storage_.begin() + std::ptrdiff_t(guard + misalign_ + bytes_)};
  }

 private:
  std::size_t misalign_;
  std::vector<std::byte> storage_;
  std::size_t bytes_ = 0;
};

/// Index of the first differing byte, or -1; for readable failures on large buffers.
inline std::int64_t first_difference(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  if (a.size() != b.size()) return std::int64_t(std::min(a.size(), b.size()));
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return std::int64_t(i);
  return -1;
}

/// The message of the stridecopy::error `f` throws, or "" when it throws none.
inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const stridecopy::error& e) {
    return e.what();
  }
  return "";
}

}  // namespace stridecopy::test
