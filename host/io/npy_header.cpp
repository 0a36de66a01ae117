// host/io/npy_header.cpp — .npy headers: a bounds-checked parser of the dict np.save writes, and
// np.save's exact header for an array.
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/checked_math.hpp"
#include "core/descr.hpp"
#include "core/text.hpp"
#include "io/npy_format.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/layout.hpp"
#include "stridecopy/npy_header.hpp"

namespace stridecopy {

namespace {

/// Python's repr() of a str held as UTF-8: single quotes unless the text holds a ' and no ", the
/// backslash and the quote escaped, \n \r \t, \xNN for control characters and the latin-1 ones
/// Python does not print (0x7f-0xa0, 0xad); other characters as they are.
std::string python_repr(std::string_view utf8) {
  const bool double_quotes = utf8.find('\'') != std::string_view::npos && utf8.find('"') == std::string_view::npos;
  const char quote = double_quotes ? '"' : '\'';
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(1, quote);
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    int cp = -1;  // a latin-1 code point spelt as two UTF-8 bytes
    if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size() && (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80)
      cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3F);
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f || (cp >= 0x80 && (cp <= 0xA0 || cp == 0xAD))) {
      const int v = cp >= 0 ? cp : c;
      out += "\\x";
      out += hex[v >> 4];
      out += hex[v & 15];
      if (cp >= 0) ++i;
    } else {
      out += char(c);
    }
  }
  return out + quote;
}

/// Latin-1 bytes (a 1.0 or 2.0 header) as UTF-8, which the parser and npy_header::descr hold.
std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += char(0xC0 | (c >> 6));
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

/// UTF-8 text as latin-1 bytes, or nothing when a character lies beyond U+00FF (then np.save writes
/// a 3.0 header, in UTF-8).
std::optional<std::string> utf8_to_latin1(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out += char(c);
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      out += char(((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

/// Recursive-descent parser for the one Python dict literal np.save writes, over a bounded
/// string_view: every read checks `pos_ < text_.size()`, so no input can make it read past the header.
class header_parser {
 public:
  header_parser(std::string_view text, bool python2_longs) : text_(text), python2_longs_(python2_longs) {}

  /// A descr on its own ("'<f4'", "[('a', '<f4')]"), as npy_header::descr holds it.
  detail::descr_literal descr_only() {
    skip_space();
    const type_literal t = parse_descr_value();
    skip_space();
    if (!at_end()) fail("unexpected text after the descr");
    return {t.record ? dtype{'V', int(t.itemsize), '|'} : t.type, t.literal};
  }

  void parse(npy_header& h) {
    skip_space();
    expect('{', "the header is not a Python dict literal (it does not start with '{')");
    bool seen_descr = false, seen_order = false, seen_shape = false;
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
        const type_literal t = parse_descr_value();
        h.type = t.record ? dtype{'V', int(t.itemsize), '|'} : t.type;
        h.descr = t.literal;
      } else if (key == "fortran_order") {
        once(seen_order);
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        once(seen_shape);
        h.shape = parse_shape();
      } else {
        fail_at(key_pos, "unknown key " + detail::quoted(key, '\'') +
                             " (a .npy header has exactly 'descr', 'fortran_order' "
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
    throw npy_error(std::string("malformed .npy header: key '") + key + "' is missing (header " +
                    detail::quoted(text_, '"', 160) + ")");
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

  /// A single- or double-quoted Python string. np.save writes escapes only in record field names
  /// (Python's repr: \\, \', \", \n, \r, \t, \xNN); those are decoded, nothing else is.
  std::string parse_string() {
    const char quote = text_[pos_++];
    std::string s;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == quote) return s;
      if (c == '\n' || c == '\r') fail_at(pos_ - 1, "line break inside a string");
      if (c != '\\') {
        s += c;
        continue;
      }
      if (at_end()) fail("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case '\\':
        case '\'':
        case '"': s += e; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'x': {
          int v = 0;
          for (int i = 0; i < 2; ++i) {
            const char h = peek();
            const int d = h >= '0' && h <= '9'   ? h - '0'
                          : h >= 'a' && h <= 'f' ? h - 'a' + 10
                          : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                 : -1;
            if (d < 0) fail("\\x needs two hex digits");
            v = v * 16 + d;
            ++pos_;
          }
          append_code_point(s, v);
          break;
        }
        default: fail_at(pos_ - 2, "unsupported escape sequence in a header string");
      }
    }
  }

  /// A descr: its dtype (or, for a record, its itemsize) and the literal np.save would write for it.
  struct type_literal {
    dtype type{};
    bool record = false;
    std::int64_t itemsize = 0;
    std::string literal;
  };

  type_literal parse_descr_value() {
    const char c = peek();
    if (c == '\'' || c == '"') return parse_type_string_literal();
    if (c == '[') return parse_fields(0);
    if (c == '(')
      fail("'descr' is a tuple: sub-array dtypes are not supported (np.save writes their shape into 'shape')");
    fail("'descr' is not a string or a list of fields");
  }

  /// A quoted type string: "'<f4'", "'>M8[ns]'"; the literal is dtype.str as np.save writes it.
  type_literal parse_type_string_literal() {
    const std::size_t at = pos_;
    const std::string text = parse_string();
    type_literal t;
    std::string canonical;
    try {
      t.type = detail::parse_type_string(text, &canonical);
    } catch (const npy_error& e) {
      fail_at(at, e.what());
    }
    t.itemsize = t.type.itemsize;
    t.literal = python_repr(canonical);
    return t;
  }

  /// A record type: a list of (name, type) or (name, type, shape) tuples, name a string or a
  /// (title, name) pair, type a type string or a nested list, shape a tuple of ints (or an int).
  /// Its itemsize is the sum of its fields' (np.save lists padding as fields named ''). NumPy's own
  /// limits hold: names and titles of one record are distinct, and every size in bytes fits a C int.
  type_literal parse_fields(int depth) {
    if (depth > 32) fail("record types nested more than 32 deep");
    expect('[', "expected '['");
    type_literal t;
    t.record = true;
    t.literal.push_back('[');       // not = "[": a false GCC 12 -Wrestrict warning
    std::vector<std::string> used;  // the names and titles so far, which NumPy keeps in one dict
    int fields = 0;
    for (;;) {
      skip_space();
      if (peek() == ']') break;
      if (fields++) t.literal += ", ";
      const std::size_t at = pos_;
      const auto sum = detail::checked_add(t.itemsize, parse_field(depth, t.literal, used));
      if (!sum || *sum > int_max)
        fail_at(at, "the record type's itemsize exceeds " + std::to_string(int_max) +
                        " bytes (NumPy's itemsize is a C int)");
      t.itemsize = *sum;
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ']') fail("expected ',' or ']' after a field of the record type");
    }
    ++pos_;  // ']'
    if (fields == 0) fail("a record type needs at least one field");
    t.literal += "]";
    return t;
  }

  /// One field: appends its literal, checks its name and title against `used`, returns its size.
  std::int64_t parse_field(int depth, std::string& literal, std::vector<std::string>& used) {
    expect('(', "a record field is a tuple (name, type[, shape])");
    skip_space();
    const std::size_t at = pos_;
    literal += "(";
    std::string name;
    std::optional<std::string> title;
    if (peek() == '(') {  // (title, name)
      ++pos_;
      skip_space();
      title = parse_quoted("a field title");
      skip_space();
      expect(',', "expected ',' between a field's title and name");
      skip_space();
      name = parse_quoted("a field name");
      skip_space();
      expect(')', "expected ')' after a field's (title, name)");
      // Appended piece by piece: "(" + ... trips a false GCC 12 -Wrestrict warning.
      literal += '(';
      literal += python_repr(*title);
      literal += ", ";
      literal += python_repr(name);
      literal += ')';
    } else {
      name = parse_quoted("a field name");
      literal += python_repr(name);
    }
    skip_space();
    expect(',', "expected ',' after a field's name");
    skip_space();
    type_literal type;
    if (peek() == '[')
      type = parse_fields(depth + 1);
    else if (peek() == '\'' || peek() == '"')
      type = parse_type_string_literal();
    else
      fail("a field's type is a type string or a list of fields");
    // np.load drops an untitled plain-void field named '' as padding; every other name and title
    // must be new, or NumPy refuses the type (and the file).
    const bool padding = name.empty() && !title && !type.record && type.type.kind == 'V';
    if (!padding) {
      const auto taken = [&](const std::string& s) { return std::find(used.begin(), used.end(), s) != used.end(); };
      if (taken(name))
        fail_at(at, "field name " + python_repr(name) + " is used twice (NumPy: name already used as a name or title)");
      used.push_back(name);
      if (title) {
        if (taken(*title))
          fail_at(at, "field title " + python_repr(*title) +
                          " is used twice (NumPy: title already used as a name or title)");
        used.push_back(*title);
      }
    }
    literal += ", ";
    literal += type.literal;
    std::int64_t count = 1;
    skip_space();
    if (peek() == ',') {
      ++pos_;
      skip_space();
      if (peek() != ')') {
        // The shape of a sub-array field: a tuple of extents (an int means a 1-tuple).
        std::vector<std::int64_t> shape;
        if (peek() == '(') {
          shape = parse_shape("a field's shape");
        } else {
          shape.push_back(parse_extent("a field's shape"));
        }
        for (const auto e : shape) {
          if (e > int_max) fail_at(at, "a field's shape " + shape_string(shape) + " has an extent beyond a C int");
          const auto next = detail::checked_mul(count, e);
          if (!next || *next > int_max) fail_at(at, "a field's shape " + shape_string(shape) + " is too large");
          count = *next;
        }
        if (!shape.empty()) {  // dtype.descr drops a () shape
          literal += ", ";
          literal += shape_string(shape);
        }
        skip_space();
        if (peek() == ',') ++pos_;
        skip_space();
      }
    }
    expect(')', "expected ')' after a record field");
    literal += ")";
    // Both factors are at most a C int, so the product fits int64.
    const std::int64_t bytes = type.itemsize * count;
    if (bytes > int_max)
      fail_at(at, "a field of " + std::to_string(count) + " elements of " + std::to_string(type.itemsize) +
                      " bytes exceeds " + std::to_string(int_max) + " bytes (NumPy's itemsize is a C int)");
    return bytes;
  }

  std::string parse_quoted(const char* what) {
    if (peek() != '\'' && peek() != '"') fail(std::string("expected ") + what + " (a quoted string)");
    return parse_string();
  }

  /// Code point v (< 256, from a \xNN escape or a latin-1 byte) as UTF-8.
  static void append_code_point(std::string& s, int v) {
    if (v < 0x80) {
      s += char(v);
    } else {
      s += char(0xC0 | (v >> 6));
      s += char(0x80 | (v & 0x3F));
    }
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
  std::vector<std::int64_t> parse_shape(const std::string& what = "'shape'") {
    if (peek() != '(') fail(what + " must be a tuple of integers");
    ++pos_;
    std::vector<std::int64_t> shape;
    bool trailing_comma = false;
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (shape.size() == std::size_t(max_rank))
        fail(what + " has more than " + std::to_string(max_rank) + " dimensions (NumPy's limit)");
      shape.push_back(parse_extent(what));
      skip_space();
      trailing_comma = false;
      if (peek() == ',') {
        ++pos_;
        trailing_comma = true;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in " + what);
    }
    if (shape.size() == 1 && !trailing_comma) fail(what + " (n) is an integer, not a tuple; write (n,)");
    ++pos_;  // ')'
    return shape;
  }

  std::int64_t parse_extent(const std::string& what = "'shape'") {
    const std::size_t start = pos_;
    bool negative = false;
    if (peek() == '+' || peek() == '-') {
      negative = peek() == '-';
      ++pos_;
      skip_space();
    }
    if (peek() < '0' || peek() > '9') fail_at(start, what + " extent is not an integer");
    std::int64_t v = 0;
    bool overflow = false;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      const int digit = text_[pos_++] - '0';
      if (v > (INT64_MAX - digit) / 10) overflow = true;
      if (!overflow) v = v * 10 + digit;
    }
    // Python 2 wrote long integers with an 'L' suffix; NumPy still reads those 1.0/2.0 files.
    if (python2_longs_ && peek() == 'L') ++pos_;
    if (peek() == '.' || is_name_char(peek())) fail_at(start, what + " extent is not an integer");
    if (negative && (v != 0 || overflow)) fail_at(start, what + " has a negative extent");
    if (overflow) fail_at(start, what + " extent does not fit int64");
    return v;
  }

  static constexpr std::int64_t int_max = std::numeric_limits<int>::max();

  std::string_view text_;
  std::size_t pos_ = 0;
  bool python2_longs_ = false;
};

}  // namespace

namespace detail {
descr_literal parse_descr_literal(std::string_view literal) {
  try {
    return header_parser(literal, false).descr_only();
  } catch (const npy_error& e) {
    throw invalid_argument("descr " + quoted(literal) + " is not one a .npy header holds: " + e.what());
  }
}
}  // namespace detail

npy_header parse_npy_header(std::string_view bytes) {
  if (bytes.size() < detail::npy_magic_prefix.size() ||
      bytes.substr(0, detail::npy_magic_prefix.size()) != detail::npy_magic_prefix) {
    if (bytes.size() < detail::npy_magic_prefix.size() && bytes == detail::npy_magic_prefix.substr(0, bytes.size()))
      throw npy_error("truncated .npy header: " + std::to_string(bytes.size()) +
                      " bytes, shorter than the magic string");
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

  // 1.0 and 2.0 headers are latin-1 and 3.0 headers UTF-8: the parser reads UTF-8 (only record
  // field names may hold anything beyond ASCII).
  const std::string_view raw = bytes.substr(start, header_len);
  const std::string text = h.major < 3 ? latin1_to_utf8(raw) : std::string(raw);
  header_parser(text, h.major < 3).parse(h);

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
    throw npy_error("header shape " + shape_string(h.shape) + " of " + to_descr(h.type) + " has more than 2^63 bytes");
  return h;
}

std::string make_npy_header(const dtype& type, std::span<const std::int64_t> shape) {
  validate(type);
  return make_npy_header(std::string_view(python_repr(to_descr(type))), shape);
}

std::string make_npy_header(std::string_view descr, std::span<const std::int64_t> shape) {
  (void)c_contiguous(shape);  // throws invalid_view for too many dims or a negative extent
  // The descr must be one a header holds; what goes into the file is its canonical spelling.
  const std::string literal = detail::parse_descr_literal(descr).literal;

  // Exactly numpy.lib.format._write_array_header: sorted keys, repr values, ", " after each.
  std::string dict = "{'descr': " + literal + ", 'fortran_order': False, 'shape': " + shape_string(shape) + ", }";
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(shape[0]).size();
    dict.append(detail::npy_growth_axis_max_digits > digits ? detail::npy_growth_axis_max_digits - digits : 0, ' ');
  }

  // _wrap_header: the header ends in '\n' and the data starts on an npy_array_align boundary; a
  // header that already ends on one still gets a full npy_array_align of padding. Like np.save, 1.0
  // (latin-1, length < 2^16), else 2.0 (latin-1), else 3.0 (UTF-8: a character beyond U+00FF).
  const auto wrap = [](const std::string& text, int major) {
    const std::size_t length_field = major == 1 ? 2 : 4;
    const std::size_t hlen = text.size() + 1;
    const std::size_t padlen =
        detail::npy_array_align - (detail::npy_magic_len + length_field + hlen) % detail::npy_array_align;
    const std::size_t total = hlen + padlen;
    std::string out(detail::npy_magic_prefix);
    out += char(major);
    out += char(0);
    for (std::size_t i = 0; i < length_field; ++i) out += char((total >> (8 * i)) & 0xff);
    out += text;
    out.append(padlen, ' ');
    out += '\n';
    return std::make_pair(total, out);
  };
  if (const auto latin1 = utf8_to_latin1(dict)) {
    auto v1 = wrap(*latin1, 1);
    if (v1.first <= 0xffff) return v1.second;
    return wrap(*latin1, 2).second;
  }
  return wrap(dict, 3).second;
}

}  // namespace stridecopy
