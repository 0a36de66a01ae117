// bench/traffic.hpp — the memory traffic a copy of a view cannot avoid: the output bytes it writes
// plus every distinct cache line of the source it must read. A view that reads every other element
// (x[..., ::2]) still reads every line of a source twice its output's size; a reversal reads exactly
// the lines a forward copy reads. The benchmark judges each view against this traffic at the
// streaming memcpy bandwidth of the same run (a memcpy moves its bytes twice: read and write).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stridecopy/plan.hpp"

namespace stridecopy::bench {

inline constexpr std::size_t cache_line = 64;

/// Distinct `line`-byte lines of memory holding at least one byte of an element of `v`, counted from
/// the view's own addresses (so a view that starts mid-line counts the extra line).
inline std::int64_t source_lines(const view& v, std::size_t line = cache_line) {
  const plan p = make_plan(v);
  if (p.bytes == 0) return 0;
  const auto first = std::int64_t(reinterpret_cast<std::uintptr_t>(v.data));
  const std::int64_t lo_line = (first + p.walk.span_begin) / std::int64_t(line);
  const std::int64_t hi_line = (first + p.walk.span_end - 1) / std::int64_t(line);
  std::vector<bool> touched(std::size_t(hi_line - lo_line + 1), false);
  // Walk every unit of the plan (outermost first, odometer); a unit never straddles a line: it is a
  // power of two <= 16 that divides its address.
  const int r = p.walk.rank;
  std::vector<std::int64_t> idx(std::size_t(r), 0);
  const std::int64_t inner_n = p.walk.inner_extent(), inner_s = p.walk.inner_stride() * p.walk.unit;
  std::int64_t off = 0;  // bytes from the first element to the current row's first unit
  for (std::int64_t row = 0, rows = p.units() / inner_n; row < rows; ++row) {
    for (std::int64_t j = 0; j < inner_n; ++j)
      touched[std::size_t((first + off + j * inner_s) / std::int64_t(line) - lo_line)] = true;
    for (int d = r - 2; d >= 0; --d) {  // next row
      off += p.walk.stride[std::size_t(d)] * p.walk.unit;
      if (++idx[std::size_t(d)] < p.walk.extent[std::size_t(d)]) break;
      off -= idx[std::size_t(d)] * p.walk.stride[std::size_t(d)] * p.walk.unit;
      idx[std::size_t(d)] = 0;
    }
  }
  std::int64_t n = 0;
  for (bool t : touched) n += t;
  return n;
}

/// Bytes a copy of `v` must move: its output written once plus the source lines it must read.
inline double traffic_bytes(const view& v, std::size_t line = cache_line) {
  return double(make_plan(v).bytes) + double(source_lines(v, line)) * double(line);
}

}  // namespace stridecopy::bench
