// tests/index_test.cpp — NumPy basic indexing: the parser, slice() against hand-derived NumPy
// results and against a brute-force model of Python's semantics, permute, flip and composition.
#include <gtest/gtest.h>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/view.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;
using kind = sc::index_item::kind;

namespace {

constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();

// slice() never dereferences, so views can sit at a made-up address.
const void* fake_base() { return reinterpret_cast<const void*>(std::uintptr_t(1) << 40); }

sc::view fake_view(const shape_t& shape, const shape_t& strides = {}, sc::dtype type = sc::dtype_of<float>()) {
  return sc::make_view(fake_base(), type, shape, strides);
}

// Pointer distance from fake_base(), in elements of r's type.
std::int64_t offset_of(const sc::view& r) {
  const auto bytes =
      std::int64_t(reinterpret_cast<std::uintptr_t>(r.data) - reinterpret_cast<std::uintptr_t>(fake_base()));
  EXPECT_EQ(bytes % r.type.itemsize, 0);
  return bytes / r.type.itemsize;
}

shape_t shape_of(const sc::view& r) { return {r.shape().begin(), r.shape().end()}; }
shape_t strides_of(const sc::view& r) { return {r.strides().begin(), r.strides().end()}; }

void expect_view(const sc::view& r, const shape_t& shape, const shape_t& strides, std::int64_t offset) {
  EXPECT_EQ(shape_of(r), shape);
  EXPECT_EQ(strides_of(r), strides);
  EXPECT_EQ(offset_of(r), offset);
}

// The message of the invalid_index that f throws (a test failure when it throws nothing).
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const sc::invalid_index& e) {
    return e.what();
  }
  ADD_FAILURE() << "no invalid_index was thrown";
  return {};
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parser

TEST(IndexParse, ItemKindsValuesAndPositions) {
  const auto items = sc::parse_index("[:, ::-1, 1:, ..., None, -3, 2:7:2]");
  ASSERT_EQ(items.size(), 7u);
  EXPECT_EQ(items[0].what, kind::slice);
  EXPECT_FALSE(items[0].has_start || items[0].has_stop || items[0].has_step);
  EXPECT_EQ(items[0].position, 1u);
  EXPECT_EQ(items[1].what, kind::slice);
  EXPECT_TRUE(items[1].has_step);
  EXPECT_FALSE(items[1].has_start || items[1].has_stop);
  EXPECT_EQ(items[1].step, -1);
  EXPECT_EQ(items[1].position, 4u);
  EXPECT_TRUE(items[2].has_start);
  EXPECT_FALSE(items[2].has_stop || items[2].has_step);
  EXPECT_EQ(items[2].start, 1);
  EXPECT_EQ(items[3].what, kind::ellipsis);
  EXPECT_EQ(items[3].position, 14u);
  EXPECT_EQ(items[4].what, kind::new_axis);
  EXPECT_EQ(items[5].what, kind::integer);
  EXPECT_EQ(items[5].value, -3);
  EXPECT_FALSE(items[5].overflow);
  EXPECT_EQ(items[5].position, 25u);
  EXPECT_TRUE(items[6].has_start && items[6].has_stop && items[6].has_step);
  EXPECT_EQ(items[6].start, 2);
  EXPECT_EQ(items[6].stop, 7);
  EXPECT_EQ(items[6].step, 2);
}

TEST(IndexParse, EmptyTupleSpellings) {
  for (const char* s : {"", "  ", "()", "[()]", "[ ( ) ]", " ( ) "}) {
    SCOPED_TRACE(quote(s));
    EXPECT_TRUE(sc::parse_index(s).empty());
  }
}

TEST(IndexParse, EmptySubscriptIsRefused) {
  // Python's a[] is a SyntaxError; brackets around nothing are not the empty tuple.
  for (const char* s : {"[]", "[ ]", " [\t] "}) {
    SCOPED_TRACE(quote(s));
    const std::string m = message_of([&] { (void)sc::parse_index(s); });
    EXPECT_NE(m.find("empty subscript"), std::string::npos) << m;
  }
}

TEST(IndexParse, BracketsWhitespaceAndTrailingComma) {
  // Each pair must parse to the same items (positions aside).
  const std::pair<const char*, const char*> same[] = {
      {"[:, ::-1, :, :]", ":,::-1,:,:"},
      {"[1,]", "1"},
      {"[1 , ]", "[1]"},
      {": : -1", "::-1"},
      {"- 1", "-1"},
      {"[\n  1 ,\t2\r\n]", "1, 2"},
      {"..., 1, ::2", "[...,1,::2]"},
      {"Ellipsis, None", "..., None"},
      {"None:None:None", ":"},
      {"None : 3", ":3"},
      {"1:None:-1", "1::-1"},
      {"--3", "3"},
      {"+-3", "-3"},
      {"- - 3", "3"},
      {"+3", "3"},
      {"-0", "0"},
      {"1_000", "1000"},
      {"1_0_0", "100"},
      {"00", "0"},
      {"0_0", "0"},
      {"0x1_f", "31"},
      {"0X1F", "31"},
      {"0o17", "15"},
      {"0b1_0", "2"},
  };
  for (const auto& [a, b] : same) {
    SCOPED_TRACE(quote(a) + " vs " + quote(b));
    const auto x = sc::parse_index(a), y = sc::parse_index(b);
    ASSERT_EQ(x.size(), y.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].what, y[i].what);
      EXPECT_EQ(x[i].value, y[i].value);
      EXPECT_EQ(x[i].has_start, y[i].has_start);
      EXPECT_EQ(x[i].has_stop, y[i].has_stop);
      EXPECT_EQ(x[i].has_step, y[i].has_step);
      if (x[i].has_start) {
        EXPECT_EQ(x[i].start, y[i].start);
      }
      if (x[i].has_stop) {
        EXPECT_EQ(x[i].stop, y[i].stop);
      }
      if (x[i].has_step) {
        EXPECT_EQ(x[i].step, y[i].step);
      }
    }
  }
}

TEST(IndexParse, Int64RangeClampsSliceBoundsAndFlagsIntegers) {
  auto one = [](const char* s) {
    const auto items = sc::parse_index(s);
    EXPECT_EQ(items.size(), 1u);
    return items.at(0);
  };
  auto it = one("-9223372036854775808");
  EXPECT_EQ(it.what, kind::integer);
  EXPECT_EQ(it.value, i64_min);
  EXPECT_FALSE(it.overflow);
  it = one("9223372036854775807");
  EXPECT_EQ(it.value, i64_max);
  EXPECT_FALSE(it.overflow);
  EXPECT_TRUE(one("9223372036854775808").overflow);
  EXPECT_TRUE(one("-9223372036854775809").overflow);
  EXPECT_TRUE(one("99999999999999999999999999999999999999999999").overflow);
  EXPECT_TRUE(one("--9223372036854775808").overflow);  // +2^63
  EXPECT_TRUE(one("0x8000000000000000").overflow);

  it = one("[99999999999999999999999:]");
  EXPECT_EQ(it.what, kind::slice);
  EXPECT_EQ(it.start, i64_max);
  EXPECT_FALSE(it.overflow);
  it = one("[:-99999999999999999999]");
  EXPECT_EQ(it.stop, i64_min);
  // Python's step never goes below -(2^63 - 1).
  it = one("[::-9223372036854775808]");
  EXPECT_EQ(it.step, -i64_max);
  it = one("[::-99999999999999999999]");
  EXPECT_EQ(it.step, -i64_max);
  it = one("[::99999999999999999999]");
  EXPECT_EQ(it.step, i64_max);
  it = one("[::0]");  // a slice error later, not a parse error
  EXPECT_TRUE(it.has_step);
  EXPECT_EQ(it.step, 0);
}

TEST(IndexParseErrors, MessageQuotesTextAndPosition) {
  EXPECT_EQ(message_of([] { sc::parse_index("[:, x]"); }), "invalid index \"[:, x]\": unexpected 'x' at position 4");

  struct bad {
    const char* text;
    std::size_t position;
  };
  const bad cases[] = {
      {"1.5", 1},    {"True", 0},    {"[1, True]", 4},  {",,", 0},        {"[1,,]", 3},   {"[,]", 1},   {",", 0},
      {"....", 3},   {"..", 0},      {". . .", 0},      {"[[1]]", 1},     {"[1", 2},      {"1]", 1},    {"[1]]", 3},
      {"01", 0},     {"0_1", 0},     {"-01", 0},        {"1__0", 1},      {"1_", 1},      {"1e3", 1},   {"1j", 1},
      {"1.", 1},     {"::1:", 3},    {"1:2:3:4", 5},    {"None None", 5}, {"-", 1},       {"+ ", 2},    {"1 2", 2},
      {"Nonex", 0},  {"x", 0},       {"-None", 1},      {"0x", 2},        {"0x_", 3},     {"0b2", 2},   {"0x1g", 3},
      {"(1, 2)", 0}, {"[:, :]]", 6}, {"Ellipsis:", 8},  {"1:x", 2},       {"::None1", 2}, {"[1, 2", 5}, {"a[1]", 0},
      {"1, 2 3", 5}, {"--", 2},      {"[ 1 ,, 2 ]", 5},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(quote(c.text));
    const std::string m = message_of([&] { sc::parse_index(c.text); });
    EXPECT_NE(m.find("invalid index " + quote(c.text) + ": "), std::string::npos) << m;
    EXPECT_NE(m.find("at position " + std::to_string(c.position)), std::string::npos) << m;
  }
  // Names are quoted whole; a missing closing bracket is the end of the text.
  EXPECT_NE(message_of([] { sc::parse_index("[1, True]"); }).find("unexpected 'True' at position 4"),
            std::string::npos);
  EXPECT_NE(message_of([] { sc::parse_index("[1"); }).find("unexpected end of index at position 2"), std::string::npos);
  EXPECT_NE(message_of([] { sc::parse_index("01"); }).find("leading zeros"), std::string::npos);
  // Control characters and quotes are escaped, so that the message stays on one line.
  EXPECT_EQ(message_of([] { sc::parse_index("[\t\"\x01]"); }),
            "invalid index \"[\\t\\\"\\x01]\": unexpected '\"' at position 2");
  // The slice() overload that parses reports the same way.
  const sc::view v = fake_view({3, 4});
  EXPECT_EQ(message_of([&] { (void)sc::slice(v, "[:, x]"); }),
            "invalid index \"[:, x]\": unexpected 'x' at position 4");
}

// ---------------------------------------------------------------------------------------------
// slice(): hand-derived NumPy results

TEST(IndexSlice, ReversedChannelsOfNchwImageBatch) {
  const sc::view v = fake_view({4, 3, 966, 1296});
  const sc::view r = sc::slice(v, "[:, ::-1, :, :]");
  expect_view(r, {4, 3, 966, 1296}, {3 * 966 * 1296, -966 * 1296, 1296, 1}, 2 * 966 * 1296);
  // Everything but the pointer and layout is carried over.
  EXPECT_EQ(r.type, v.type);
  EXPECT_EQ(r.memory, v.memory);
  EXPECT_FALSE(r.allocation.has_value());
}

TEST(IndexSlice, AllocationDtypeAndSpaceAreKept) {
  std::vector<std::byte> storage = sc::test::random_bytes(2 * 3 * 5 * 8);
  const sc::view v =
      sc::contiguous_view(storage.data(), sc::dtype_of<double>(), shape_t{2, 3, 5}, sc::memory_kind::pinned);
  ASSERT_TRUE(v.allocation.has_value());
  const sc::view r = sc::slice(v, "1, ::-2, 1:4");
  ASSERT_TRUE(r.allocation.has_value());
  EXPECT_EQ(r.allocation->base, v.allocation->base);
  EXPECT_EQ(r.allocation->bytes, v.allocation->bytes);
  EXPECT_EQ(r.type, v.type);
  EXPECT_EQ(r.memory, sc::memory_kind::pinned);
  // x[1, ::-2, 1:4] of a C-order (2,3,5): rows 2, 0 of plane 1, columns 1..3.
  EXPECT_EQ(shape_of(r), (shape_t{2, 3}));
  EXPECT_EQ(strides_of(r), (shape_t{-10, 1}));
  EXPECT_EQ(static_cast<const std::byte*>(r.data), storage.data() + (15 + 2 * 5 + 1) * 8);
}

// Every branch of CPython's PySlice_AdjustIndices, on a length-10 axis of stride 3. An empty
// result is reset by NumPy to start 0, step 1 (pointer unmoved, stride kept).
TEST(IndexSlice, SliceIndicesClampingBranches) {
  struct expect {
    const char* index;
    std::int64_t count, start, step;
  };
  const expect cases[] = {
      // positive step: default, in range, negative wrapped, below, beyond
      {"[:]", 10, 0, 1},
      {"[3:]", 7, 3, 1},
      {"[-3:]", 3, 7, 1},
      {"[-30:]", 10, 0, 1},
      {"[30:]", 0, 0, 1},
      {"[10:]", 0, 0, 1},
      {"[:4]", 4, 0, 1},
      {"[:-4]", 6, 0, 1},
      {"[:-40]", 0, 0, 1},
      {"[:40]", 10, 0, 1},
      {"[2:8:3]", 2, 2, 3},  // 2, 5
      {"[2:9:3]", 3, 2, 3},  // 2, 5, 8
      {"[8:2]", 0, 0, 1},
      {"[::4]", 3, 0, 4},  // 0, 4, 8
      {"[::10]", 1, 0, 10},
      {"[-1:]", 1, 9, 1},
      {"[-10:-9]", 1, 0, 1},
      // negative step: start defaults to the end, stop to before the beginning
      {"[::-1]", 10, 9, -1},
      {"[5::-1]", 6, 5, -1},
      {"[-3::-1]", 8, 7, -1},
      {"[-30::-1]", 0, 0, 1},
      {"[-11::-1]", 0, 0, 1},
      {"[30::-1]", 10, 9, -1},
      {"[10::-1]", 10, 9, -1},
      {"[:3:-1]", 6, 9, -1},   // 9..4
      {"[:-3:-1]", 2, 9, -1},  // 9, 8
      {"[:-30:-1]", 10, 9, -1},
      {"[:-10:-1]", 9, 9, -1},  // stop wraps to 0, which is excluded
      {"[:30:-1]", 0, 0, 1},
      {"[:9:-1]", 0, 0, 1},
      {"[8:2:-3]", 2, 8, -3},  // 8, 5
      {"[8:1:-3]", 3, 8, -3},  // 8, 5, 2
      {"[2:8:-1]", 0, 0, 1},
      {"[::-4]", 3, 9, -4},  // 9, 5, 1
      {"[0::-1]", 1, 0, -1},
  };
  const sc::view v = fake_view({10}, {3});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.index);
    const sc::view r = sc::slice(v, c.index);
    ASSERT_EQ(r.rank(), 1);
    EXPECT_EQ(r.shape()[0], c.count);
    EXPECT_EQ(offset_of(r), 3 * c.start);
    EXPECT_EQ(r.strides()[0], 3 * c.step);
  }
}

TEST(IndexSlice, EmptyAxis) {
  const sc::view v = fake_view({0, 4});  // strides (4, 1)
  expect_view(sc::slice(v, "[:]"), {0, 4}, {4, 1}, 0);
  expect_view(sc::slice(v, "[::-1]"), {0, 4}, {4, 1}, 0);  // empty: NumPy keeps start 0, step 1
  expect_view(sc::slice(v, "[5:, 1]"), {0}, {4}, 1);
  expect_view(sc::slice(v, "[:, 2:1]"), {0, 0}, {4, 1}, 0);
  expect_view(sc::slice(v, "[:, ::-1]"), {0, 4}, {4, -1}, 3);
  const std::string m = message_of([&] { (void)sc::slice(v, "[0]"); });
  EXPECT_NE(m.find("index 0 is out of bounds for axis 0 with size 0"), std::string::npos) << m;
  EXPECT_NE(message_of([&] { (void)sc::slice(v, "[-1]"); }).find("index -1 is out of bounds for axis 0 with size 0"),
            std::string::npos);
}

TEST(IndexSlice, Int64Extremes) {
  const sc::view v = fake_view({10}, {1});
  // step -2^63 is raised to -(2^63 - 1); start -2^63 + 10 < 0 -> -1; stop 2^63 - 1 -> 9; empty,
  // so NumPy leaves pointer and stride as they were.
  expect_view(sc::slice(v, "[-9223372036854775808:9223372036854775807:-9223372036854775808]"), {0}, {1}, 0);
  expect_view(sc::slice(v, "[99999999999999999999999:]"), {0}, {1}, 0);
  expect_view(sc::slice(v, "[:-99999999999999999999]"), {0}, {1}, 0);
  expect_view(sc::slice(v, "[-99999999999999999999:99999999999999999999]"), {10}, {1}, 0);
  expect_view(sc::slice(v, "[99999999999999999999:-99999999999999999999:-1]"), {10}, {-1}, 9);
  expect_view(sc::slice(v, "[-9223372036854775808:]"), {10}, {1}, 0);
  expect_view(sc::slice(v, "[9223372036854775807::-1]"), {10}, {-1}, 9);
  expect_view(sc::slice(v, "[::9223372036854775807]"), {1}, {i64_max}, 0);
  expect_view(sc::slice(v, "[::-99999999999999999999]"), {1}, {-i64_max}, 9);
  expect_view(sc::slice(v, "[3::-9223372036854775807]"), {1}, {-i64_max}, 3);

  // stride * step overflows but at most one element results: no throw, a finite stride, the
  // right element.
  const sc::view wide = fake_view({10, 2}, {1000, 1});
  for (const char* s : {"[::9223372036854775807]", "[::-9223372036854775808]", "[4::99999999999999999999]",
                        "[-9223372036854775808:9223372036854775807:-9223372036854775808]",
                        "[::99999999999999999999, ::-99999999999999999999]"}) {
    SCOPED_TRACE(s);
    const sc::view r = sc::slice(wide, s);
    EXPECT_LE(r.shape()[0], 1);
  }
  // The product is not representable; the single element's stride is kept as it was.
  EXPECT_EQ(strides_of(sc::slice(wide, "[4::99999999999999999999]")), (shape_t{1000, 1}));
  EXPECT_EQ(offset_of(sc::slice(wide, "[4::99999999999999999999]")), 4000);
  EXPECT_EQ(offset_of(sc::slice(wide, "[::-9223372036854775808]")), 9000);
  EXPECT_EQ(offset_of(sc::slice(wide, "[::99999999999999999999, ::-99999999999999999999]")), 1);

  // Integer indices beyond int64 are out of range whatever the extent, and (as NumPy fails to
  // convert them while it reads the index) reported before "too many indices".
  std::string m = message_of([&] { (void)sc::slice(v, "[99999999999999999999]"); });
  EXPECT_NE(m.find("index 99999999999999999999 does not fit in int64"), std::string::npos) << m;
  m = message_of([&] { (void)sc::slice(v, "[-9223372036854775809]"); });
  EXPECT_NE(m.find("index -9223372036854775809 does not fit in int64"), std::string::npos) << m;
  m = message_of([&] { (void)sc::slice(v, "[1, - 99_999_999_999_999_999_999, 2]"); });
  EXPECT_NE(m.find("index - 99_999_999_999_999_999_999 does not fit in int64"), std::string::npos) << m;
  EXPECT_NE(m.find("position 4"), std::string::npos) << m;
  m = message_of([&] { (void)sc::slice(v, "[..., ..., 99999999999999999999]"); });
  EXPECT_NE(m.find("single ellipsis"), std::string::npos) << m;
  m = message_of([&] { (void)sc::slice(v, "[-9223372036854775808]"); });
  EXPECT_NE(m.find("index -9223372036854775808 is out of bounds for axis 0 with size 10"), std::string::npos) << m;
  m = message_of([&] { (void)sc::slice(v, "[9223372036854775807]"); });
  EXPECT_NE(m.find("index 9223372036854775807 is out of bounds for axis 0 with size 10"), std::string::npos) << m;
}

TEST(IndexSlice, IntegersWrapOnceAndDropTheAxis) {
  const sc::view v = fake_view({3, 4, 5});  // strides (20, 5, 1)
  expect_view(sc::slice(v, "[1]"), {4, 5}, {5, 1}, 20);
  expect_view(sc::slice(v, "[-1]"), {4, 5}, {5, 1}, 40);
  expect_view(sc::slice(v, "[-3]"), {4, 5}, {5, 1}, 0);
  expect_view(sc::slice(v, "[2, -4, 4]"), {}, {}, 40 + 0 + 4);
  expect_view(sc::slice(v, "[:, 3]"), {3, 5}, {20, 1}, 15);
  expect_view(sc::slice(v, "[..., -5]"), {3, 4}, {20, 5}, 0);
  const std::pair<const char*, const char*> out_of_range[] = {
      {"[3]", "index 3 is out of bounds for axis 0 with size 3"},
      {"[-4]", "index -4 is out of bounds for axis 0 with size 3"},
      {"[:, 4]", "index 4 is out of bounds for axis 1 with size 4"},
      {"[..., -6]", "index -6 is out of bounds for axis 2 with size 5"},
      {"[None, 0, None, 7]", "index 7 is out of bounds for axis 1 with size 4"},
  };
  for (const auto& [index, expected] : out_of_range) {
    SCOPED_TRACE(index);
    const std::string m = message_of([&] { (void)sc::slice(v, index); });
    EXPECT_NE(m.find(expected), std::string::npos) << m;
    EXPECT_NE(m.find(quote(index)), std::string::npos) << m;
  }
}

TEST(IndexSlice, NewAxisPlacement) {
  const sc::view v = fake_view({3, 4});  // strides (4, 1)
  expect_view(sc::slice(v, "None"), {1, 3, 4}, {0, 4, 1}, 0);
  expect_view(sc::slice(v, "[:, :, None]"), {3, 4, 1}, {4, 1, 0}, 0);
  expect_view(sc::slice(v, "[..., None]"), {3, 4, 1}, {4, 1, 0}, 0);
  expect_view(sc::slice(v, "[None, ...]"), {1, 3, 4}, {0, 4, 1}, 0);
  expect_view(sc::slice(v, "[None, ..., None]"), {1, 3, 4, 1}, {0, 4, 1, 0}, 0);
  expect_view(sc::slice(v, "[1, None]"), {1, 4}, {0, 1}, 4);
  expect_view(sc::slice(v, "[None, None, 2]"), {1, 1, 4}, {0, 0, 1}, 8);
  expect_view(sc::slice(v, "[:, None, ::-1]"), {3, 1, 4}, {4, 0, -1}, 3);
  expect_view(sc::slice(v, "[1, None, 2, None]"), {1, 1}, {0, 0}, 6);
  // None does not consume an axis, so it never makes "too many indices".
  expect_view(sc::slice(v, "[None, 0, None, 0, None]"), {1, 1, 1}, {0, 0, 0}, 0);
}

TEST(IndexSlice, EllipsisExpandsToZeroOrMoreAxes) {
  const sc::view v = fake_view({2, 3, 4});  // strides (12, 4, 1)
  expect_view(sc::slice(v, "..."), {2, 3, 4}, {12, 4, 1}, 0);
  expect_view(sc::slice(v, "[..., ::-1]"), {2, 3, 4}, {12, 4, -1}, 3);
  expect_view(sc::slice(v, "[1, ..., 2]"), {3}, {4}, 14);
  expect_view(sc::slice(v, "[1, 2, 3, ...]"), {}, {}, 12 + 8 + 3);          // zero axes at the end
  expect_view(sc::slice(v, "[..., 1, 2, 3]"), {}, {}, 12 + 8 + 3);          // zero axes at the start
  expect_view(sc::slice(v, "[1, ..., 2, 3]"), {}, {}, 12 + 8 + 3);          // zero axes in the middle
  expect_view(sc::slice(v, "[:, ..., ::2, :]"), {2, 2, 4}, {12, 8, 1}, 0);  // zero axes, slices around
  expect_view(sc::slice(v, "[..., None, 1]"), {2, 3, 1}, {12, 4, 0}, 1);
  expect_view(sc::slice(v, "[1, ...]"), {3, 4}, {4, 1}, 12);
}

TEST(IndexSlice, ZeroDimensionalView) {
  const sc::view v = fake_view({});
  for (const char* s : {"", "...", "[...]", "()", "[()]", "[..., ]"}) {
    SCOPED_TRACE(quote(s));
    expect_view(sc::slice(v, s), {}, {}, 0);
  }
  expect_view(sc::slice(v, "None"), {1}, {0}, 0);
  expect_view(sc::slice(v, "[None, ..., None]"), {1, 1}, {0, 0}, 0);
  for (const char* s : {"0", "[:]", "[::-1]", "[..., 0]"}) {
    SCOPED_TRACE(s);
    const std::string m = message_of([&] { (void)sc::slice(v, s); });
    EXPECT_NE(m.find("too many indices for array: array is 0-dimensional, but 1 were indexed"), std::string::npos) << m;
  }
}

TEST(IndexSlice, ErrorMessagesAndTheirOrder) {
  const sc::view v = fake_view({3, 4});
  // Results of more than 64 dims (NumPy's limit): 63 new axes on a 2-d view make 65.
  std::string nones = "[";
  for (int i = 0; i < 63; ++i) nones += "None, ";
  const std::string nones63 = nones + "]", nones63_then_bounds = nones + "1, 99]",
                    nones65_then_bounds = nones + "None, None, 1, 99]";
  struct expect {
    const char* index;
    const char* needle;
    const char* where;  // position or axis the message must also name
  };
  // Order as NumPy: a second ellipsis, too many indices, result rank, then item by item.
  const expect cases[] = {
      {"[::0]", "slice step cannot be zero", "position 1"},
      {"[:, 1:2:0]", "slice step cannot be zero", "position 4"},
      {"[..., ...]", "an index can only have a single ellipsis ('...')", "position 6"},
      {"[..., ..., 1, 2, 3]", "single ellipsis", "position 6"},
      {"[1, 2, 3]", "too many indices for array: array is 2-dimensional, but 3 were indexed", ""},
      {"[::0, 1, 2]", "too many indices for array: array is 2-dimensional, but 3 were indexed", ""},
      {nones63.c_str(), "stridecopy supports rank <= 64", "rank 65"},
      {nones63_then_bounds.c_str(), "out of bounds", "axis 1"},
      {nones65_then_bounds.c_str(), "supports rank <= 64", "rank 65"},
      {"[5, ::0]", "index 5 is out of bounds for axis 0 with size 3", "position 1"},
      {"[::0, 5]", "slice step cannot be zero", "position 1"},
      {"[0, 4]", "index 4 is out of bounds for axis 1 with size 4", "position 4"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.index);
    const std::string m = message_of([&] { (void)sc::slice(v, c.index); });
    EXPECT_EQ(m.rfind("invalid index " + quote(c.index) + ": ", 0), 0u) << m;
    EXPECT_NE(m.find(c.needle), std::string::npos) << m;
    EXPECT_NE(m.find(c.where), std::string::npos) << m;
  }
  // A zero step is the one refusal NumPy reports as a ValueError: a type of its own, still an
  // invalid_index; an earlier item's error comes first, as above.
  for (const char* s : {"[::0]", "[::0, 5]", "[:, 1:2:0]"}) {
    SCOPED_TRACE(s);
    EXPECT_THROW((void)sc::slice(v, s), sc::zero_step);
  }
  for (const char* s : {"[5, ::0]", "[::0, 1, 2]"}) {
    SCOPED_TRACE(s);
    try {
      (void)sc::slice(v, s);
      ADD_FAILURE() << "did not throw";
    } catch (const sc::zero_step& e) {
      ADD_FAILURE() << "a zero step reported before an earlier error: " << e.what();
    } catch (const sc::invalid_index&) {
    }
  }
  // Rank 64 exactly is fine.
  std::string nones62 = "[";
  for (int i = 0; i < 62; ++i) nones62 += "None, ";
  const sc::view r = sc::slice(v, nones62 + "]");
  EXPECT_EQ(r.rank(), 64);
}

TEST(IndexSlice, ItemsOverloadQuotesAReconstructedIndex) {
  const sc::view v = fake_view({3, 4});
  std::vector<sc::index_item> items(2);
  items[0].what = kind::slice;
  items[0].has_step = true;
  items[0].step = -1;
  items[1].what = kind::integer;
  items[1].value = 9;
  const std::string m = message_of([&] { (void)sc::slice(v, items); });
  EXPECT_NE(m.find("invalid index \"[::-1, 9]\""), std::string::npos) << m;
  EXPECT_NE(m.find("index 9 is out of bounds for axis 1 with size 4"), std::string::npos) << m;
  // The same items with text: that text is quoted instead.
  const std::string m2 = message_of([&] { (void)sc::slice(v, items, "x[::-1, 9]"); });
  EXPECT_NE(m2.find("invalid index \"x[::-1, 9]\""), std::string::npos) << m2;
  items[1].value = -4;
  expect_view(sc::slice(v, items), {3}, {-4}, 8);
  // A step of -2^63 built by hand behaves as Python's -(2^63 - 1): one element, the last.
  items[0].step = i64_min;
  items[1].value = 0;
  expect_view(sc::slice(fake_view({3, 4}, {4, 1}, sc::dtype_of<std::uint8_t>()), items), {1}, {4}, 8);
  items[0].has_start = true;
  items[0].start = i64_min;  // -> -1 after wrapping and clamping: nothing selected
  expect_view(sc::slice(fake_view({3, 4}, {1, 3}, sc::dtype_of<std::uint8_t>()), items), {0}, {1}, 0);
}

TEST(IndexSlice, PointerOffsetsScaleWithItemSize) {
  for (const sc::dtype t : {sc::dtype_of<std::uint8_t>(), sc::dtype_of<std::int16_t>(), sc::dtype_of<double>(),
                            sc::dtype_of<std::complex<double>>(), sc::dtype{'V', 3, '|'}}) {
    SCOPED_TRACE(t.itemsize);
    const sc::view r = sc::slice(fake_view({5, 7}, {}, t), "[-2, ::-3]");
    const auto bytes =
        std::int64_t(reinterpret_cast<std::uintptr_t>(r.data) - reinterpret_cast<std::uintptr_t>(fake_base()));
    EXPECT_EQ(bytes, (3 * 7 + 6) * t.itemsize);
    EXPECT_EQ(shape_of(r), (shape_t{3}));
    EXPECT_EQ(strides_of(r), (shape_t{-3}));
  }
}

TEST(IndexSlice, OffsetOverflowIsAnError) {
  // A view whose own strides already overflow; slicing it must throw, not wrap.
  const sc::view v = fake_view({4}, {i64_max / 2});
  const std::string m = message_of([&] { (void)sc::slice(v, "[3]"); });
  EXPECT_NE(m.find("overflows"), std::string::npos) << m;
  const sc::view bytes_overflow = fake_view({4}, {i64_max / 6}, sc::dtype_of<double>());
  EXPECT_NE(message_of([&] { (void)sc::slice(bytes_overflow, "[1]"); }).find("overflows"), std::string::npos);
  // Two elements 2^63 elements apart: the new stride itself does not fit.
  const sc::view wide = fake_view({3}, {std::int64_t(1) << 62}, sc::dtype_of<std::uint8_t>());
  EXPECT_NE(message_of([&] { (void)sc::slice(wide, "[::2]"); }).find("overflows int64"), std::string::npos);
  EXPECT_NE(message_of([&] { (void)sc::slice(wide, "[::-2]"); }).find("overflows int64"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// permute and flip

TEST(IndexPermute, NchwToNhwc) {
  const sc::view v = fake_view({4, 3, 966, 1296});
  const std::vector<int> axes = {0, 2, 3, 1};
  expect_view(sc::permute(v, axes), {4, 966, 1296, 3}, {3 * 966 * 1296, 1296, 1, 966 * 1296}, 0);
  expect_view(sc::permute(v, {0, -2, -1, 1}), {4, 966, 1296, 3}, {3 * 966 * 1296, 1296, 1, 966 * 1296}, 0);
  expect_view(sc::permute(v, {3, 2, 1, 0}), {1296, 966, 3, 4}, {1, 1296, 966 * 1296, 3 * 966 * 1296}, 0);
  expect_view(sc::permute(fake_view({}), {}), {}, {}, 0);
  expect_view(sc::permute(fake_view({0, 5}), {1, 0}), {5, 0}, {1, 5}, 0);
}

TEST(IndexPermute, BadPermutationsNameTheAxes) {
  const sc::view v = fake_view({2, 3, 4});
  const std::pair<std::vector<int>, const char*> cases[] = {
      {{0, 1}, "axes don't match array"},
      {{0, 1, 2, 3}, "axes don't match array"},
      {{0, 0, 1}, "repeated axis 0"},
      {{0, -3, 1}, "repeated axis 0"},
      {{0, 1, 3}, "axis 3 is out of bounds for array of dimension 3"},
      {{0, 1, -4}, "axis -4 is out of bounds for array of dimension 3"},
  };
  for (const auto& [axes, needle] : cases) {
    std::string shown = "(";
    for (std::size_t i = 0; i < axes.size(); ++i) shown += (i ? ", " : "") + std::to_string(axes[i]);
    shown += ")";
    SCOPED_TRACE(shown);
    const std::string m = message_of([&] { (void)sc::permute(v, axes); });
    EXPECT_NE(m.find(shown), std::string::npos) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
  }
  EXPECT_NE(message_of([] { (void)sc::permute(fake_view({}), {0}); }).find("(0,)"), std::string::npos);
}

TEST(IndexFlip, ReversesOneAxis) {
  const sc::view v = fake_view({2, 3, 4});  // strides (12, 4, 1)
  expect_view(sc::flip(v, 0), {2, 3, 4}, {-12, 4, 1}, 12);
  expect_view(sc::flip(v, 1), {2, 3, 4}, {12, -4, 1}, 8);
  expect_view(sc::flip(v, -1), {2, 3, 4}, {12, 4, -1}, 3);
  expect_view(sc::flip(v, -3), {2, 3, 4}, {-12, 4, 1}, 12);
  // Flipping twice is the identity; flip equals the ::-1 slice on a non-empty axis.
  expect_view(sc::flip(sc::flip(v, 1), 1), {2, 3, 4}, {12, 4, 1}, 0);
  const sc::view s = sc::slice(v, "[:, ::-1]");
  EXPECT_EQ(sc::flip(v, 1).layout, s.layout);
  EXPECT_EQ(sc::flip(v, 1).data, s.data);
  // A 0-length axis: the pointer stays.
  // (C-order strides of (3, 0) are (1, 1): an empty axis counts as extent 1.)
  expect_view(sc::flip(fake_view({3, 0}), 1), {3, 0}, {1, -1}, 0);
  expect_view(sc::flip(fake_view({0, 3}), 0), {0, 3}, {-3, 1}, 0);
  // Extent 1 with stride -2^63: nothing to negate and nothing to move.
  expect_view(sc::flip(fake_view({1}, {i64_min}), 0), {1}, {i64_min}, 0);
}

TEST(IndexFlip, BadAxis) {
  const sc::view v = fake_view({2, 3});
  for (const int axis : {2, -3, 100}) {
    SCOPED_TRACE(axis);
    const std::string m = message_of([&] { (void)sc::flip(v, axis); });
    EXPECT_NE(m.find("axis " + std::to_string(axis) + " is out of bounds for array of dimension 2"), std::string::npos)
        << m;
  }
  EXPECT_NE(message_of([] { (void)sc::flip(fake_view({}), 0); }).find("dimension 0"), std::string::npos);
  EXPECT_NE(message_of([] { (void)sc::flip(fake_view({2}, {i64_min}), 0); }).find("cannot be negated"),
            std::string::npos);
}

TEST(IndexCompose, SliceOfPermuteOfFlip) {
  // x = arange(24).reshape(2, 3, 4); y = flip(x, 2).transpose(2, 0, 1)[1:, -1, ::-2]
  // flip: strides (12, 4, -1), offset 3; transpose: shape (4, 2, 3), strides (-1, 12, 4);
  // [1:]: 3 rows from offset 3 - 1 = 2; [-1]: +12 -> 14; [::-2] over 3: start 2 -> +8 -> 22.
  const sc::view x = fake_view({2, 3, 4});
  const sc::view y = sc::slice(sc::permute(sc::flip(x, 2), {2, 0, 1}), "[1:, -1, ::-2]");
  expect_view(y, {3, 2}, {-1, -8}, 22);
  // Element y[i, j] is x[1, 2 - 2j, 2 - i] = 12 + 4 (2 - 2j) + 2 - i.
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 2; ++j)
      EXPECT_EQ(22 + i * y.strides()[0] + j * y.strides()[1], 12 + 4 * (2 - 2 * j) + 2 - i);
}

TEST(IndexCompose, ViewsReadTheRightBytes) {
  // On real memory: every element of a composed view is the element NumPy's rules name.
  const shape_t shape = {3, 4, 5};
  std::vector<std::int32_t> data(60);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::int32_t(sc::test::rng()() & 0x7fffffff);
  const sc::view x = sc::contiguous_view(data.data(), sc::dtype_of<std::int32_t>(), shape);
  const sc::view y = sc::slice(sc::flip(sc::permute(x, {1, 2, 0}), 0), "[None, 1:, ::-3, ..., 0::2]");
  // permute (1,2,0): y0[a,b,c] = x[c,a,b]; flip 0: y1[a,b,c] = x[c, 3-a, b];
  // slice: y[0, a, b, c] = y1[1 + a, 4 - 3b, 2c] = x[2c, 2 - a, 4 - 3b]; shape (1, 3, 2, 2).
  ASSERT_EQ(shape_of(y), (shape_t{1, 3, 2, 2}));
  const auto* p = static_cast<const std::int32_t*>(y.data);
  for (std::int64_t a = 0; a < 3; ++a)
    for (std::int64_t b = 0; b < 2; ++b)
      for (std::int64_t c = 0; c < 2; ++c)
        EXPECT_EQ(p[a * y.strides()[1] + b * y.strides()[2] + c * y.strides()[3]],
                  data[std::size_t(2 * c * 20 + (2 - a) * 5 + (4 - 3 * b))]);
}

// ---------------------------------------------------------------------------------------------
// Randomized: slice() against a brute-force model of Python/NumPy semantics in 128-bit integers.

namespace {

using i128 = __int128;

std::string to_string128(i128 v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  std::string s;
  // Work on the negative side so that the most negative value needs no special case.
  if (!negative) v = -v;
  while (v != 0) {
    s += char('0' - int(v % 10));
    v /= 10;
  }
  if (negative) s += '-';
  std::reverse(s.begin(), s.end());
  return s;
}

struct model_item {
  kind what = kind::slice;
  i128 value = 0;
  bool has[3] = {false, false, false};  // start, stop, step
  i128 part[3] = {0, 0, 1};
};

struct model_result {
  std::string error;  // a substring the message must contain; empty on success
  shape_t shape;
  std::vector<i128> offsets;  // element offset of each result element, C order
  i128 origin = 0;            // where NumPy leaves the data pointer (empty results too)
};

// Python's x[start:stop:step] on range(n), written from the language reference: negative bounds
// count from the end, then bounds are clipped to the sequence ("before the first" / "after the
// last" depending on the direction), then walk.
std::vector<i128> python_slice(i128 n, const model_item& it) {
  const i128 step = it.has[2] ? it.part[2] : 1;
  std::vector<i128> picked;
  auto from_end = [&](i128 b) { return b < 0 ? b + n : b; };
  if (step > 0) {
    i128 lo = it.has[0] ? std::clamp<i128>(from_end(it.part[0]), 0, n) : 0;
    const i128 hi = it.has[1] ? std::clamp<i128>(from_end(it.part[1]), 0, n) : n;
    for (; lo < hi; lo += step) picked.push_back(lo);
  } else {
    i128 hi = it.has[0] ? std::clamp<i128>(from_end(it.part[0]), -1, n - 1) : n - 1;
    const i128 lo = it.has[1] ? std::clamp<i128>(from_end(it.part[1]), -1, n - 1) : -1;
    for (; hi > lo; hi += step) picked.push_back(hi);
  }
  return picked;
}

model_result run_model(const shape_t& shape, const shape_t& strides, const std::vector<model_item>& items) {
  model_result r;
  const int rank = int(shape.size());
  int ellipses = 0, used = 0, nones = 0, slices = 0;
  for (const auto& it : items) {
    if (it.what == kind::ellipsis && ++ellipses == 2) {
      r.error = "an index can only have a single ellipsis ('...')";
      return r;
    }
    if (it.what == kind::integer && (it.value < i64_min || it.value > i64_max)) {
      r.error = "does not fit in int64";
      return r;
    }
    used += it.what == kind::integer || it.what == kind::slice;
    slices += it.what == kind::slice;
    nones += it.what == kind::new_axis;
  }
  if (used > rank) {
    r.error = "too many indices for array: array is " + std::to_string(rank) + "-dimensional, but " +
              std::to_string(used) + " were indexed";
    return r;
  }
  if (slices + nones + (rank - used) > sc::max_rank) {
    r.error = "stridecopy supports rank <= 64";
    return r;
  }
  // Each result axis as the list of offsets its positions contribute; integers add a constant.
  std::vector<std::vector<i128>> axes;
  i128 constant = 0;
  int src = 0;
  auto whole_axis = [&] {
    std::vector<i128> a;
    for (std::int64_t i = 0; i < shape[std::size_t(src)]; ++i) a.push_back(i128(i) * strides[std::size_t(src)]);
    axes.push_back(a);
    ++src;
  };
  for (const auto& it : items) {
    if (it.what == kind::new_axis) {
      axes.push_back({0});
    } else if (it.what == kind::ellipsis) {
      for (int k = 0; k < rank - used; ++k) whole_axis();
    } else if (it.what == kind::integer) {
      const i128 n = shape[std::size_t(src)];
      if (it.value < -n || it.value >= n) {
        r.error = "is out of bounds for axis " + std::to_string(src) + " with size " + to_string128(n);
        return r;
      }
      constant += (it.value < 0 ? it.value + n : it.value) * strides[std::size_t(src)];
      r.origin += (it.value < 0 ? it.value + n : it.value) * strides[std::size_t(src)];
      ++src;
    } else {
      if (it.has[2] && it.part[2] == 0) {
        r.error = "slice step cannot be zero";
        return r;
      }
      std::vector<i128> a;
      for (const i128 i : python_slice(shape[std::size_t(src)], it)) a.push_back(i * strides[std::size_t(src)]);
      // NumPy points at the first element selected; an empty slice does not move the pointer.
      if (!a.empty()) r.origin += a.front();
      axes.push_back(a);
      ++src;
    }
  }
  if (ellipses == 0)
    while (src < rank) whole_axis();
  // Cartesian product in C order.
  r.offsets = {constant};
  for (const auto& a : axes) {
    r.shape.push_back(std::int64_t(a.size()));
    std::vector<i128> next;
    for (const i128 o : r.offsets)
      for (const i128 d : a) next.push_back(o + d);
    r.offsets = std::move(next);
  }
  return r;
}

class index_generator {
 public:
  explicit index_generator(std::mt19937_64& g) : g_(g) {}

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g_); }
  bool chance(int percent) { return uniform(0, 99) < percent; }

  std::string space() {
    switch (uniform(0, 9)) {
      case 0: return " ";
      case 1: return "  ";
      case 2: return "\t";
      case 3: return "\n";
      default: return "";
    }
  }

  // A value for a bound or index: mostly near the axis, sometimes far beyond int64.
  i128 value(std::int64_t extent) {
    if (chance(12)) {
      static const i128 far[] = {
          i128(i64_max),
          i128(i64_max) + 1,
          i128(i64_min),
          i128(i64_min) - 1,
          i128(10000000000) * 10000000000,
          -i128(10000000000) * 10000000000,
          i128(i64_max) * 1000,
          -(i128(i64_max) * 1000),
          i128(1) << 62,
          // 2^64 + k: a parser that wrapped modulo 2^64 instead of saturating would see k.
          (i128(1) << 64) + 2,
          -((i128(1) << 64) + 1),
      };
      return far[uniform(0, int(std::size(far)) - 1)];
    }
    const int reach = int(extent) + 3;
    return uniform(-reach, reach);
  }

  i128 step() {
    if (chance(3)) return 0;
    if (chance(8)) return chance(50) ? i128(i64_min) - uniform(0, 1) : i128(i64_max) + uniform(0, 1);
    if (chance(2)) return chance(50) ? (i128(1) << 64) + 1 : -((i128(1) << 64) + 1);
    int s = uniform(-4, 3);
    return s >= 0 ? s + 1 : s;
  }

  // Python spelling of v: signs in several styles, digit-group underscores now and then.
  std::string literal(i128 v) {
    std::string digits = to_string128(v < 0 ? -v : v);
    if (digits.size() > 1 && chance(20)) {
      std::string grouped;
      for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && chance(30)) grouped += '_';
        grouped += digits[i];
      }
      digits = grouped;
    }
    switch (uniform(0, 7)) {
      case 0: return (v < 0 ? "-" : "+") + space() + digits;
      case 1: return (v < 0 ? "+-" : "--") + digits;
      case 2: return (v < 0 ? "- " : "- -") + digits;
      default: return (v < 0 ? "-" : "") + digits;
    }
  }

  // A slice part: absent, None, or a literal.
  std::string part(model_item& it, int which, i128 v) {
    if (chance(35)) return chance(20) ? "None" : "";
    it.has[which] = true;
    it.part[which] = v;
    return literal(v);
  }

  // Share of new axes, raised now and then so that results beyond rank 64 come up too.
  int none_percent = 8;

  std::string item(model_item& it, std::int64_t extent) {
    if (chance(none_percent)) {
      it.what = kind::new_axis;
      return "None";
    }
    const int k = uniform(0, 99);
    if (k < 28) {
      it.what = kind::integer;
      it.value = value(extent);
      return literal(it.value);
    }
    if (k < 36) {
      it.what = kind::ellipsis;
      return chance(90) ? "..." : "Ellipsis";
    }
    it.what = kind::slice;
    std::string s = part(it, 0, value(extent)) + space() + ":" + space() + part(it, 1, value(extent));
    if (chance(60)) {
      s += space() + ":" + space();
      if (chance(80)) s += part(it, 2, step());
    }
    return s;
  }

 private:
  std::mt19937_64& g_;
};

}  // namespace

TEST(IndexRandomized, SliceMatchesBruteForceModel) {
  auto& g = sc::test::rng();
  index_generator gen(g);
  const sc::dtype types[] = {sc::dtype_of<std::uint8_t>(), sc::dtype_of<std::int16_t>(), sc::dtype_of<float>(),
                             sc::dtype_of<double>(), sc::dtype_of<std::complex<double>>()};
  int successes = 0, errors = 0, empties = 0, too_deep = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    const int rank = gen.uniform(0, 4);
    shape_t shape, strides;
    for (int d = 0; d < rank; ++d) {
      shape.push_back(gen.chance(10) ? 0 : gen.uniform(1, 5));
      strides.push_back(gen.uniform(-30, 30));
    }
    const sc::dtype type = types[gen.uniform(0, 4)];
    const sc::view v = fake_view(shape, strides, type);

    const bool many_new_axes = gen.chance(10);
    gen.none_percent = many_new_axes ? 97 : 8;
    std::vector<model_item> items(std::size_t(gen.uniform(0, rank + (many_new_axes ? 90 : 2))));
    std::string text = gen.space();
    const bool bracketed = gen.chance(60);
    if (bracketed) text += "[" + gen.space();
    // The extent used to pick values: that of the axis an item would most likely meet.
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::int64_t extent = i < shape.size() ? shape[i] : 3;
      if (i) text += gen.space() + "," + gen.space();
      text += gen.item(items[i], extent);
    }
    if (!items.empty() && gen.chance(15)) text += gen.space() + ",";
    if (bracketed && items.empty()) text += "()";  // "[]" is Python's a[], a syntax error
    if (bracketed) text += gen.space() + "]";
    text += gen.space();

    SCOPED_TRACE("view " + sc::shape_string(shape) + " strides " + sc::shape_string(strides) + " index " + quote(text));
    ASSERT_EQ(sc::parse_index(text).size(), items.size());
    const model_result expected = run_model(shape, strides, items);
    if (!expected.error.empty()) {
      ++errors;
      too_deep += expected.error == "stridecopy supports rank <= 64";
      const std::string m = message_of([&] { (void)sc::slice(v, text); });
      EXPECT_NE(m.find(expected.error), std::string::npos) << m;
      // Tabs and newlines are escaped in messages; other texts appear verbatim.
      if (text.find_first_of("\t\n") == std::string::npos) {
        EXPECT_NE(m.find("invalid index " + quote(text) + ": "), std::string::npos) << m;
      }
      continue;
    }
    ++successes;
    sc::view r;
    ASSERT_NO_THROW(r = sc::slice(v, text));
    ASSERT_EQ(shape_of(r), expected.shape);
    EXPECT_EQ(r.type, type);
    EXPECT_TRUE(offset_of(r) == expected.origin) << offset_of(r) << " vs " << to_string128(expected.origin);
    if (expected.offsets.empty()) {
      ++empties;
      continue;
    }
    // Every element of the result, in C order, at the offset the model says.
    const i128 origin = offset_of(r);
    std::vector<std::int64_t> index(std::size_t(r.rank()), 0);
    for (std::size_t e = 0; e < expected.offsets.size(); ++e) {
      i128 at = origin;
      for (int d = 0; d < r.rank(); ++d) at += i128(index[std::size_t(d)]) * r.strides()[std::size_t(d)];
      ASSERT_TRUE(at == expected.offsets[e])
          << "element " << e << ": " << to_string128(at) << " vs " << to_string128(expected.offsets[e]);
      for (int d = r.rank() - 1; d >= 0; --d) {
        if (++index[std::size_t(d)] < r.shape()[std::size_t(d)]) break;
        index[std::size_t(d)] = 0;
      }
    }
  }
  // The generator must exercise both outcomes substantially.
  EXPECT_GT(successes, 1000);
  EXPECT_GT(errors, 300);
  EXPECT_GT(empties, 100);
  EXPECT_GT(too_deep, 20);
}
