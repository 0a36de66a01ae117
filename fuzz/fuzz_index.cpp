// fuzz/fuzz_index.cpp — NumPy indexing under libFuzzer.
//
// 1. parse_index on the input bytes as they are: items or invalid_index, nothing else; the items
//    spelt again canonically parse to the same items; and slice() with them on a few fixed small
//    views agrees with the model below.
// 2. The input read as a small view (rank <= 5, extents <= 6, any strides: small ones, extremes,
//    anything) and an index drawn item by item (values in 128 bits: near the axis, beyond int64),
//    spelt in any of Python's ways (signs, bases, digit groups, None for absent parts, spaces,
//    brackets, a trailing comma): parse_index returns exactly those items, and slice() refuses
//    exactly when the model refuses, with its message, else selects exactly the model's elements in
//    the same order. flip() and permute() with drawn axes: the same refusals, the exact element
//    mapping.
//
// The model is NumPy basic indexing as Python defines it, on 128-bit integers: slices by the
// language reference's rules, offsets accumulated item by item as element offsets that must fit
// int64 (and in bytes at the end), new strides that must fit int64 where they are used.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/view.hpp"

namespace sc = stridecopy;
using fuzz::fits_i64;
using fuzz::i128;
using fuzz::i64_max;
using fuzz::i64_min;
using fuzz::u128;
using kind = sc::index_item::kind;

namespace {

// slice(), flip() and permute() never dereference: views sit at a made-up address.
const std::uintptr_t base_address = std::uintptr_t(1) << 40;

struct small_view {
  std::vector<std::int64_t> shape, stride;  // elements
  int itemsize = 1;

  [[nodiscard]] sc::view make() const {
    sc::view v;
    v.data = reinterpret_cast<const void*>(base_address);
    v.type = sc::dtype{'V', itemsize, '|'};
    v.layout.rank = int(shape.size());
    for (std::size_t d = 0; d < shape.size(); ++d) {
      v.layout.extent[d] = shape[d];
      v.layout.stride[d] = stride[d];
    }
    return v;
  }
  [[nodiscard]] std::string describe() const {
    std::string s = "view shape (";
    for (const auto e : shape) s += std::to_string(e) + ",";
    s += ") strides (";
    for (const auto e : stride) s += std::to_string(e) + ",";
    return s + ") itemsize " + std::to_string(itemsize);
  }
};

// ---- the model ----------------------------------------------------------------------------------

struct model_item {
  kind what = kind::slice;
  i128 value = 0;                       // integer
  bool has[3] = {false, false, false};  // slice: start, stop, step present
  i128 part[3] = {0, 0, 1};
};

struct outcome {
  std::string error;  // a substring the message must hold; empty when the index applies
  std::vector<std::int64_t> shape;
  std::vector<i128> offsets;  // byte offset of every result element from the view's data, C order
  i128 origin = 0;            // where the result's data pointer lies, in bytes
};

// Python's range(n)[start:stop:step] (the language reference; CPython's slice.indices): a negative
// bound counts from the end, then bounds are clipped to the sequence, then the walk.
std::vector<i128> python_slice(i128 n, const model_item& it) {
  const i128 step = it.has[2] ? it.part[2] : 1;
  std::vector<i128> picked;
  auto clip = [&](i128 b, i128 lo, i128 hi) {
    if (b < 0) b += n;
    return b < lo ? lo : b > hi ? hi : b;
  };
  if (step > 0) {
    const i128 start = it.has[0] ? clip(it.part[0], 0, n) : 0;
    const i128 stop = it.has[1] ? clip(it.part[1], 0, n) : n;
    for (i128 i = start; i < stop; i += step) picked.push_back(i);
  } else {
    const i128 start = it.has[0] ? clip(it.part[0], -1, n - 1) : n - 1;
    const i128 stop = it.has[1] ? clip(it.part[1], -1, n - 1) : -1;
    for (i128 i = start; i > stop; i += step) picked.push_back(i);
  }
  return picked;
}

outcome model(const small_view& v, const std::vector<model_item>& items) {
  outcome r;
  const int rank = int(v.shape.size());
  int used = 0, slices = 0, nones = 0;
  bool ellipsis = false;
  // NumPy's first pass, item by item: a second ellipsis; an integer beyond int64.
  for (const auto& it : items) {
    if (it.what == kind::ellipsis) {
      if (ellipsis) return {"an index can only have a single ellipsis ('...')"};
      ellipsis = true;
    }
    if (it.what == kind::integer && !fits_i64(it.value)) return {"does not fit in int64"};
    used += it.what == kind::integer || it.what == kind::slice;
    slices += it.what == kind::slice;
    nones += it.what == kind::new_axis;
  }
  if (used > rank)
    return {"too many indices for array: array is " + std::to_string(rank) + "-dimensional, but " +
            std::to_string(used) + " were indexed"};
  if (slices + nones + (rank - used) > sc::max_rank) return {"stridecopy supports rank <= 64"};

  // Second pass, item by item: each result axis as the element offsets of its positions; integers
  // and the first position of each non-empty slice move the data pointer.
  std::vector<std::vector<i128>> axes;
  i128 offset = 0;  // elements
  const std::string overflow = "overflows int64";
  auto move = [&](i128 index, i128 stride) {
    const i128 term = index * stride;
    if (!fits_i64(term) || !fits_i64(offset + term)) return false;
    offset += term;
    return true;
  };
  int src = 0;
  auto whole = [&] {
    std::vector<i128> a;
    for (std::int64_t i = 0; i < v.shape[std::size_t(src)]; ++i) a.push_back(i128(i) * v.stride[std::size_t(src)]);
    axes.push_back(a);
    ++src;
  };
  for (const auto& it : items) {
    switch (it.what) {
      case kind::new_axis: axes.push_back({0}); break;
      case kind::ellipsis:
        for (int k = 0; k < rank - used; ++k) whole();
        break;
      case kind::integer: {
        const i128 n = v.shape[std::size_t(src)];
        if (it.value < -n || it.value >= n)
          return {"index " + fuzz::to_string(it.value) + " is out of bounds for axis " + std::to_string(src) +
                  " with size " + fuzz::to_string(n)};
        if (!move(it.value < 0 ? it.value + n : it.value, v.stride[std::size_t(src)])) return {overflow};
        ++src;
        break;
      }
      case kind::slice: {
        if (it.has[2] && it.part[2] == 0) return {"slice step cannot be zero"};
        const i128 stride = v.stride[std::size_t(src)];
        const std::vector<i128> picked = python_slice(v.shape[std::size_t(src)], it);
        // The new stride is used (and must fit) when two or more positions are picked.
        if (picked.size() > 1 && !fits_i64(stride * (picked[1] - picked[0]))) return {overflow};
        if (!picked.empty() && !move(picked[0], stride)) return {overflow};
        std::vector<i128> a;
        for (const i128 i : picked) a.push_back((i - (picked.empty() ? 0 : picked[0])) * stride);
        axes.push_back(a);
        ++src;
        break;
      }
    }
  }
  if (!ellipsis)
    while (src < rank) whole();
  if (!fits_i64(offset * v.itemsize)) return {overflow};
  r.origin = offset * v.itemsize;
  std::vector<i128> elements = {offset};
  for (const auto& a : axes) {
    r.shape.push_back(std::int64_t(a.size()));
    std::vector<i128> next;
    next.reserve(elements.size() * a.size());
    for (const i128 e : elements)
      for (const i128 d : a) next.push_back(e + d);
    elements.swap(next);
  }
  for (const i128 e : elements) r.offsets.push_back(e * v.itemsize);
  return r;
}

// ---- comparing a result with the model ------------------------------------------------------------

i128 data_offset(const sc::view& r) {
  // The library keeps byte offsets in int64; the pointer difference modulo 2^64 read as signed is it.
  return i128(std::int64_t(reinterpret_cast<std::uintptr_t>(r.data) - base_address));
}

// Byte offsets of every element of r from the base address, in C order.
std::vector<i128> walk(const sc::view& r) {
  std::vector<i128> out;
  for (int d = 0; d < r.rank(); ++d)
    if (r.layout.extent[d] == 0) return out;
  std::array<std::int64_t, sc::max_rank> idx{};
  const i128 origin = data_offset(r);
  for (;;) {
    i128 at = origin;
    for (int d = 0; d < r.rank(); ++d) at += i128(idx[std::size_t(d)]) * r.layout.stride[d] * r.type.itemsize;
    out.push_back(at);
    int d = r.rank() - 1;
    for (; d >= 0; --d) {
      if (++idx[std::size_t(d)] < r.layout.extent[d]) break;
      idx[std::size_t(d)] = 0;
    }
    if (d < 0) return out;
  }
}

std::string describe_offsets(const std::vector<i128>& o) {
  std::string s = "[";
  for (std::size_t i = 0; i < o.size() && i < 32; ++i) s += (i ? ", " : "") + fuzz::to_string(o[i]);
  return s + (o.size() > 32 ? ", ...]" : "]");
}

template <class F>
void expect_refusal(F&& f, const std::string& needle, const std::string& context) {
  try {
    (void)f();
  } catch (const sc::invalid_index& e) {
    const std::string m = e.what();
    CHECK(m.find(needle) != std::string::npos, context + "\nmessage: " + m + "\nexpected to contain: " + needle);
    return;
  }
  CHECK(false, context + "\nexpected invalid_index containing: " + needle);
}

void check_slice(const small_view& sv, const std::vector<model_item>& items, std::string_view text,
                 const std::vector<sc::index_item>* parsed) {
  const outcome m = model(sv, items);
  const std::string context = sv.describe() + "\nindex \"" + std::string(text) + "\"";
  const sc::view v = sv.make();
  auto run = [&] { return parsed ? sc::slice(v, *parsed, text) : sc::slice(v, text); };
  if (!m.error.empty()) {
    expect_refusal(run, m.error, context);
    return;
  }
  sc::view r;
  try {
    r = run();
  } catch (const sc::error& e) {
    CHECK(false, context + "\nthe model selects elements, slice() refused: " + e.what());
  }
  CHECK(std::vector<std::int64_t>(r.shape().begin(), r.shape().end()) == m.shape, context + "\nshape differs");
  CHECK(r.type == v.type && r.memory == v.memory && !r.allocation, context + "\ntype or memory changed");
  CHECK(data_offset(r) == m.origin,
        context + "\ndata pointer at " + fuzz::to_string(data_offset(r)) + ", model " + fuzz::to_string(m.origin));
  const std::vector<i128> got = walk(r);
  CHECK(got == m.offsets,
        context + "\nelements " + describe_offsets(got) + "\nmodel    " + describe_offsets(m.offsets));
}

// ---- flip and permute -----------------------------------------------------------------------------

// Byte offsets of the elements of v (C order) after mapping each index through f(index) -> index of v.
template <class F>
std::vector<i128> mapped_walk(const small_view& v, const std::vector<std::int64_t>& shape, F&& f) {
  std::vector<i128> out;
  for (const auto e : shape)
    if (e == 0) return out;
  std::vector<std::int64_t> idx(shape.size(), 0);
  for (;;) {
    const std::vector<std::int64_t> src = f(idx);
    i128 at = 0;
    for (std::size_t d = 0; d < src.size(); ++d) at += i128(src[d]) * v.stride[d] * v.itemsize;
    out.push_back(at);
    int d = int(shape.size()) - 1;
    for (; d >= 0; --d) {
      if (++idx[std::size_t(d)] < shape[std::size_t(d)]) break;
      idx[std::size_t(d)] = 0;
    }
    if (d < 0) return out;
  }
}

void check_flip(const small_view& sv, int axis) {
  const int rank = int(sv.shape.size());
  const std::string context = sv.describe() + "\nflip axis " + std::to_string(axis);
  const sc::view v = sv.make();
  if (axis < -rank || axis >= rank) return expect_refusal([&] { return sc::flip(v, axis); }, "out of bounds", context);
  const std::size_t d = std::size_t(axis < 0 ? axis + rank : axis);
  const i128 extent = sv.shape[d], stride = sv.stride[d];
  // The last element becomes the first: its offset must fit, in elements and in bytes, and a stride
  // of -2^63 has no negation where it is used.
  if (extent > 1 &&
      (stride == i64_min || !fits_i64((extent - 1) * stride) || !fits_i64((extent - 1) * stride * sv.itemsize)))
    return expect_refusal([&] { return sc::flip(v, axis); },
                          extent > 1 && stride == i64_min ? "cannot be negated" : "overflows int64", context);
  sc::view r;
  try {
    r = sc::flip(v, axis);
  } catch (const sc::error& e) {
    CHECK(false, context + "\nflip refused: " + e.what());
  }
  CHECK(r.rank() == rank && std::equal(sv.shape.begin(), sv.shape.end(), r.shape().begin()),
        context + "\nshape changed");
  const std::vector<i128> expected = mapped_walk(sv, sv.shape, [&](std::vector<std::int64_t> idx) {
    idx[d] = sv.shape[d] - 1 - idx[d];
    return idx;
  });
  const std::vector<i128> got = walk(r);
  CHECK(got == expected, context + "\nelements " + describe_offsets(got) + "\nexpected " + describe_offsets(expected));
}

void check_permute(const small_view& sv, const std::vector<int>& axes) {
  const int rank = int(sv.shape.size());
  std::string context = sv.describe() + "\npermute (";
  for (const int a : axes) context += std::to_string(a) + ",";
  context += ")";
  const sc::view v = sv.make();
  auto run = [&] { return sc::permute(v, std::span<const int>(axes)); };
  if (axes.size() != std::size_t(rank)) return expect_refusal(run, "axes don't match array", context);
  std::vector<std::size_t> from(axes.size());
  std::vector<bool> seen(axes.size(), false);
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < -rank || axes[i] >= rank) return expect_refusal(run, "out of bounds", context);
    from[i] = std::size_t(axes[i] < 0 ? axes[i] + rank : axes[i]);
    if (seen[from[i]]) return expect_refusal(run, "repeated axis", context);
    seen[from[i]] = true;
  }
  sc::view r;
  try {
    r = run();
  } catch (const sc::error& e) {
    CHECK(false, context + "\npermute refused: " + e.what());
  }
  std::vector<std::int64_t> shape(axes.size());
  for (std::size_t i = 0; i < axes.size(); ++i) shape[i] = sv.shape[from[i]];
  CHECK(std::vector<std::int64_t>(r.shape().begin(), r.shape().end()) == shape, context + "\nshape differs");
  CHECK(r.data == v.data, context + "\ndata pointer moved");
  const std::vector<i128> expected = mapped_walk(sv, shape, [&](const std::vector<std::int64_t>& idx) {
    std::vector<std::int64_t> src(idx.size());
    for (std::size_t i = 0; i < idx.size(); ++i) src[from[i]] = idx[i];
    return src;
  });
  const std::vector<i128> got = walk(r);
  CHECK(got == expected, context + "\nelements " + describe_offsets(got) + "\nexpected " + describe_offsets(expected));
}

// ---- part 1: the parser on the bytes as they are -------------------------------------------------

// The canonical spelling of one parsed item: parses back to the same item.
std::string canonical(const sc::index_item& it) {
  auto number = [](std::int64_t v) { return std::to_string(v); };
  switch (it.what) {
    case kind::integer:
      if (it.overflow) return it.value < 0 ? "-9223372036854775809" : "9223372036854775808";
      return number(it.value);
    case kind::ellipsis: return "...";
    case kind::new_axis: return "None";
    case kind::slice: break;
  }
  std::string s = (it.has_start ? number(it.start) : "") + ":" + (it.has_stop ? number(it.stop) : "");
  if (it.has_step) s += ":" + number(it.step);
  return s;
}

void check_same_items(const std::vector<sc::index_item>& a, const std::vector<sc::index_item>& b,
                      const std::string& context, bool positions) {
  CHECK(a.size() == b.size(), context + "\nitem count " + std::to_string(a.size()) + " vs " + std::to_string(b.size()));
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto &x = a[i], &y = b[i];
    const std::string at =
        context + "\nitem " + std::to_string(i) + ": \"" + canonical(x) + "\" vs \"" + canonical(y) + "\"";
    CHECK(x.what == y.what, at);
    if (positions)
      CHECK(x.position == y.position,
            at + "\nposition " + std::to_string(x.position) + " vs " + std::to_string(y.position));
    if (x.what == kind::integer) CHECK(x.value == y.value && x.overflow == y.overflow, at);
    if (x.what == kind::slice) {
      CHECK(x.has_start == y.has_start && x.has_stop == y.has_stop && x.has_step == y.has_step && !x.overflow &&
                !y.overflow,
            at);
      CHECK((!x.has_start || x.start == y.start) && (!x.has_stop || x.stop == y.stop) && x.step == y.step, at);
    }
  }
}

// A few fixed small views for the parsed items: ranks 0 to 4, negative, zero and huge strides.
const small_view& fixed_view(std::size_t i) {
  static const small_view views[] = {
      {{}, {}, 4},
      {{5}, {-3}, 2},
      {{3, 4}, {4, 1}, 4},
      {{2, 0, 3}, {7, -1, 2}, 1},
      {{4, 1, 3, 2}, {-6, 100, 2, -1}, 8},
      {{3}, {std::int64_t(1) << 62}, 1},
  };
  return views[i % std::size(views)];
}
constexpr std::size_t fixed_views = 6;

model_item model_of(const sc::index_item& it) {
  model_item m;
  m.what = it.what;
  // An integer flagged as beyond int64 is one past the end it was clamped to.
  m.value = it.overflow ? (it.value < 0 ? i128(it.value) - 1 : i128(it.value) + 1) : it.value;
  m.has[0] = it.has_start;
  m.has[1] = it.has_stop;
  m.has[2] = it.has_step;
  m.part[0] = it.start;
  m.part[1] = it.stop;
  m.part[2] = it.has_step ? it.step : 1;
  return m;
}

void check_raw(std::string_view text) {
  std::vector<sc::index_item> items;
  try {
    items = sc::parse_index(text);
  } catch (const sc::invalid_index& e) {
    const std::string m = e.what();
    CHECK(m.rfind("invalid index \"", 0) == 0 && m.find(" at position ") != std::string::npos, "message: " + m);
    return;
  }
  std::string again;
  for (const auto& it : items) {
    CHECK(it.position < text.size(), "item position beyond the text");
    again += canonical(it) + ",";
  }
  check_same_items(items, sc::parse_index(again), "the canonical spelling \"" + again + "\"", false);
  std::vector<model_item> model_items;
  for (const auto& it : items) model_items.push_back(model_of(it));
  for (std::size_t i = 0; i < fixed_views; ++i) check_slice(fixed_view(i), model_items, text, nullptr);
}

// ---- part 2: drawn views and indices, spelt many ways ---------------------------------------------

class speller {
 public:
  explicit speller(FuzzedDataProvider& in) : in_(in) {}

  std::string space() {
    switch (in_.ConsumeIntegralInRange(0, 7)) {
      case 0: return " ";
      case 1: return "  ";
      case 2: return "\t";
      case 3: return "\n";
      default: return "";
    }
  }

  // Python's spelling of v: a chain of unary signs, then digits in base 10, 16, 8 or 2, digit
  // groups now and then.
  std::string literal(i128 v) {
    const u128 magnitude = v < 0 ? u128(-(v + 1)) + 1 : u128(v);
    const int base_pick = in_.ConsumeIntegralInRange(0, 7);
    const int base = base_pick == 5 ? 16 : base_pick == 6 ? 8 : base_pick == 7 ? 2 : 10;
    const bool upper = in_.ConsumeBool();
    std::string digits;
    for (u128 m = magnitude; m != 0 || digits.empty(); m /= u128(base)) {
      const int d = int(m % u128(base));
      digits += char(d < 10 ? '0' + d : (upper ? 'A' : 'a') + d - 10);
      if (m == 0) break;
    }
    std::reverse(digits.begin(), digits.end());
    if (base == 10 && magnitude == 0) {
      const int zeros = in_.ConsumeIntegralInRange(0, 3);
      digits = zeros == 1 ? "00" : zeros == 2 ? "0_0" : "0";
    }
    if (digits.size() > 1 && digits.find('_') == std::string::npos && in_.ConsumeIntegralInRange(0, 4) == 0) {
      std::string grouped;
      for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && in_.ConsumeIntegralInRange(0, 2) == 0) grouped += '_';
        grouped += digits[i];
      }
      digits = grouped;
    }
    std::string body;
    if (base == 10) {
      body = digits;
    } else {
      body = std::string("0") + (base == 16  ? (upper ? "X" : "x")
                                 : base == 8 ? (upper ? "O" : "o")
                                             : (upper ? "B" : "b"));
      if (in_.ConsumeIntegralInRange(0, 5) == 0) body += '_';  // "0x_1f" is Python too
      body += digits;
    }
    // Unary signs: their count of '-' has the parity of v's sign.
    std::string signs;
    int minus = 0;
    const int count = in_.ConsumeIntegralInRange(0, 3);
    for (int i = 0; i < count; ++i) {
      const bool m = in_.ConsumeBool();
      minus += m;
      signs += m ? '-' : '+';
      signs += space();
    }
    if (v != 0 && (minus % 2 == 1) != (v < 0)) signs = "-" + space() + signs;
    return signs + body;
  }

  // A value for an index or a slice bound: mostly near the axis, sometimes at or beyond int64's ends.
  i128 value(std::int64_t extent) {
    switch (in_.ConsumeIntegralInRange(0, 9)) {
      case 0: {
        static const i128 far[] = {
            i128(i64_max),     i128(i64_max) + 1, i128(i64_min),        i128(i64_min) - 1,
            i128(i64_max) - 1, i128(i64_min) + 1, (i128(1) << 64) + 2,  -((i128(1) << 64) + 1),
            i128(1) << 62,     -(i128(1) << 62),  i128(i64_max) * 1000,
        };
        return far[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(far) - 1)];
      }
      case 1: return in_.ConsumeIntegral<std::int64_t>();
      default: {
        const int reach = int(extent) + 3;
        return in_.ConsumeIntegralInRange(-reach, reach);
      }
    }
  }

  i128 step() {
    switch (in_.ConsumeIntegralInRange(0, 19)) {
      case 0: return 0;
      case 1: return i128(i64_min) - in_.ConsumeIntegralInRange(0, 1);
      case 2: return i128(i64_max) + in_.ConsumeIntegralInRange(0, 1);
      case 3: return in_.ConsumeBool() ? (i128(1) << 64) + 1 : -((i128(1) << 64) + 1);
      default: {
        const int s = in_.ConsumeIntegralInRange(-4, 3);
        return s >= 0 ? s + 1 : s;
      }
    }
  }

  // An absent slice part ("" or "None"), or a literal.
  std::string part(model_item& it, int which, i128 v) {
    if (in_.ConsumeIntegralInRange(0, 2) == 0) return in_.ConsumeIntegralInRange(0, 4) == 0 ? "None" : "";
    it.has[which] = true;
    it.part[which] = v;
    return literal(v);
  }

  std::string item(model_item& it, std::int64_t extent, int none_percent) {
    if (in_.ConsumeIntegralInRange(0, 99) < none_percent) {
      it.what = kind::new_axis;
      return "None";
    }
    const int k = in_.ConsumeIntegralInRange(0, 99);
    if (k < 28) {
      it.what = kind::integer;
      it.value = value(extent);
      return literal(it.value);
    }
    if (k < 36) {
      it.what = kind::ellipsis;
      return in_.ConsumeIntegralInRange(0, 9) == 0 ? "Ellipsis" : "...";
    }
    it.what = kind::slice;
    std::string s = part(it, 0, value(extent)) + space() + ":" + space() + part(it, 1, value(extent));
    if (in_.ConsumeIntegralInRange(0, 9) < 6) {
      s += space() + ":" + space();
      if (in_.ConsumeIntegralInRange(0, 4) > 0) s += part(it, 2, step());
    }
    return s;
  }

 private:
  FuzzedDataProvider& in_;
};

std::int64_t draw_stride(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 11)) {
    case 0: {
      static const std::int64_t far[] = {i64_max,
                                         i64_min,
                                         i64_min + 1,
                                         std::int64_t(1) << 62,
                                         -(std::int64_t(1) << 62),
                                         (std::int64_t(1) << 61) + 1,
                                         i64_max / 2,
                                         i64_max / 3,
                                         -(i64_max / 5)};
      return far[in.ConsumeIntegralInRange<std::size_t>(0, std::size(far) - 1)];
    }
    case 1: return in.ConsumeIntegral<std::int64_t>();
    default: return in.ConsumeIntegralInRange<std::int64_t>(-12, 12);
  }
}

// What parse_index must make of a drawn item: bounds clamped to int64, an integer beyond it
// flagged, a step at least -(2^63 - 1) as Python has it.
void check_parsed(const std::vector<model_item>& items, const std::vector<std::size_t>& positions,
                  const std::vector<sc::index_item>& parsed, const std::string& context) {
  CHECK(parsed.size() == items.size(), context + "\nitem count " + std::to_string(parsed.size()));
  auto clamp = [](i128 v, i128 lo) { return std::int64_t(v < lo ? lo : v > i64_max ? i128(i64_max) : v); };
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& m = items[i];
    const auto& p = parsed[i];
    const std::string at = context + "\nitem " + std::to_string(i) + " parsed as \"" + canonical(p) + "\"";
    CHECK(p.what == m.what, at + ": kind differs");
    CHECK(p.position == positions[i],
          at + ": position " + std::to_string(p.position) + ", written at " + std::to_string(positions[i]));
    if (m.what == kind::integer) {
      CHECK(p.value == clamp(m.value, i64_min) && p.overflow == !fits_i64(m.value),
            at + ": value " + fuzz::to_string(m.value));
    } else if (m.what == kind::slice) {
      CHECK(p.has_start == m.has[0] && p.has_stop == m.has[1] && p.has_step == m.has[2] && !p.overflow, at + ": parts");
      CHECK(!m.has[0] || p.start == clamp(m.part[0], i64_min), at + ": start " + fuzz::to_string(m.part[0]));
      CHECK(!m.has[1] || p.stop == clamp(m.part[1], i64_min), at + ": stop " + fuzz::to_string(m.part[1]));
      CHECK(p.step == (m.has[2] ? clamp(m.part[2], -i128(i64_max)) : 1), at + ": step " + fuzz::to_string(m.part[2]));
    }
  }
}

void check_drawn(FuzzedDataProvider& in) {
  speller say(in);
  small_view sv;
  const int rank = in.ConsumeIntegralInRange(0, 5);
  static const int itemsizes[] = {1, 2, 3, 4, 8, 16, 0};
  sv.itemsize = itemsizes[in.ConsumeIntegralInRange<std::size_t>(0, std::size(itemsizes) - 1)];
  for (int d = 0; d < rank; ++d) {
    sv.shape.push_back(in.ConsumeIntegralInRange(0, 6));
    sv.stride.push_back(draw_stride(in));
  }

  // The index, item by item, and its text.
  const bool many_new_axes = in.ConsumeIntegralInRange(0, 15) == 0;
  const int count = in.ConsumeIntegralInRange(0, rank + (many_new_axes ? 70 : 3));
  std::vector<model_item> items(static_cast<std::size_t>(count));
  std::vector<std::size_t> positions;
  std::string text = say.space();
  const bool bracketed = in.ConsumeIntegralInRange(0, 9) < 6;
  if (bracketed) text += "[" + say.space();
  // "[]" is Python's a[], a syntax error: in brackets, no items are spelt "()".
  if (count == 0 && (bracketed || in.ConsumeIntegralInRange(0, 3) == 0)) text += "(" + say.space() + ")" + say.space();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) text += say.space() + "," + say.space();
    const std::int64_t extent = i < sv.shape.size() ? sv.shape[i] : 3;
    const std::string item = say.item(items[i], extent, many_new_axes ? 97 : 8);
    // An item starts at its first character that is not a space (a slice may start with ':').
    positions.push_back(text.size() + item.find_first_not_of(" \t\n"));
    text += item;
  }
  if (count > 0 && in.ConsumeIntegralInRange(0, 6) == 0) text += say.space() + ",";
  if (bracketed) text += say.space() + "]";
  text += say.space();

  const std::string context = sv.describe() + "\nindex \"" + text + "\"";
  std::vector<sc::index_item> parsed;
  try {
    parsed = sc::parse_index(text);
  } catch (const sc::invalid_index& e) {
    CHECK(false, context + "\nparse_index refused a valid Python index: " + e.what());
  }
  check_parsed(items, positions, parsed, context);
  check_slice(sv, items, text, nullptr);
  check_slice(sv, items, text, &parsed);

  const int axis = in.ConsumeIntegralInRange(-rank - 2, rank + 1);
  check_flip(sv, axis);
  std::vector<int> axes;
  const bool shuffle = in.ConsumeIntegralInRange(0, 7) > 0;
  const int n = shuffle ? rank : in.ConsumeIntegralInRange(0, rank + 1);
  for (int i = 0; i < n; ++i) axes.push_back(shuffle ? i : in.ConsumeIntegralInRange(-rank - 1, rank));
  if (shuffle) {
    for (int i = n - 1; i > 0; --i)
      std::swap(axes[std::size_t(i)], axes[in.ConsumeIntegralInRange<std::size_t>(0, std::size_t(i))]);
    for (auto& a : axes)
      if (in.ConsumeIntegralInRange(0, 3) == 0) a -= rank;  // negative axes wrap
  }
  check_permute(sv, axes);

  // Layouts that no view may have: every operation refuses them as invalid_view.
  if (in.ConsumeIntegralInRange(0, 15) == 0) {
    sc::view bad = sv.make();
    if (rank > 0 && in.ConsumeBool())
      bad.layout.extent[std::size_t(in.ConsumeIntegralInRange(0, rank - 1))] =
          -in.ConsumeIntegralInRange<std::int64_t>(1, i64_max);
    else
      bad.layout.rank =
          in.ConsumeBool() ? sc::max_rank + in.ConsumeIntegralInRange(1, 1000) : -in.ConsumeIntegralInRange(1, 1000);
    auto refuses = [&](auto&& f, const char* what) {
      try {
        (void)f();
      } catch (const sc::invalid_view&) {
        return;
      }
      CHECK(false, context + "\n" + what + " accepted a layout of rank " + std::to_string(bad.layout.rank) +
                       " or a negative extent");
    };
    refuses([&] { return sc::slice(bad, text); }, "slice");
    refuses([&] { return sc::flip(bad, 0); }, "flip");
    refuses([&] { return sc::permute(bad, std::span<const int>(axes)); }, "permute");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_raw(std::string_view(reinterpret_cast<const char*>(data), size));
  FuzzedDataProvider in(data, size);
  check_drawn(in);
  return 0;
}
