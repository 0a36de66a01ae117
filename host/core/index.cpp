// host/core/index.cpp — the NumPy index parser and basic indexing (slice, permute, flip) as layout algebra.
// Semantics follow NumPy's mapping.c and CPython's PySlice_Unpack/PySlice_AdjustIndices exactly.
#include "stridecopy/index.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "core/checked_math.hpp"
#include "core/checks.hpp"
#include "core/text.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {

namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

[[noreturn]] void fail(std::string_view text, const std::string& what) {
  throw invalid_index("invalid index " + detail::quoted(text) + ": " + what);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Value of c as a digit in `base`, or -1.
int digit_value(char c, int base) {
  int d = -1;
  if (c >= '0' && c <= '9')
    d = c - '0';
  else if (c >= 'a' && c <= 'f')
    d = c - 'a' + 10;
  else if (c >= 'A' && c <= 'F')
    d = c - 'A' + 10;
  return d < base ? d : -1;
}

// One optional slice part or integer, as Python would evaluate it: a signed integer literal,
// or None (absent).
struct number {
  bool present = false;
  std::int64_t value = 0;  // clamped to int64 when out of range
  bool overflow = false;
};

class parser {
 public:
  explicit parser(std::string_view text) : text_(text) {}

  std::vector<index_item> parse() {
    std::vector<index_item> items;
    skip_space();
    const bool bracketed = peek() == '[';
    if (bracketed) ++pos_;
    skip_space();
    const char close = bracketed ? ']' : '\0';
    if (at_end_of_tuple(close)) {
      // Python's a[] is a SyntaxError; the whole view is a[()] or a[...]. Without brackets the
      // text is the subscript itself, and nothing at all means the empty tuple.
      if (bracketed)
        fail_at(pos_, "empty subscript (a[] is a syntax error; \"()\" or \"...\" selects the whole array)");
      finish(bracketed);
      return items;
    }
    // "()" is Python's spelling of the empty tuple: a[()] is the whole view.
    if (peek() == '(') {
      const std::size_t open = pos_;
      ++pos_;
      skip_space();
      if (peek() != ')') unexpected(open);
      ++pos_;
      skip_space();
      finish(bracketed);
      return items;
    }
    for (;;) {
      items.push_back(parse_item());
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
        if (at_end_of_tuple(close)) break;  // one trailing comma, as Python allows
        continue;
      }
      break;
    }
    finish(bracketed);
    return items;
  }

 private:
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  [[nodiscard]] bool at_end_of_tuple(char close) const { return close ? peek() == close : at_end(); }
  void skip_space() {
    while (!at_end() && is_space(text_[pos_])) ++pos_;
  }

  [[noreturn]] void fail_at(std::size_t at, const std::string& what) const {
    fail(text_, what + " at position " + std::to_string(at));
  }
  [[noreturn]] void unexpected(std::size_t at) const {
    if (at >= text_.size()) fail_at(at, "unexpected end of index");
    // Quote a whole name ("True"), otherwise the one offending character.
    std::size_t end = at + 1;
    if (is_name_start(text_[at]))
      while (end < text_.size() && is_name_char(text_[end])) ++end;
    fail_at(at, "unexpected " + detail::quoted(text_.substr(at, end - at), '\''));
  }

  void finish(bool bracketed) {
    if (bracketed) {
      if (peek() != ']') unexpected(pos_);
      ++pos_;
      skip_space();
    }
    if (!at_end()) unexpected(pos_);
  }

  // The name starting at pos_ (letters, digits, underscores), consumed.
  std::string_view take_name() {
    const std::size_t begin = pos_;
    while (!at_end() && is_name_char(text_[pos_])) ++pos_;
    return text_.substr(begin, pos_ - begin);
  }

  index_item parse_item() {
    index_item item;
    item.position = pos_;
    if (peek() == '.' && peek(1) == '.' && peek(2) == '.') {
      pos_ += 3;
      item.what = index_item::kind::ellipsis;
      return item;
    }
    if (is_name_start(peek())) {
      const std::string_view name = take_name();
      if (name == "Ellipsis") {
        item.what = index_item::kind::ellipsis;
        return item;
      }
      if (name == "None") {
        // None alone is a new axis; "None:" starts a slice whose start is absent.
        skip_space();
        if (peek() != ':') {
          item.what = index_item::kind::new_axis;
          return item;
        }
        pos_ = item.position;
      } else {
        unexpected(item.position);
      }
    }
    const number first = parse_optional_number();
    skip_space();
    if (peek() != ':') {
      if (!first.present) unexpected(pos_);
      item.what = index_item::kind::integer;
      item.value = first.value;
      item.overflow = first.overflow;
      return item;
    }
    ++pos_;
    item.what = index_item::kind::slice;
    item.has_start = first.present;
    item.start = first.value;
    skip_space();
    const number stop = parse_optional_number();
    item.has_stop = stop.present;
    item.stop = stop.value;
    skip_space();
    if (peek() == ':') {
      ++pos_;
      skip_space();
      const number step = parse_optional_number();
      item.has_step = step.present;
      // Python's step never reaches -2^63: PySlice_Unpack raises it to -(2^63 - 1).
      item.step = step.present ? (step.value < -int64_max ? -int64_max : step.value) : 1;
    }
    return item;
  }

  // A signed integer literal or None; nothing at all (before ':', ',' or the end) is absent.
  number parse_optional_number() {
    number n;
    const std::size_t begin = pos_;
    if (is_name_start(peek())) {
      if (take_name() != "None") unexpected(begin);
      return n;
    }
    bool negative = false, signed_ = false;
    while (peek() == '+' || peek() == '-') {
      negative ^= peek() == '-';
      signed_ = true;
      ++pos_;
      skip_space();
    }
    if (!is_digit(peek())) {
      if (signed_) unexpected(pos_);
      return n;
    }
    n.present = true;
    // Magnitude saturates just above 2^63, which is all the clamping below needs to know.
    constexpr std::uint64_t cap = std::uint64_t(1) << 63;
    std::uint64_t magnitude = 0;
    bool huge = false;
    auto accumulate = [&](int base, int d) {
      if (huge) return;
      if (magnitude > (cap - std::uint64_t(d)) / std::uint64_t(base))
        huge = true;
      else
        magnitude = magnitude * std::uint64_t(base) + std::uint64_t(d);
    };
    int base = 10;
    const char prefix = peek(1);
    if (peek() == '0' &&
        (prefix == 'x' || prefix == 'X' || prefix == 'o' || prefix == 'O' || prefix == 'b' || prefix == 'B')) {
      base = (prefix == 'x' || prefix == 'X') ? 16 : (prefix == 'o' || prefix == 'O') ? 8 : 2;
      pos_ += 2;
      // Python: "0x" (["_"] hexdigit)+
      bool any = false;
      for (;;) {
        const std::size_t here = pos_;
        if (peek() == '_') ++pos_;
        const int d = digit_value(peek(), base);
        if (d < 0) {
          if (!any || pos_ != here) unexpected(pos_);
          break;
        }
        accumulate(base, d);
        any = true;
        ++pos_;
      }
    } else if (peek() == '0') {
      // Python: "0"+ (["_"] "0")*; "01" is a SyntaxError (leading zeros), "00" is zero.
      ++pos_;
      for (;;) {
        if (peek() == '0') {
          ++pos_;
        } else if (peek() == '_' && peek(1) == '0') {
          pos_ += 2;
        } else if (is_digit(peek()) || (peek() == '_' && is_digit(peek(1)))) {
          fail_at(begin, "leading zeros in decimal integer literals are not permitted");
        } else {
          break;
        }
      }
    } else {
      // Python: nonzerodigit (["_"] digit)*
      for (;;) {
        if (is_digit(peek())) {
          accumulate(10, peek() - '0');
          ++pos_;
        } else if (peek() == '_' && is_digit(peek(1))) {
          ++pos_;
        } else {
          break;
        }
      }
    }
    // "1.5", "1e3", "1j", "1_", "1x" are not integers.
    if (peek() == '.' || is_name_char(peek())) unexpected(pos_);
    if (negative) {
      if (huge || magnitude > cap) {
        n.value = int64_min;
        n.overflow = true;
      } else {
        n.value = magnitude == cap ? int64_min : -std::int64_t(magnitude);
      }
    } else if (huge || magnitude > std::uint64_t(int64_max)) {
      n.value = int64_max;
      n.overflow = true;
    } else {
      n.value = std::int64_t(magnitude);
    }
    return n;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// Python's spelling of the items, for messages when the caller gave no text.
std::string format_items(std::span<const index_item> items) {
  std::string s = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const index_item& it = items[i];
    if (i) s += ", ";
    switch (it.what) {
      case index_item::kind::integer: s += std::to_string(it.value); break;
      case index_item::kind::ellipsis: s += "..."; break;
      case index_item::kind::new_axis: s += "None"; break;
      case index_item::kind::slice:
        if (it.has_start) s += std::to_string(it.start);
        s += ':';
        if (it.has_stop) s += std::to_string(it.stop);
        if (it.has_step) s += ':' + std::to_string(it.step);
        break;
    }
  }
  return s + "]";
}

// The literal of an integer item as written, for the message about one that does not fit in int64.
std::string literal_at(std::string_view text, std::size_t position) {
  std::size_t end = position;
  while (end < text.size() && (is_name_char(text[end]) || is_space(text[end]) || text[end] == '+' || text[end] == '-'))
    ++end;
  while (end > position && is_space(text[end - 1])) --end;
  return std::string(text.substr(position, end - position));
}

std::string axes_string(std::span<const int> axes) {
  std::string s = "(";
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(axes[i]);
  }
  if (axes.size() == 1) s += ",";
  return s + ")";
}

// Moves the data pointer by `bytes` bytes, in integers: an empty result may point outside its
// allocation (x[:, 4] of a (0, 5) array), which pointer arithmetic could not express without UB.
const void* advance(const void* data, std::int64_t bytes) {
  return reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(data) + static_cast<std::uintptr_t>(bytes));
}

}  // namespace

std::vector<index_item> parse_index(std::string_view numpy_index) { return parser(numpy_index).parse(); }

view slice(const view& v, std::string_view numpy_index) {
  const std::vector<index_item> items = parse_index(numpy_index);
  return slice(v, items, numpy_index);
}

view slice(const view& v, std::span<const index_item> items, std::string_view text_for_messages) {
  detail::check_layout(v.layout);
  const std::string formatted = text_for_messages.empty() ? format_items(items) : std::string();
  const std::string_view text = text_for_messages.empty() ? std::string_view(formatted) : text_for_messages;
  const bool have_text = !text_for_messages.empty();
  auto where = [&](const index_item& it) {
    return have_text ? " (item at position " + std::to_string(it.position) + ")" : std::string();
  };

  // Pass 1, as NumPy's prepare_index: item by item a second ellipsis or an integer that does not
  // fit in int64 (NumPy fails to convert it right there); then too many indices, the result rank.
  int used = 0, kept = 0, new_axes = 0;
  bool has_ellipsis = false;
  for (const index_item& it : items) {
    switch (it.what) {
      case index_item::kind::ellipsis:
        if (has_ellipsis) fail(text, "an index can only have a single ellipsis ('...')" + where(it));
        has_ellipsis = true;
        break;
      case index_item::kind::integer:
        if (it.overflow)
          fail(text, "index " + (have_text ? literal_at(text, it.position) : std::string("beyond int64")) +
                         " does not fit in int64, so it is out of bounds for every axis" + where(it));
        ++used;
        break;
      case index_item::kind::slice:
        ++used;
        ++kept;
        break;
      case index_item::kind::new_axis: ++new_axes; break;
    }
  }
  const int rank = v.layout.rank;
  if (used > rank)
    fail(text, "too many indices for array: array is " + std::to_string(rank) + "-dimensional, but " +
                   std::to_string(used) + " were indexed");
  // The untouched dims: the ellipsis' expansion, or the trailing dims when there is none.
  const int whole = rank - used;
  const int result_rank = kept + new_axes + whole;
  if (result_rank > max_rank)
    fail(text, "the result would have rank " + std::to_string(result_rank) +
                   "; stridecopy supports rank <= " + std::to_string(max_rank));

  // Pass 2, as NumPy's get_view_from_index: bounds and steps are checked item by item, in order.
  layout out;
  out.rank = result_rank;
  int src = 0, dst = 0;
  std::int64_t offset = 0;
  auto add_offset = [&](std::int64_t index, std::int64_t stride) {
    const auto term = detail::checked_mul(index, stride);
    const auto sum = term ? detail::checked_add(offset, *term) : std::nullopt;
    if (!sum)
      fail(text, "the data pointer offset overflows int64 (view of shape " + shape_string(v.layout.extents()) +
                     " with strides " + shape_string(v.layout.strides()) + ")");
    offset = *sum;
  };
  auto keep_whole = [&](int count) {
    for (int i = 0; i < count; ++i, ++src, ++dst) {
      out.extent[dst] = v.layout.extent[src];
      out.stride[dst] = v.layout.stride[src];
    }
  };
  for (const index_item& it : items) {
    switch (it.what) {
      case index_item::kind::ellipsis: keep_whole(whole); break;
      case index_item::kind::new_axis:
        out.extent[dst] = 1;
        out.stride[dst] = 0;
        ++dst;
        break;
      case index_item::kind::integer: {
        const std::int64_t extent = v.layout.extent[src];
        if (it.value < -extent || it.value >= extent)
          fail(text, "index " + std::to_string(it.value) + " is out of bounds for axis " + std::to_string(src) +
                         " with size " + std::to_string(extent) + where(it));
        add_offset(it.value < 0 ? it.value + extent : it.value, v.layout.stride[src]);
        ++src;
        break;
      }
      case index_item::kind::slice: {
        // CPython's PySlice_Unpack then PySlice_AdjustIndices; every intermediate stays in
        // [-1, length] so nothing here can overflow.
        const std::int64_t length = v.layout.extent[src];
        std::int64_t step = it.has_step ? it.step : 1;
        if (step == 0)
          throw zero_step("invalid index " + detail::quoted(text) + ": slice step cannot be zero" + where(it));
        if (step < -int64_max) step = -int64_max;
        std::int64_t start = it.has_start ? it.start : (step < 0 ? int64_max : 0);
        std::int64_t stop = it.has_stop ? it.stop : (step < 0 ? int64_min : int64_max);
        auto adjust = [&](std::int64_t& bound) {
          if (bound < 0) {
            bound += length;
            if (bound < 0) bound = step < 0 ? -1 : 0;
          } else if (bound >= length) {
            bound = step < 0 ? length - 1 : length;
          }
        };
        adjust(start);
        adjust(stop);
        std::int64_t count = 0;
        if (step < 0) {
          if (stop < start) count = (start - stop - 1) / (-step) + 1;
        } else if (start < stop) {
          count = (stop - start - 1) / step + 1;
        }
        const std::int64_t stride = v.layout.stride[src];
        out.extent[dst] = count;
        if (count == 0) {
          // NumPy resets an empty slice to start 0, step 1: the pointer stays, the stride is kept.
          out.stride[dst] = stride;
        } else {
          const auto new_stride = detail::checked_mul(stride, step);
          if (!new_stride && count > 1)
            fail(text, "stride " + std::to_string(stride) + " times step " + std::to_string(step) + " overflows int64" +
                           where(it));
          // A single element's stride is never used; where the product does not fit (NumPy's C
          // product wraps there) keep the old one.
          out.stride[dst] = new_stride ? *new_stride : stride;
          add_offset(start, stride);
        }
        ++src;
        ++dst;
        break;
      }
    }
  }
  if (!has_ellipsis) keep_whole(whole);

  const auto bytes = detail::checked_mul(offset, std::int64_t(v.type.itemsize));
  if (!bytes)
    fail(text, "the data pointer offset of " + std::to_string(offset) + " elements of " +
                   std::to_string(v.type.itemsize) + " bytes overflows int64");
  view r = v;
  r.layout = out;
  r.data = advance(v.data, *bytes);
  return r;
}

view permute(const view& v, std::span<const int> axes) {
  detail::check_layout(v.layout);
  const int rank = v.layout.rank;
  auto bad = [&](const std::string& what) {
    throw invalid_index("invalid permutation " + axes_string(axes) + " of a " + std::to_string(rank) +
                        "-dimensional view: " + what);
  };
  if (axes.size() != std::size_t(rank)) bad("axes don't match array (" + std::to_string(axes.size()) + " axes given)");
  layout out;
  out.rank = rank;
  bool seen[max_rank] = {};
  for (int i = 0; i < rank; ++i) {
    const int a = axes[std::size_t(i)];
    if (a < -rank || a >= rank)
      bad("axis " + std::to_string(a) + " is out of bounds for array of dimension " + std::to_string(rank));
    const int axis = a < 0 ? a + rank : a;
    if (seen[axis]) bad("repeated axis " + std::to_string(axis) + " in transpose");
    seen[axis] = true;
    out.extent[i] = v.layout.extent[axis];
    out.stride[i] = v.layout.stride[axis];
  }
  view r = v;
  r.layout = out;
  return r;
}

view permute(const view& v, std::initializer_list<int> axes) {
  return permute(v, std::span<const int>(axes.begin(), axes.size()));
}

view flip(const view& v, int axis) {
  detail::check_layout(v.layout);
  const int rank = v.layout.rank;
  auto bad = [&](const std::string& what) {
    throw invalid_index("invalid flip axis " + std::to_string(axis) + " of a " + std::to_string(rank) +
                        "-dimensional view of shape " + shape_string(v.layout.extents()) + ": " + what);
  };
  if (axis < -rank || axis >= rank)
    bad("axis " + std::to_string(axis) + " is out of bounds for array of dimension " + std::to_string(rank));
  const int d = axis < 0 ? axis + rank : axis;
  const std::int64_t extent = v.layout.extent[d], stride = v.layout.stride[d];
  if (stride == int64_min && extent > 1) bad("stride -2^63 cannot be negated");
  std::int64_t offset = 0;
  if (extent > 0) {
    const auto elements = detail::checked_mul(extent - 1, stride);
    const auto bytes = elements ? detail::checked_mul(*elements, std::int64_t(v.type.itemsize)) : std::nullopt;
    if (!bytes) bad("the offset of the last element (stride " + std::to_string(stride) + ") overflows int64");
    offset = *bytes;
  }
  view r = v;
  // -(-2^63) does not exist; with at most one element the stride is never used, so keep it.
  r.layout.stride[d] = stride == int64_min ? stride : -stride;
  r.data = advance(v.data, offset);
  return r;
}

view broadcast_to(const view& v, std::span<const std::int64_t> shape) {
  detail::check_layout(v.layout);
  if (shape.size() > std::size_t(max_rank))
    throw invalid_view("cannot broadcast to shape " + shape_string(shape) + ": more than " + std::to_string(max_rank) +
                       " dims");
  const int rank = int(shape.size()), own = v.layout.rank;
  const auto refuse = [&] {
    throw invalid_view("could not broadcast input array from shape " + shape_string(v.layout.extents()) +
                       " into shape " + shape_string(shape));
  };
  if (own > rank) refuse();
  view r = v;
  r.layout.rank = rank;
  for (int i = 0; i < rank; ++i) {
    const int from = i - (rank - own);  // v's dim aligned with dim i, counted from the right
    const std::int64_t want = shape[std::size_t(i)];
    if (want < 0) throw invalid_view("cannot broadcast to shape " + shape_string(shape) + ": negative extent");
    if (from < 0) {
      r.layout.extent[i] = want;
      r.layout.stride[i] = 0;
    } else if (v.layout.extent[from] == want) {
      r.layout.extent[i] = want;
      r.layout.stride[i] = v.layout.stride[from];
    } else if (v.layout.extent[from] == 1) {
      r.layout.extent[i] = want;
      r.layout.stride[i] = 0;
    } else {
      refuse();
    }
  }
  return r;
}

mutable_view slice(const mutable_view& v, std::string_view numpy_index) {
  return assume_writable(slice(static_cast<const view&>(v), numpy_index));
}
mutable_view slice(const mutable_view& v, std::span<const index_item> items, std::string_view text_for_messages) {
  return assume_writable(slice(static_cast<const view&>(v), items, text_for_messages));
}
mutable_view permute(const mutable_view& v, std::span<const int> axes) {
  return assume_writable(permute(static_cast<const view&>(v), axes));
}
mutable_view permute(const mutable_view& v, std::initializer_list<int> axes) {
  return assume_writable(permute(static_cast<const view&>(v), axes));
}
mutable_view flip(const mutable_view& v, int axis) { return assume_writable(flip(static_cast<const view&>(v), axis)); }

}  // namespace stridecopy
