// host/npy.cpp — .npy files: a bounds-checked header parser, np.save's exact header, load_npy and an
// atomic save_npy (temporary file beside the target, renamed into place only when complete).
#include "stridecopy/npy.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "checked_math.hpp"
#include "stream_out.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy {

namespace {

constexpr std::string_view magic_prefix{"\x93NUMPY", 6};
constexpr std::size_t magic_len = magic_prefix.size() + 2;  // + major, minor
constexpr std::size_t array_align = 64;
// np.save leaves room for the first axis to grow to any 64-bit extent without rewriting the file.
constexpr std::size_t growth_axis_max_digits = 21;

/// `s` with anything unprintable escaped and at most `limit` characters kept, for messages.
std::string printable(std::string_view s, std::size_t limit = 160) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += s[i];
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::uint32_t read_le(std::string_view bytes, std::size_t offset, std::size_t width) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= std::uint32_t(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  return v;
}

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
      expect(':', "expected ':' after key '" + printable(key) + "'");
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
        fail_at(key_pos, "unknown key '" + printable(key) + "' (a .npy header has exactly 'descr', 'fortran_order' "
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
    throw npy_error("malformed .npy header at byte " + std::to_string(at) + " of the dict: " + what + " (near \"" +
                    printable(text_.substr(from, 60)) + "\"; header \"" + printable(text_) + "\")");
  }
  [[noreturn]] void fail(const std::string& what) const {
    fail_at(pos_, at_end() ? what + ", found the end of the header" : what);
  }
  [[noreturn]] void fail_missing(const char* key) const {
    throw npy_error(std::string("malformed .npy header: key '") + key + "' is missing (header \"" + printable(text_) +
                    "\")");
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

std::string path_text(const std::filesystem::path& p) { return "\"" + printable(p.string(), 4096) + "\""; }

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

struct file_closer {
  void operator()(std::FILE* f) const noexcept { (void)std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

/// Appends up to `want` bytes from f to `out`, in bounded chunks so that a lying length field costs
/// no more memory than the file really holds. Returns false at end of file; throws on a read error.
bool read_append(std::FILE* f, std::string& out, std::size_t want) {
  constexpr std::size_t chunk = 1 << 16;
  while (want > 0) {
    const std::size_t n = want < chunk ? want : chunk;
    const std::size_t old = out.size();
    out.resize(old + n);
    const std::size_t got = std::fread(out.data() + old, 1, n, f);
    out.resize(old + got);
    want -= got;
    if (got < n) {
      if (std::ferror(f)) {
        const int err = errno;
        throw npy_error("read failed: " + errno_text(err));
      }
      return false;
    }
  }
  return true;
}

}  // namespace

npy_header parse_npy_header(std::string_view bytes) {
  if (bytes.size() < magic_prefix.size() || bytes.substr(0, magic_prefix.size()) != magic_prefix) {
    if (bytes.size() < magic_prefix.size() && bytes == magic_prefix.substr(0, bytes.size()))
      throw npy_error("truncated .npy header: " + std::to_string(bytes.size()) + " bytes, shorter than the magic string");
    throw npy_error("not a .npy file: it does not start with the magic string \"\\x93NUMPY\" (starts with \"" +
                    printable(bytes.substr(0, magic_prefix.size())) + "\")");
  }
  if (bytes.size() < magic_len)
    throw npy_error("truncated .npy header: " + std::to_string(bytes.size()) + " bytes, no format version");
  npy_header h;
  h.major = static_cast<unsigned char>(bytes[6]);
  h.minor = static_cast<unsigned char>(bytes[7]);
  if (h.minor != 0 || h.major < 1 || h.major > 3)
    throw npy_error("unsupported .npy format version " + std::to_string(h.major) + "." + std::to_string(h.minor) +
                    " (supported: 1.0, 2.0, 3.0)");
  const std::size_t length_field = h.major == 1 ? 2 : 4;
  if (bytes.size() < magic_len + length_field)
    throw npy_error("truncated .npy header: " + std::to_string(bytes.size()) + " bytes, no header length");
  const std::size_t header_len = read_le(bytes, magic_len, length_field);
  const std::size_t start = magic_len + length_field;
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
    dict.append(growth_axis_max_digits > digits ? growth_axis_max_digits - digits : 0, ' ');
  }

  // _wrap_header: the header ends in '\n' and the data starts on an array_align boundary; a header
  // that already ends on one still gets a full array_align of padding.
  const auto wrap = [&](int major, std::size_t length_field) {
    const std::size_t hlen = dict.size() + 1;
    const std::size_t padlen = array_align - (magic_len + length_field + hlen) % array_align;
    const std::size_t total = hlen + padlen;
    std::string out(magic_prefix);
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

namespace {

/// An open .npy file positioned at its data, with its parsed header. Errors are npy_error without
/// the path (callers add it).
struct opened_npy {
  file_ptr file;
  struct stat st {};
  npy_header header;
};

opened_npy open_npy(const std::filesystem::path& path) {
  opened_npy o;
  // errno is read before anything else can change it (the message's other parts allocate).
  o.file.reset(std::fopen(path.c_str(), "rb"));
  if (!o.file) {
    const int err = errno;
    throw npy_error("cannot open: " + errno_text(err));
  }
  if (::fstat(::fileno(o.file.get()), &o.st) != 0) {
    const int err = errno;
    throw npy_error("cannot stat: " + errno_text(err));
  }
  if (S_ISDIR(o.st.st_mode)) throw npy_error("is a directory");
  // Magic and version, the length field they imply, then exactly as much header as that claims
  // (or the file has): a lying length field costs no more than the file's size.
  std::string head;
  read_append(o.file.get(), head, magic_len);
  if (head.size() == magic_len && head.substr(0, magic_prefix.size()) == magic_prefix) {
    const auto major = static_cast<unsigned char>(head[6]);
    const std::size_t length_field = major == 1 ? 2 : 4;
    if (read_append(o.file.get(), head, length_field))
      read_append(o.file.get(), head, read_le(head, magic_len, length_field));
  }
  o.header = parse_npy_header(head);
  return o;
}

}  // namespace

npy_header read_npy_header(const std::filesystem::path& path) {
  try {
    return open_npy(path).header;
  } catch (const npy_error& e) {
    throw npy_error(".npy file " + path_text(path) + ": " + e.what());
  }
}

host_array load_npy(const std::filesystem::path& path) {
  try {
    opened_npy o = open_npy(path);
    const file_ptr& f = o.file;
    const struct stat& st = o.st;
    const npy_header& h = o.header;
    // Pipes and devices have no size up front; they are read to the end instead.
    const bool sized = S_ISREG(st.st_mode);
    const std::int64_t count = element_count(c_contiguous(h.shape));
    const std::size_t data_bytes = std::size_t(count) * std::size_t(h.type.itemsize);
    const auto truncated = [&](std::size_t have) {
      return npy_error("truncated: expected " + std::to_string(data_bytes) + " bytes of data, file has " +
                       std::to_string(have));
    };
    const auto too_long = [&](std::size_t extra) {
      return npy_error(std::to_string(extra) + " unexpected bytes after the array data (shape " +
                       shape_string(h.shape) + " of " + to_descr(h.type) + " needs " + std::to_string(data_bytes) +
                       ")");
    };
    if (sized) {
      // A file that grew since fstat is caught by the read-to-end check below.
      const std::size_t file_bytes = std::max(std::size_t(st.st_size), h.data_offset);
      const std::size_t have = file_bytes - h.data_offset;
      if (have < data_bytes) throw truncated(have);
      if (have > data_bytes) throw too_long(have - data_bytes);
    }

    host_array a;
    try {
      a = host_array(h.type, h.shape, h.fortran_order ? host_array::order::f : host_array::order::c,
                     pinned_buffer::kind::pageable);
    } catch (const std::bad_alloc&) {
      throw npy_error("cannot allocate " + std::to_string(data_bytes) + " bytes for the array data");
    }
    auto* dst = static_cast<char*>(a.data());
    std::size_t done = 0;
    while (done < data_bytes) {
      const std::size_t got = std::fread(dst + done, 1, data_bytes - done, f.get());
      if (got == 0) {
        if (std::ferror(f.get())) {
          const int err = errno;
          throw npy_error("read failed: " + errno_text(err));
        }
        throw truncated(done);
      }
      done += got;
    }
    // Anything left is junk (or the file grew while it was read).
    std::size_t extra = 0;
    char sink[4096];
    for (;;) {
      const std::size_t got = std::fread(sink, 1, sizeof sink, f.get());
      extra += got;
      if (got < sizeof sink) {
        if (std::ferror(f.get())) {
          const int err = errno;
          throw npy_error("read failed: " + errno_text(err));
        }
        break;
      }
    }
    if (extra) throw too_long(extra);
    return a;
  } catch (const npy_error& e) {
    throw npy_error(".npy file " + path_text(path) + ": " + e.what());
  }
}

void save_npy(const std::filesystem::path& path, const view& v, cuda::stream_ref stream) {
  // Every check of the view happens before a file exists.
  (void)make_plan(v);
  const std::string header = make_npy_header(v.type, v.shape());

  static std::atomic<unsigned long long> counter{0};
  const std::string base = path.string() + ".tmp." + std::to_string(::getpid()) + ".";
  std::filesystem::path tmp;
  file_ptr f;
  for (int attempt = 0; attempt < 100 && !f; ++attempt) {
    tmp = base + std::to_string(counter.fetch_add(1));
    // "x": never reuse a name some other writer (or a crashed run with our pid) left behind.
    f.reset(std::fopen(tmp.c_str(), "wbx"));
    if (!f && errno != EEXIST) break;
  }
  if (!f) {
    const int err = errno;
    throw npy_error(".npy file " + path_text(path) + ": cannot create temporary file " + path_text(tmp) + ": " +
                    errno_text(err));
  }

  const auto write_failed = [&](const char* what) {
    const int err = errno;
    return npy_error(".npy file " + path_text(path) + ": " + what + " temporary file " + path_text(tmp) +
                     " failed: " + errno_text(err));
  };
  try {
    if (std::fwrite(header.data(), 1, header.size(), f.get()) != header.size()) throw write_failed("writing");
    detail::stream_c_order(
        v, std::size_t(16) << 20,
        [&](const void* bytes, std::size_t n) {
          if (std::fwrite(bytes, 1, n, f.get()) != n) throw write_failed("writing");
        },
        stream);
    if (std::fflush(f.get()) != 0 || std::ferror(f.get())) throw write_failed("flushing");
    if (std::fclose(f.release()) != 0) throw write_failed("closing");
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec)
      throw npy_error(".npy file " + path_text(path) + ": cannot rename temporary file " + path_text(tmp) +
                      " into place: " + ec.message());
  } catch (...) {
    f.reset();
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

}  // namespace stridecopy
