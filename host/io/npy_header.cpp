// host/io/npy_header.cpp — .npy headers: a bounds-checked parser of the dict np.save writes, and
// np.save's exact header for an array.
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/checked_math.hpp"
#include "core/text.hpp"
#include "io/npy_format.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/npy.hpp"

namespace stridecopy {

namespace {


/// Recursive-descent parser for the one Python dict literal np.save writes, over a bounded
/// string_view: every read checks `pos_ < text_.size()`, so no input can make it read past the header.
class header_parser {
 public:
  header_parser(std::string_view text, bool python2_longs) : text_(text), python2_longs_(python2_longs) {}

  void parse(npy_header& h) {
    skip_space();
    expect('{', "the header is not a Python dict literal (it does not start with '{')");
    bool seen_descr = false, seen_order = false, seen_shape = false;
    std::string descr;
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::size_t key_pos = pos_;
      if (peek() != '\'' && peek() != '"') fail("expected a quoted key or '}'");
      const std::string key = parse_string();
      skip_space();
      expect(':', "expected ':' after key " + detail::quoted(key, '\''));
      skip_space();
      const auto once = [&](bool& seen) {
        if (seen) fail_at(key_pos, "duplicate key '" + key + "'");
        seen = true;
      };
      if (key == "descr") {
        once(seen_descr);
        descr = parse_descr_value();
      } else if (key == "fortran_order") {
        once(seen_order);
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        once(seen_shape);
        h.shape = parse_shape();
      } else {
        fail_at(key_pos, "unknown key " + detail::quoted(key, '\'') + " (a .npy header has exactly 'descr', 'fortran_order' "
                                                           "and 'shape')");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}' after the value of '" + key + "'");
    }
    ++pos_;  // '}'
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the header dict");
    if (!seen_descr) fail_missing("descr");
    if (!seen_order) fail_missing("fortran_order");
    if (!seen_shape) fail_missing("shape");
    h.type = parse_descr(descr);
  }

 private:
  [[nodiscard]] char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }

  [[noreturn]] void fail_at(std::size_t at, const std::string& what) const {
    const std::size_t from = at > 20 ? at - 20 : 0;
    throw npy_error("malformed .npy header at byte " + std::to_string(at) + " of the dict: " + what + " (near " +
                    detail::quoted(text_.substr(from, 60)) + "; header " + detail::quoted(text_, '"', 160) + ")");
  }
  [[noreturn]] void fail(const std::string& what) const {
    fail_at(pos_, at_end() ? what + ", found the end of the header" : what);
  }
  [[noreturn]] void fail_missing(const char* key) const {
    throw npy_error(std::string("malformed .npy header: key '") + key + "' is missing (header " + detail::quoted(text_, '"', 160) +
                    ")");
  }

  void skip_space() {
    while (!at_end()) {
      const char c = text_[pos_];
      // Python's whitespace between tokens (inside braces, line breaks are whitespace too).
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f') break;
      ++pos_;
    }
  }
  void expect(char c, const std::string& what) {
    if (peek() != c || at_end()) fail(what);
    ++pos_;
  }

  /// A single- or double-quoted Python string without escapes (np.save never writes any).
  std::string parse_string() {
    const char quote = text_[pos_++];
    std::string s;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == quote) return s;
      if (c == '\\') fail_at(pos_ - 1, "escape sequences in header strings are not supported");
      if (c == '\n' || c == '\r') fail_at(pos_ - 1, "line break inside a string");
      s += c;
    }
  }

  std::string parse_descr_value() {
    const char c = peek();
    if (c == '\'' || c == '"') return parse_string();
    if (c == '[') fail("'descr' is a list: structured (record) dtypes are not supported");
    if (c == '(') fail("'descr' is a tuple: sub-array dtypes are not supported");
    fail("'descr' is not a string");
  }

  bool parse_bool() {
    for (const bool value : {true, false}) {
      const std::string_view word = value ? "True" : "False";
      if (text_.substr(pos_, word.size()) != word) continue;
      pos_ += word.size();
      if (is_name_char(peek())) break;  // "Truely", "False1"
      return value;
    }
    fail("'fortran_order' must be True or False");
  }

  static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }

  /// A Python tuple of non-negative ints: "()", "(5,)", "(3, 4)", "(3, 4,)"; "(5)" is an int, not a tuple.
  std::vector<std::int64_t> parse_shape() {
    if (peek() != '(') fail("'shape' must be a tuple of integers");
    ++pos_;
    std::vector<std::int64_t> shape;
    bool trailing_comma = false;
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (shape.size() == std::size_t(max_rank))
        fail("'shape' has more than " + std::to_string(max_rank) + " dimensions (stridecopy supports rank 0 to " +
             std::to_string(max_rank) + ")");
      shape.push_back(parse_extent());
      skip_space();
      trailing_comma = false;
      if (peek() == ',') {
        ++pos_;
        trailing_comma = true;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in 'shape'");
    }
    if (shape.size() == 1 && !trailing_comma) fail("'shape' (n) is an integer, not a tuple; write (n,)");
    ++pos_;  // ')'
    return shape;
  }

  std::int64_t parse_extent() {
    const std::size_t start = pos_;
    bool negative = false;
    if (peek() == '+' || peek() == '-') {
      negative = peek() == '-';
      ++pos_;
      skip_space();
    }
    if (peek() < '0' || peek() > '9') fail_at(start, "'shape' extent is not an integer");
    std::int64_t v = 0;
    bool overflow = false;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      const int digit = text_[pos_++] - '0';
      if (v > (INT64_MAX - digit) / 10) overflow = true;
      if (!overflow) v = v * 10 + digit;
    }
    // Python 2 wrote long integers with an 'L' suffix; NumPy still reads those 1.0/2.0 files.
    if (python2_longs_ && peek() == 'L') ++pos_;
    if (peek() == '.' || is_name_char(peek())) fail_at(start, "'shape' extent is not an integer");
    if (negative && (v != 0 || overflow)) fail_at(start, "'shape' has a negative extent");
    if (overflow) fail_at(start, "'shape' extent does not fit int64");
    return v;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  bool python2_longs_ = false;
};

}  // namespace

npy_header parse_npy_header(std::string_view bytes) {
  if (bytes.size() < detail::npy_magic_prefix.size() || bytes.substr(0, detail::npy_magic_prefix.size()) != detail::npy_magic_prefix) {
    if (bytes.size() < detail::npy_magic_prefix.size() && bytes == detail::npy_magic_prefix.substr(0, bytes.size()))
      throw npy_error("truncated .npy header: " + std::to_string(bytes.size()) + " bytes, shorter than the magic string");
    throw npy_error("not a .npy file: it does not start with the magic string \"\\x93NUMPY\" (starts with " +
                    detail::quoted(bytes.substr(0, detail::npy_magic_prefix.size())) + ")");
  }
  if (bytes.size() < detail::npy_magic_len)
    throw npy_error("truncated .npy header: " + std::to_string(bytes.size()) + " bytes, no format version");
  npy_header h;
  h.major = static_cast<unsigned char>(bytes[6]);
  h.minor = static_cast<unsigned char>(bytes[7]);
  if (h.minor != 0 || h.major < 1 || h.major > 3)
    throw npy_error("unsupported .npy format version " + std::to_string(h.major) + "." + std::to_string(h.minor) +
                    " (supported: 1.0, 2.0, 3.0)");
  const std::size_t length_field = h.major == 1 ? 2 : 4;
  if (bytes.size() < detail::npy_magic_len + length_field)
    throw npy_error("truncated .npy header: " + std::to_string(bytes.size()) + " bytes, no header length");
  const std::size_t header_len = detail::read_le(bytes, detail::npy_magic_len, length_field);
  const std::size_t start = detail::npy_magic_len + length_field;
  if (header_len > bytes.size() - start)
    throw npy_error("truncated .npy header: its length field says " + std::to_string(header_len) +
                    " bytes of header but only " + std::to_string(bytes.size() - start) + " follow");
  h.data_offset = start + header_len;

  // 1.0 and 2.0 headers are latin-1 and 3.0 headers UTF-8; everything the parser accepts is ASCII,
  // so the bytes need no decoding.
  header_parser(bytes.substr(start, header_len), h.major < 3).parse(h);

  std::int64_t count = 1;
  bool empty = false;
  for (const auto e : h.shape) empty = empty || e == 0;
  for (const auto e : h.shape) {
    auto next = detail::checked_mul(count, e);
    if (!next) {
      if (empty) break;  // zero elements whatever the other extents are, as NumPy computes it
      throw npy_error("header shape " + shape_string(h.shape) + " has more than 2^63 elements");
    }
    count = *next;
  }
  if (empty) count = 0;
  if (!detail::checked_mul(count, std::int64_t(h.type.itemsize)))
    throw npy_error("header shape " + shape_string(h.shape) + " of " + to_descr(h.type) +
                    " has more than 2^63 bytes");
  return h;
}

std::string make_npy_header(const dtype& type, std::span<const std::int64_t> shape) {
  validate(type);
  (void)c_contiguous(shape);  // throws invalid_view for rank > 8 or a negative extent

  // Exactly numpy.lib.format._write_array_header: sorted keys, repr values, ", " after each.
  std::string dict = "{'descr': '" + to_descr(type) + "', 'fortran_order': False, 'shape': " + shape_string(shape) +
                     ", }";
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(shape[0]).size();
    dict.append(detail::npy_growth_axis_max_digits > digits ? detail::npy_growth_axis_max_digits - digits : 0, ' ');
  }

  // _wrap_header: the header ends in '\n' and the data starts on an detail::npy_array_align boundary; a header
  // that already ends on one still gets a full detail::npy_array_align of padding.
  const auto wrap = [&](int major, std::size_t length_field) {
    const std::size_t hlen = dict.size() + 1;
    const std::size_t padlen = detail::npy_array_align - (detail::npy_magic_len + length_field + hlen) % detail::npy_array_align;
    const std::size_t total = hlen + padlen;
    std::string out(detail::npy_magic_prefix);
    out += char(major);
    out += char(0);
    for (std::size_t i = 0; i < length_field; ++i) out += char((total >> (8 * i)) & 0xff);
    out += dict;
    out.append(padlen, ' ');
    out += '\n';
    return std::make_pair(total, out);
  };
  auto v1 = wrap(1, 2);
  if (v1.first <= 0xffff) return v1.second;
  return wrap(2, 4).second;  // the dict is ASCII, so 3.0 (UTF-8) is never needed
}

}  // namespace stridecopy
