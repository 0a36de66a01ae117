// host/core/descr.hpp — NumPy types beyond what a dtype value spells (internal): the type string
// np.save writes for a parsed one (datetime units kept: "<M8[ns]"), and record descrs.
#pragma once

#include <string>
#include <string_view>

#include "stridecopy/dtype.hpp"

namespace stridecopy::detail {

/// parse_descr, and (when `canonical` is given) the type string as NumPy's dtype.str spells it:
/// byte order normalised, a datetime's unit kept ("=M8[ns]" -> "<M8[ns]", "<u1" -> "|u1").
dtype parse_type_string(std::string_view descr, std::string* canonical);

/// A .npy header's descr literal, parsed: the dtype it copies as (records are {'V', itemsize, '|'})
/// and its canonical spelling, the one np.save writes.
struct descr_literal {
  dtype type{};
  std::string literal;
};
/// Throws invalid_argument naming the literal when no .npy header could hold it (host/io/npy_header.cpp).
descr_literal parse_descr_literal(std::string_view literal);

}  // namespace stridecopy::detail
