// host/core/text.cpp — quoted(): the one escaper of user input in messages.
#include "core/text.hpp"

namespace stridecopy::detail {

std::string quoted(std::string_view text, char quote, std::size_t limit) {
  std::string s;
  if (quote) s += quote;
  std::size_t kept = 0;
  for (const char c : text) {
    if (kept++ == limit) {
      s += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if ((quote && c == quote) || c == '\\') {
      s += '\\';
      s += c;
    } else if (c == '\n') {
      s += "\\n";
    } else if (c == '\t') {
      s += "\\t";
    } else if (u < 0x20 || u >= 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      s += "\\x";
      s += hex[u >> 4];
      s += hex[u & 15];
    } else {
      s += c;
    }
  }
  if (quote) s += quote;
  return s;
}

}  // namespace stridecopy::detail
