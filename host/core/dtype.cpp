// host/dtype.cpp — NumPy type strings ("<f4", "|b1", ">U3") to and from stridecopy::dtype.
// Accepts the fixed-size typestr forms np.save writes and normalises them as NumPy's dtype.str does.
#include "stridecopy/dtype.hpp"

#include <limits>
#include <string>

#include "core/descr.hpp"
#include "core/text.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {

namespace {

bool known_kind(char kind) {
  return kind == 'b' || kind == 'i' || kind == 'u' || kind == 'f' || kind == 'c' || kind == 'S' || kind == 'U' ||
         kind == 'V' || kind == 'M' || kind == 'm';
}

/// Whether `itemsize` (bytes) is one NumPy has for `kind`; false for unknown kinds.
bool valid_size(char kind, int itemsize) {
  switch (kind) {
    case 'b': return itemsize == 1;
    case 'i':
    case 'u': return itemsize == 1 || itemsize == 2 || itemsize == 4 || itemsize == 8;
    // 12 / 24 are x86-32's long double and its complex; NumPy only knows the ones its platform has,
    // but a file written elsewhere still has well-defined bytes.
    case 'f': return itemsize == 2 || itemsize == 4 || itemsize == 8 || itemsize == 12 || itemsize == 16;
    case 'c': return itemsize == 8 || itemsize == 16 || itemsize == 24 || itemsize == 32;
    case 'M':
    case 'm': return itemsize == 8;
    // Zero-size items ("|S0", "|V0", "<U0") are legal: an array of them holds no bytes.
    case 'S':
    case 'V': return itemsize >= 0;
    case 'U': return itemsize >= 0 && itemsize % 4 == 0;
    default: return false;
  }
}

/// Types whose bytes have no order: NumPy writes '|' for them whatever order was asked.
bool order_free(char kind, int itemsize) { return kind == 'b' || kind == 'S' || kind == 'V' || itemsize == 1; }

/// 'f', or "code 0" for a character that would not print.
std::string char_name(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  // Not "'" + std::string(1, ch) + "'": that trips a false GCC 12 -Wrestrict warning.
  if (c >= 0x20 && c < 0x7f) return std::string{'\'', ch, '\''};
  std::string name = "code ";  // appended, not "code " + ...: the same false -Wrestrict warning
  name += std::to_string(c);
  return name;
}

[[noreturn]] void reject(std::string_view descr, const std::string& why) {
  throw npy_error("dtype descr " + detail::quoted(descr) + ": " + why);
}

/// The units NumPy's datetime64 / timedelta64 take inside the brackets, after an optional count.
bool datetime_unit(std::string_view u) {
  for (const std::string_view known : {"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"})
    if (u == known) return true;
  return false;
}

/// "[ns]", "[25s]" or "" (generic): the unit part of a datetime type string, checked.
void check_datetime_unit(std::string_view descr, std::string_view unit) {
  if (unit.empty()) return;
  if (unit.size() < 3 || unit.front() != '[' || unit.back() != ']')
    reject(descr, "a datetime or timedelta unit is written in brackets, as in \"<M8[ns]\"");
  std::string_view u = unit.substr(1, unit.size() - 2);
  std::size_t digits = 0;
  while (digits < u.size() && u[digits] >= '0' && u[digits] <= '9') ++digits;
  if (digits > 9) reject(descr, "the unit's count is too large");
  if (!datetime_unit(u.substr(digits)))
    reject(descr, "unknown datetime unit " + detail::quoted(u.substr(digits)) +
                      " (known: Y, M, W, D, h, m, s, ms, us, ns, ps, fs, as)");
}

}  // namespace

namespace detail {

dtype parse_type_string(std::string_view descr, std::string* canonical) {
  std::string_view s = descr;
  char order = '=';
  if (!s.empty() && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) {
    order = s[0];
    s.remove_prefix(1);
  }
  if (s.empty()) reject(descr, "no type code");
  const char kind = s[0];
  s.remove_prefix(1);

  if (kind == 'O') reject(descr, "object arrays are not supported (their bytes are Python pointers)");
  // datetime64 / timedelta64: "M8" or "m8", then an optional unit ("[ns]", "[25s]"); 8 bytes each.
  std::string_view unit;
  if (kind == 'M' || kind == 'm') {
    const std::size_t bracket = s.find('[');
    if (bracket != std::string_view::npos) {
      unit = s.substr(bracket);
      s = s.substr(0, bracket);
    }
    check_datetime_unit(descr, unit);
  }

  int count = 0;
  if (kind == '?') {
    // NumPy's one-character code for bool; it takes no size. dtype.str spells it "|b1".
    if (!s.empty()) reject(descr, "'?' (bool) takes no size");
    const dtype t{'b', 1, '|'};
    if (canonical) *canonical = to_descr(t);
    return t;
  }
  if (!known_kind(kind))
    reject(descr, "unknown or unsupported type code " + char_name(kind) +
                      " (supported: b, i, u, f, c, S, U, V, M, m with a size, as in \"<f4\")");
  if (s.empty()) reject(descr, "no size after type code " + char_name(kind));
  for (const char ch : s) {
    if (ch < '0' || ch > '9') reject(descr, "size " + detail::quoted(s) + " is not a decimal number");
    // Leading zeros are fine ("<i08" is "<i8" to NumPy); only the value is bounded, by int as
    // NumPy's itemsize is ("|V2147483647" is a type, "|V2147483648" is not).
    const int digit = ch - '0';
    if (count > (std::numeric_limits<int>::max() - digit) / 10) reject(descr, "size is too large");
    count = count * 10 + digit;
  }

  // A 'U' size counts UCS-4 characters; itemsize is in bytes.
  if (kind == 'U' && count > std::numeric_limits<int>::max() / 4) reject(descr, "size is too large");
  const int itemsize = kind == 'U' ? count * 4 : count;
  if (!valid_size(kind, itemsize))
    reject(descr, "type code " + char_name(kind) + " has no " + std::to_string(itemsize) + "-byte variant");

  dtype t{kind, itemsize, '<'};
  if (order_free(kind, itemsize))
    t.byteorder = '|';
  else
    // '=' (native), '|' (not applicable) and no prefix all mean this little-endian host's order.
    t.byteorder = order == '>' ? '>' : '<';
  if (canonical) *canonical = to_descr(t) + std::string(unit);
  return t;
}

}  // namespace detail

dtype parse_descr(std::string_view descr) { return detail::parse_type_string(descr, nullptr); }

std::string to_descr(const dtype& t) {
  // Also used in messages about invalid types, so it renders anything without throwing.
  std::string s(1, t.byteorder);
  s += t.kind;
  s += std::to_string(t.kind == 'U' && t.itemsize % 4 == 0 ? t.itemsize / 4 : t.itemsize);
  return s;
}

void validate(const dtype& t) {
  const auto describe = [&] {
    return "dtype {kind " + char_name(t.kind) + ", itemsize " + std::to_string(t.itemsize) + ", byteorder " +
           char_name(t.byteorder) + "}";
  };
  if (!known_kind(t.kind))
    throw invalid_view(describe() + " has an unknown kind (expected one of b, i, u, f, c, S, U, V, M, m)");
  if (!valid_size(t.kind, t.itemsize)) throw invalid_view(describe() + " has an itemsize its kind does not have");
  const bool free = order_free(t.kind, t.itemsize);
  if (free && t.byteorder != '|')
    throw invalid_view(describe() + ": a type whose bytes have no order must have byteorder '|'");
  if (!free && t.byteorder != '<' && t.byteorder != '>')
    throw invalid_view(describe() + ": byteorder must be '<' or '>'");
}

}  // namespace stridecopy
