// tests/npy_test.cpp — .npy headers byte for byte as np.save writes them, load_npy of hand-built and
// malformed files (every error path, every truncation, fuzzed headers), atomic save_npy of strided views,
// and mapped inputs truncated under their reader.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "io/chunked_output.hpp"
#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/dtype.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/layout.hpp"
#include "stridecopy/npy.hpp"
#include "stridecopy/view.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
namespace fs = std::filesystem;

namespace {

using shape_t = std::vector<std::int64_t>;

// ---- helpers -------------------------------------------------------------------------------------

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

/// A fresh directory under the system temp dir, removed with everything in it at the end of the test.
class temp_dir {
 public:
  temp_dir() {
    path_ = fs::temp_directory_path() /
            ("stridecopy_npy_test_" + std::to_string(::getpid()) + "_" + std::to_string(sc::test::rng()()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  [[nodiscard]] const fs::path& path() const { return path_; }
  [[nodiscard]] fs::path operator/(const std::string& name) const { return path_ / name; }
  /// Names of everything in the directory, sorted.
  [[nodiscard]] std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, std::string_view bytes) {
  // A fresh file rather than a truncated one: ext4 flushes a truncated file on close (auto_da_alloc),
  // which made the tests that rewrite one file hundreds of times slow.
  std::error_code ec;
  fs::remove(p, ec);
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(f.good()) << p;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string as_string(const std::vector<std::byte>& v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }

std::string random_string(std::size_t n) { return as_string(sc::test::random_bytes(n)); }

std::string le(std::uint64_t v, int width) {
  std::string s;
  for (int i = 0; i < width; ++i) s += char((v >> (8 * i)) & 0xff);
  return s;
}

/// A .npy file built by hand: magic, version major.0, the length field, `dict` (padded with spaces and
/// a newline to a 64-byte boundary when `pad`), then `data`.
std::string npy_bytes(int major, std::string_view dict, std::string_view data = {}, bool pad = true) {
  const int length_field = major == 1 ? 2 : 4;
  std::string header(dict);
  if (pad) {
    while ((8 + length_field + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
  }
  return std::string("\x93NUMPY", 6) + char(major) + '\0' + le(header.size(), length_field) + header +
         std::string(data);
}

/// The message of the npy_error `f` throws ("" and a test failure when it throws nothing or something else).
std::string npy_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sc::npy_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw something other than npy_error: " << e.what();
    return {};
  }
  ADD_FAILURE() << "did not throw";
  return {};
}

bool has_numpy() { return std::system("python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

shape_t shape_of(const sc::host_array& a) { return {a.shape().begin(), a.shape().end()}; }

/// The C-order bytes of a loaded array, whatever its strides.
std::string c_order_bytes(const sc::host_array& a) { return as_string(sc::test::reference_copy(a.as_view())); }

// ---- make_npy_header -----------------------------------------------------------------------------

struct header_case {
  sc::dtype type;
  shape_t shape;
  std::string dict;    // sorted keys, repr values, ", " after each
  std::size_t spaces;  // growth room (21 - digits of shape[0], rank > 0) + padding to 64
  std::size_t total;
};

// Derived by hand from numpy/lib/_format_impl.py (_write_array_header, _wrap_header):
// hlen = len(dict) + growth + 1, padlen = 64 - (10 + hlen) % 64, length field = hlen + padlen.
const header_case header_cases[] = {
    // 55 chars, rank 0: no growth room; hlen 56, padlen 64 - 66 % 64 = 62.
    {sc::dtype{'f', 8, '<'}, {}, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 62, 128},
    // 57 chars + 20 growth; hlen 78, padlen 40.
    {sc::dtype{'u', 1, '|'}, {5}, "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }", 60, 128},
    // 59 chars + 20; hlen 80, padlen 38.
    {sc::dtype{'f', 4, '<'}, {4, 3}, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", 58, 128},
    // 77 chars + 21 - 19 = 2; hlen 80, padlen 38.
    {sc::dtype{'i', 8, '>'},
     {1234567890123456789, 0},
     "{'descr': '>i8', 'fortran_order': False, 'shape': (1234567890123456789, 0), }",
     40,
     128},
    // 'U' counts characters: 12-byte items are "<U3".
    {sc::dtype{'U', 12, '<'}, {2}, "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", 60, 128},
    {sc::dtype{'b', 1, '|'}, {0}, "{'descr': '|b1', 'fortran_order': False, 'shape': (0,), }", 60, 128},
    // 78 chars + 20; hlen 99, padlen 19.
    {sc::dtype{'c', 16, '<'},
     {2, 3, 4, 5, 6, 7, 8, 9},
     "{'descr': '<c16', 'fortran_order': False, 'shape': (2, 3, 4, 5, 6, 7, 8, 9), }",
     39,
     128},
    // 97 chars + 20: hlen 118 and 10 + 118 = 128 is already aligned, so padlen is a full 64, not 0.
    {sc::dtype{'f', 4, '<'},
     {2, 300000, 400000, 500000, 600000, 7, 8, 9},
     "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 300000, 400000, 500000, 600000, 7, 8, 9), }",
     84,
     192},
    // Largest extents: 19 digits each; 221 chars + 2; hlen 224, padlen 64 - 234 % 64 = 22.
    {sc::dtype{'V', 7, '|'},
     {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX},
     "{'descr': '|V7', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807, "
     "9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, "
     "9223372036854775807), }",
     24,
     256},
};

TEST(NpyHeader, ExactBytesOfNpSave) {
  for (const auto& c : header_cases) {
    SCOPED_TRACE(c.dict);
    const std::string expected =
        std::string("\x93NUMPY\x01\x00", 8) + le(c.total - 10, 2) + c.dict + std::string(c.spaces, ' ') + "\n";
    ASSERT_EQ(expected.size(), c.total);  // the hand derivation itself is consistent
    EXPECT_EQ(sc::make_npy_header(c.type, c.shape), expected);
  }
}

TEST(NpyHeader, LengthFieldAndAlignmentForRandomShapes) {
  auto& g = sc::test::rng();
  const sc::dtype types[] = {sc::dtype{'f', 4, '<'}, sc::dtype{'S', 123456, '|'}, sc::dtype{'U', 4000, '>'},
                             sc::dtype{'b', 1, '|'}, sc::dtype{'c', 32, '>'}};
  for (int i = 0; i < 2000; ++i) {
    const sc::dtype t = types[g() % std::size(types)];
    shape_t shape(g() % 9);
    // Extents of every digit count, from 0 up to 19 digits.
    for (auto& e : shape) e = std::int64_t(g() >> (1 + g() % 63));
    const std::string h = sc::make_npy_header(t, shape);
    SCOPED_TRACE(h);
    ASSERT_EQ(h.size() % 64, 0u);
    ASSERT_EQ(h.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    EXPECT_EQ(std::size_t(std::uint8_t(h[8])) | std::size_t(std::uint8_t(h[9])) << 8, h.size() - 10);
    EXPECT_EQ(h.back(), '\n');
    const std::string dict =
        "{'descr': '" + sc::to_descr(t) + "', 'fortran_order': False, 'shape': " + sc::shape_string(shape) + ", }";
    EXPECT_EQ(h.substr(10, dict.size()), dict);
    // Everything between the dict and the final newline is spaces: growth room plus 1 to 64 of padding.
    const std::size_t growth = shape.empty() ? 0 : 21 - std::to_string(shape[0]).size();
    const std::size_t spaces = h.size() - 10 - dict.size() - 1;
    EXPECT_EQ(h.find_first_not_of(' ', 10 + dict.size()), h.size() - 1);
    EXPECT_GE(spaces, growth + 1);
    EXPECT_LE(spaces, growth + 64);
    // And it reads back, unless the element or byte count overflows int64 (then the reader refuses it).
    std::int64_t count = 1;
    bool overflow = false;
    for (const auto e : shape) overflow = __builtin_mul_overflow(count, e, &count) || overflow;
    overflow = __builtin_mul_overflow(count, std::int64_t(t.itemsize), &count) || overflow;
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) overflow = false;
    if (overflow) {
      EXPECT_THROW((void)sc::parse_npy_header(h), sc::npy_error);
      continue;
    }
    const sc::npy_header back = sc::parse_npy_header(h);
    EXPECT_EQ(back.major, 1);
    EXPECT_EQ(back.minor, 0);
    EXPECT_EQ(back.type, t);
    EXPECT_FALSE(back.fortran_order);
    EXPECT_EQ(back.shape, shape);
    EXPECT_EQ(back.data_offset, h.size());
  }
}

TEST(NpyHeader, RejectsInvalidTypeOrShape) {
  EXPECT_THROW((void)sc::make_npy_header(sc::dtype{'f', 3, '<'}, shape_t{2}), sc::invalid_view);
  EXPECT_THROW((void)sc::make_npy_header(sc::dtype{'f', 4, '|'}, shape_t{2}), sc::invalid_view);
  EXPECT_THROW((void)sc::make_npy_header(sc::dtype_of<float>(), shape_t(65, 1)), sc::invalid_view);
  EXPECT_THROW((void)sc::make_npy_header(sc::dtype_of<float>(), shape_t{3, -1}), sc::invalid_view);
}

TEST(NpyHeader, LargestItemsizesRoundTrip) {
  // NumPy's itemsize is an int: "|V2147483647" is a type np.save writes.
  for (const sc::dtype t :
       {sc::dtype{'V', 2147483647, '|'}, sc::dtype{'S', 2147483647, '|'}, sc::dtype{'U', 2147483644, '>'}}) {
    SCOPED_TRACE(sc::to_descr(t));
    const std::string h = sc::make_npy_header(t, shape_t{3});
    const sc::npy_header back = sc::parse_npy_header(h);
    EXPECT_EQ(back.type, t);
    // Appended, not "'" + ...: a false GCC 12 -Wrestrict warning.
    std::string quoted(1, '\'');
    quoted += sc::to_descr(t);
    quoted += '\'';
    EXPECT_EQ(back.descr, quoted);
  }
}

// ---- parse_npy_header -----------------------------------------------------------------------------

TEST(NpyHeader, DescrIsWhatNpSaveWritesForEverySpelling) {
  // A header is read with the descr np.save would write for its type (NumPy's dtype.str), whatever
  // spelling it came with; the header written from either is the same.
  const std::pair<const char*, const char*> cases[] = {
      {"'?'", "'|b1'"},   {"'b1'", "'|b1'"}, {"'=f8'", "'<f8'"},
      {"'<u1'", "'|u1'"}, {"'U2'", "'<U2'"}, {"'=M8[ns]'", "'<M8[ns]'"},
  };
  for (const auto& [spelt, canonical] : cases) {
    SCOPED_TRACE(spelt);
    const sc::npy_header h = sc::parse_npy_header(
        npy_bytes(1, std::string("{'descr': ") + spelt + ", 'fortran_order': False, 'shape': (2,), }"));
    EXPECT_EQ(h.descr, canonical);
    EXPECT_EQ(sc::make_npy_header(spelt, shape_t{2}), sc::make_npy_header(canonical, shape_t{2}));
    EXPECT_EQ(sc::parse_npy_header(sc::make_npy_header(spelt, shape_t{2})).descr, canonical);
  }
}

TEST(NpyHeader, RecordLimitsAreNumPys) {
  // The largest record NumPy makes, and padding fields named '' (np.load drops them), repeated.
  const auto header = [](const std::string& descr) {
    return npy_bytes(1, "{'descr': " + descr + ", 'fortran_order': False, 'shape': (0,), }");
  };
  EXPECT_EQ(sc::parse_npy_header(header("[('a', '|V1', (2147483647,))]")).type, (sc::dtype{'V', 2147483647, '|'}));
  EXPECT_EQ(sc::parse_npy_header(header("[('a', '|V1', (1073741824,)), ('b', '|V1', (1073741823,))]")).type.itemsize,
            2147483647);
  EXPECT_EQ(sc::parse_npy_header(header("[('', '|V4'), ('a', '<i4'), ('', '|V4')]")).type.itemsize, 12);
  EXPECT_EQ(sc::parse_npy_header(header("[(('x', ''), '<f4'), ('a', [('a', '<i2')])]")).type.itemsize, 6);
  // A descr np.load could not read back is refused before any file is written.
  EXPECT_THROW((void)sc::make_npy_header("[('a', '<f4'), ('a', '<f4')]", shape_t{2}), sc::invalid_argument);
  EXPECT_THROW(
      (void)sc::make_npy_header("[('a', [('b', '|V1', (1099511627776,))], (16777216,)), ('c', '<f4')]", shape_t{2}),
      sc::invalid_argument);
}

TEST(NpyHeader, ParsesEveryDictSpelling) {
  struct spelling {
    std::string dict;
    sc::dtype type;
    bool fortran;
    shape_t shape;
  };
  const spelling cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", {'f', 4, '<'}, false, {4, 3}},
      {"{\"descr\": \">i2\", \"fortran_order\": True, \"shape\": (7,)}", {'i', 2, '>'}, true, {7}},
      {"{'shape': (), 'fortran_order': False, 'descr': '|u1'}", {'u', 1, '|'}, false, {}},
      {"{'fortran_order':True,'descr':'<c8','shape':(1,2,3,)}", {'c', 8, '<'}, true, {1, 2, 3}},
      {"  {\n\t'descr' :\r\n '=f8' ,\f'shape'\t: ( 3 ,\n 4 ) , 'fortran_order' : False , }  \n",
       {'f', 8, '<'},
       false,
       {3, 4}},
      {"{'descr': 'b1', 'fortran_order': False, 'shape': (0, 9223372036854775807)}",
       {'b', 1, '|'},
       false,
       {0, INT64_MAX}},
      {"{'descr': '<U2', 'fortran_order': False, 'shape': (+5, 6)}", {'U', 8, '<'}, false, {5, 6}},
      {"{'descr':'|V3','fortran_order':False,'shape':(1,1,1,1,1,1,1,2)}",
       {'V', 3, '|'},
       false,
       {1, 1, 1, 1, 1, 1, 1, 2}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-0,), }", {'f', 4, '<'}, false, {0}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dict);
    for (const bool pad : {true, false}) {
      const std::string bytes = npy_bytes(1, c.dict, "data after the header", pad);
      const sc::npy_header h = sc::parse_npy_header(bytes);
      EXPECT_EQ(h.major, 1);
      EXPECT_EQ(h.type, c.type);
      EXPECT_EQ(h.fortran_order, c.fortran);
      EXPECT_EQ(h.shape, c.shape);
      EXPECT_EQ(bytes.substr(h.data_offset), "data after the header");
    }
  }
}

TEST(NpyHeader, ReadsVersions2And3) {
  for (const int major : {2, 3}) {
    SCOPED_TRACE(major);
    const std::string bytes = npy_bytes(major, "{'descr': '>u2', 'fortran_order': True, 'shape': (2, 5), }", "xyz");
    const sc::npy_header h = sc::parse_npy_header(bytes);
    EXPECT_EQ(h.major, major);
    EXPECT_EQ(h.minor, 0);
    EXPECT_EQ(h.type, (sc::dtype{'u', 2, '>'}));
    EXPECT_TRUE(h.fortran_order);
    EXPECT_EQ(h.shape, (shape_t{2, 5}));
    EXPECT_EQ(h.data_offset % 64, 0u);
    EXPECT_EQ(bytes.substr(h.data_offset), "xyz");
  }
  // A 2.0 length field beyond 16 bits: 70000 bytes of header (whitespace is legal before the '}').
  std::string big = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), " + std::string(70000, ' ') + "}";
  const sc::npy_header h = sc::parse_npy_header(npy_bytes(2, big));
  EXPECT_EQ(h.shape, shape_t{3});
  EXPECT_GT(h.data_offset, 70000u);
}

TEST(NpyHeader, Python2LongSuffixInOldVersions) {
  const std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (3L, 4L), }";
  EXPECT_EQ(sc::parse_npy_header(npy_bytes(1, dict)).shape, (shape_t{3, 4}));
  EXPECT_EQ(sc::parse_npy_header(npy_bytes(2, dict)).shape, (shape_t{3, 4}));
  EXPECT_NE(npy_error_of([&] { (void)sc::parse_npy_header(npy_bytes(3, dict)); }).find("not an integer"),
            std::string::npos);
}

struct bad_header {
  std::string bytes;
  std::string why;  // a substring the message must contain
};

std::vector<bad_header> bad_headers() {
  const std::string ok_data(24, 'd');
  const auto dict = [](const std::string& descr, const std::string& order, const std::string& shape) {
    return "{'descr': " + descr + ", 'fortran_order': " + order + ", 'shape': " + shape + ", }";
  };
  const auto file = [&](const std::string& d) { return npy_bytes(1, d, ok_data); };
  return {
      {"", "truncated"},
      {"\x93NUM", "truncated"},
      {"\x93NUMPZ\x01\x00\x10\x00", "magic"},
      {"PK\x03\x04 this is a zip", "magic"},
      {std::string("\x93NUMPY", 6), "no format version"},
      {std::string("\x93NUMPY\x01", 7), "no format version"},
      {std::string("\x93NUMPY\x01\x00\x40", 9), "no header length"},
      {std::string("\x93NUMPY\x02\x00\x40\x00\x00", 11), "no header length"},
      {std::string("\x93NUMPY\x01\x01", 8) + le(0, 2), "version 1.1"},
      {std::string("\x93NUMPY\x04\x00", 8) + le(0, 4), "version 4.0"},
      {std::string("\x93NUMPY\x00\x00", 8) + le(0, 2), "version 0.0"},
      {std::string("\x93NUMPY\xff\x07", 8) + le(0, 2), "version 255.7"},
      {std::string("\x93NUMPY\x01\x00", 8) + le(200, 2) + "{'descr': '<f4'}", "length field says 200"},
      {std::string("\x93NUMPY\x02\x00", 8) + le(0xffffffffu, 4) + "{}", "4294967295"},
      {npy_bytes(1, ""), "not a Python dict"},
      {npy_bytes(1, "[1, 2, 3]"), "not a Python dict"},
      {npy_bytes(1, "\"descr\""), "not a Python dict"},
      {npy_bytes(1, "{}"), "'descr' is missing"},
      {npy_bytes(1, "{'descr': '<f4', 'shape': (2,)}"), "'fortran_order' is missing"},
      {npy_bytes(1, "{'descr': '<f4', 'fortran_order': False}"), "'shape' is missing"},
      {file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}"), "unknown key 'extra'"},
      {file("{'descr': '<f4', 'fortran_order': False, 'Shape': (2, 3), 'shape': (2, 3)}"), "unknown key 'Shape'"},
      {file("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'descr': '<f4'}"), "duplicate key 'descr'"},
      {file("{'descr': '<f4', 'shape': (6,), 'fortran_order': False, 'shape': (6,)}"), "duplicate key 'shape'"},
      {file(dict("'|O'", "False", "(6,)")), "object arrays are not supported"},
      {file(dict("'<M8[xs]'", "False", "(6,)")), "unknown datetime unit"},
      {file(dict("[('a', '<f4'), ('b', '|O')]", "False", "(6,)")), "object arrays are not supported"},
      {file(dict("[]", "False", "(6,)")), "at least one field"},
      {file(dict("[('a')]", "False", "(6,)")), "after a field's name"},
      {file(dict("[('a', 4)]", "False", "(6,)")), "a type string or a list of fields"},
      {file(dict("[('a', '<f4', (2, -1))]", "False", "(6,)")), "negative extent"},
      {file(dict("[('a', '<f4', (99999999, 99999999))]", "False", "(6,)")), "too large"},
      // NumPy's limits: every size in bytes fits a C int (2^40 * 2^24 bytes once wrapped to 4 bytes).
      {file(dict("[('a', [('b', '|V1', (1099511627776,))], (16777216,)), ('c', '<f4')]", "False", "(6,)")),
       "beyond a C int"},
      {file(dict("[('a', [('b', '|V1', (1048576,))], (2048,)), ('c', '<f4')]", "False", "(6,)")),
       "exceeds 2147483647 bytes"},
      {file(dict("[('a', '<f8', (268435456,))]", "False", "(6,)")), "exceeds 2147483647 bytes"},
      {file(dict("[('a', '|V1', (1073741824,)), ('b', '|V1', (1073741824,))]", "False", "(6,)")),
       "itemsize exceeds 2147483647 bytes"},
      // Names and titles of one record are distinct, as NumPy's dtype requires.
      {file(dict("[('a', '<f4'), ('a', '<f4')]", "False", "(6,)")), "field name 'a' is used twice"},
      {file(dict("[(('t', 'a'), '<f4'), ('t', '<i4')]", "False", "(6,)")), "field name 't' is used twice"},
      {file(dict("[('a', '<f4'), (('a', 'b'), '<i4')]", "False", "(6,)")), "field title 'a' is used twice"},
      {file(dict("[('x', [('a', '<i2'), ('a', '<i2')])]", "False", "(6,)")), "field name 'a' is used twice"},
      {file(dict("[('', '<f4'), ('', '<f4')]", "False", "(6,)")), "field name '' is used twice"},
      {file(dict("('<f4', (2,))", "False", "(3,)")), "sub-array"},
      {file(dict("4", "False", "(6,)")), "'descr' is not a string or a list of fields"},
      {file(dict("'<f3'", "False", "(6,)")), "\"<f3\""},
      {file(dict("'<f4'", "0", "(6,)")), "True or False"},
      {file(dict("'<f4'", "Falsey", "(6,)")), "True or False"},
      {file(dict("'<f4'", "None", "(6,)")), "True or False"},
      {file(dict("'<f4'", "False", "(2, -3)")), "negative extent"},
      {file(dict("'<f4'", "False", "(-9223372036854775808,)")), "negative extent"},
      {file(dict("'<f4'", "False", "(2.0, 3)")), "not an integer"},
      {file(dict("'<f4'", "False", "(2, 3e0)")), "not an integer"},
      {file(dict("'<f4'", "False", "(0x6,)")), "not an integer"},
      {file(dict("'<f4'", "False", "(2, '3')")), "not an integer"},
      {file(dict("'<f4'", "False", "(2, None)")), "not an integer"},
      {file(dict("'<f4'", "False", "(9223372036854775808,)")), "does not fit int64"},
      {file(dict("'<f4'", "False", "(6)")), "not a tuple"},
      {file(dict("'<f4'", "False", "[2, 3]")), "must be a tuple"},
      {file(dict("'<f4'", "False", "(2,,3)")), "not an integer"},
      {file(dict("'<f4'", "False", "(,)")), "not an integer"},
      {file(dict("'<f4'", "False", "(2 3)")), "expected ',' or ')'"},
      {file(dict("'<f4'", "False", "(" + repeat("1, ", 64) + "6)")), "more than 64 dimensions"},
      {file(dict("'<f4'", "False", "(4294967296, 4294967296)")), "more than 2^63 elements"},
      {file(dict("'<f4'", "False", "(3037000500, 3037000500, 0, 3037000500)")), ""},  // valid: zero elements
      {file(dict("'<f16'", "False", "(576460752303423488,)")), "more than 2^63 bytes"},
      {file("{'descr': '<f4', 'fortran_order': False, 'shape': (6,),"), "expected a quoted key or '}'"},
      {file("{'descr': '<f4' 'fortran_order': False, 'shape': (6,)}"), "expected ',' or '}'"},
      {file("{'descr' '<f4', 'fortran_order': False, 'shape': (6,)}"), "expected ':'"},
      {file("{'descr': '<f4, 'fortran_order': False, 'shape': (6,)}"), "not a decimal number"},
      {file("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x"), "after the header dict"},
      {file(std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}") + '\0'), "after the header dict"},
      {file("{'descr': '<f\\N{DIGIT FOUR}', 'fortran_order': False, 'shape': (6,)}"), "unsupported escape"},
      {file("{'descr': '<f4', 'fortran_order': False, 'shape': (6,),,}"), "quoted key"},
      {file("{descr: '<f4', 'fortran_order': False, 'shape': (6,)}"), "quoted key"},
      {file("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)"), "end of the header"},
      {npy_bytes(1, "{'descr': '<f4", ok_data, false), "unterminated string"},
      {file("{'descr': '<f4\n', 'fortran_order': False, 'shape': (6,)}"), "line break inside a string"},
  };
}

TEST(NpyHeader, RejectsMalformedHeaders) {
  for (const auto& c : bad_headers()) {
    SCOPED_TRACE("header bytes \"" + c.bytes.substr(0, 120) + "\"");
    if (c.why.empty() && c.bytes.find("3037000500") != std::string::npos) {
      // The one valid entry: an empty array may have huge other extents.
      EXPECT_NO_THROW((void)sc::parse_npy_header(c.bytes));
      continue;
    }
    const std::string msg = npy_error_of([&] { (void)sc::parse_npy_header(c.bytes); });
    EXPECT_NE(msg.find(c.why), std::string::npos) << msg;
  }
}

// ---- load_npy -------------------------------------------------------------------------------------

TEST(NpyLoad, HandBuiltFilesOfEveryVersion) {
  temp_dir dir;
  for (const int major : {1, 2, 3}) {
    SCOPED_TRACE(major);
    const std::string data = random_string(3 * 5 * 2);
    const fs::path p = dir / ("v" + std::to_string(major) + ".npy");
    write_file(p, npy_bytes(major, "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 5), }", data));
    const sc::host_array a = sc::load_npy(p);
    EXPECT_EQ(a.type(), (sc::dtype{'i', 2, '<'}));
    EXPECT_EQ(shape_of(a), (shape_t{3, 5}));
    EXPECT_EQ(a.layout(), sc::c_contiguous(shape_t{3, 5}));
    ASSERT_EQ(a.bytes(), data.size());
    EXPECT_EQ(std::string(static_cast<const char*>(a.data()), a.bytes()), data);
  }
}

TEST(NpyLoad, FortranOrderComesBackWithFStrides) {
  temp_dir dir;
  const shape_t shape{2, 3, 4};
  const std::string data = random_string(2 * 3 * 4 * 4);
  const fs::path p = dir / "f.npy";
  write_file(p, npy_bytes(1, "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3, 4), }", data));
  const sc::host_array a = sc::load_npy(p);
  EXPECT_EQ(a.type(), (sc::dtype{'f', 4, '>'}));
  EXPECT_EQ(shape_of(a), shape);
  EXPECT_EQ(a.layout().rank, 3);
  EXPECT_EQ(a.layout().stride[0], 1);
  EXPECT_EQ(a.layout().stride[1], 2);
  EXPECT_EQ(a.layout().stride[2], 6);
  // Element (i, j, k) of a Fortran file is item i + 2j + 6k of the data; the view walks it in C order.
  std::string expected;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) expected += data.substr(std::size_t(4 * (i + 2 * j + 6 * k)), 4);
  EXPECT_EQ(c_order_bytes(a), expected);
}

TEST(NpyLoad, ZeroDimensionalAndEmptyArrays) {
  temp_dir dir;
  {
    const std::string data = random_string(16);
    write_file(dir / "scalar.npy", npy_bytes(1, "{'descr': '<c16', 'fortran_order': False, 'shape': (), }", data));
    const sc::host_array a = sc::load_npy(dir / "scalar.npy");
    EXPECT_EQ(a.layout().rank, 0);
    EXPECT_EQ(a.size(), 1);
    EXPECT_EQ(std::string(static_cast<const char*>(a.data()), a.bytes()), data);
  }
  for (const bool fortran : {false, true}) {
    write_file(dir / "empty.npy", npy_bytes(1, std::string("{'descr': '<f8', 'fortran_order': ") +
                                                   (fortran ? "True" : "False") + ", 'shape': (3, 0, 5), }"));
    const sc::host_array a = sc::load_npy(dir / "empty.npy");
    EXPECT_EQ(shape_of(a), (shape_t{3, 0, 5}));
    EXPECT_EQ(a.size(), 0);
    EXPECT_EQ(a.bytes(), 0u);
  }
}

TEST(NpyLoad, EveryErrorNamesTheFileAndTheProblem) {
  temp_dir dir;
  int n = 0;
  for (const auto& c : bad_headers()) {
    if (c.why.empty()) continue;
    const fs::path p = dir / ("bad" + std::to_string(n++) + ".npy");
    write_file(p, c.bytes);
    SCOPED_TRACE("file bytes \"" + c.bytes.substr(0, 120) + "\"");
    const std::string msg = npy_error_of([&] { (void)sc::load_npy(p); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.why), std::string::npos) << msg;
  }
}

TEST(NpyLoad, DataShorterOrLongerThanTheShape) {
  temp_dir dir;
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";  // 24 bytes of data
  const fs::path p = dir / "a.npy";
  write_file(p, npy_bytes(1, dict, random_string(20)));
  std::string msg = npy_error_of([&] { (void)sc::load_npy(p); });
  EXPECT_NE(msg.find("truncated: expected 24 bytes of data, file has 20"), std::string::npos) << msg;
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;

  write_file(p, npy_bytes(1, dict));
  msg = npy_error_of([&] { (void)sc::load_npy(p); });
  EXPECT_NE(msg.find("truncated: expected 24 bytes of data, file has 0"), std::string::npos) << msg;

  write_file(p, npy_bytes(1, dict, random_string(28)));
  msg = npy_error_of([&] { (void)sc::load_npy(p); });
  EXPECT_NE(msg.find("4 unexpected bytes after the array data"), std::string::npos) << msg;

  // Data exactly right: loads.
  const std::string data = random_string(24);
  write_file(p, npy_bytes(1, dict, data));
  const sc::host_array a = sc::load_npy(p);
  EXPECT_EQ(std::string(static_cast<const char*>(a.data()), a.bytes()), data);
}

TEST(NpyLoad, MissingFileAndDirectory) {
  temp_dir dir;
  const fs::path missing = dir / "does_not_exist.npy";
  std::string msg = npy_error_of([&] { (void)sc::load_npy(missing); });
  EXPECT_NE(msg.find(missing.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
  msg = npy_error_of([&] { (void)sc::load_npy(dir.path()); });
  EXPECT_NE(msg.find(dir.path().string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("directory"), std::string::npos) << msg;
}

/// The errno of the file_error `f` throws (-1 and a test failure when it throws anything else).
int errno_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sc::file_error& e) {
    EXPECT_FALSE(e.path().empty()) << e.what();
    return e.code();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw something other than file_error: " << e.what();
    return -1;
  }
  ADD_FAILURE() << "did not throw";
  return -1;
}

// What the system refused keeps its errno, as np.load's and np.save's OSErrors do; a malformed
// file is no file_error.
TEST(NpyFiles, SystemFailuresCarryTheirErrno) {
  temp_dir dir;
  const std::string data = random_string(16);
  const sc::view v = sc::contiguous_view(data.data(), sc::dtype_of<float>(), shape_t{4});
  EXPECT_EQ(errno_of([&] { (void)sc::load_npy(dir / "missing.npy"); }), ENOENT);
  EXPECT_EQ(errno_of([&] { (void)sc::read_npy_header(dir / "missing.npy"); }), ENOENT);
  EXPECT_EQ(errno_of([&] { (void)sc::mapped_npy(dir / "missing.npy"); }), ENOENT);
  EXPECT_EQ(errno_of([&] { (void)sc::load_npy(dir.path()); }), EISDIR);
  EXPECT_EQ(errno_of([&] { sc::save_npy(dir / "nodir" / "x.npy", v); }), ENOENT);
  EXPECT_EQ(errno_of([&] { sc::save_npy(dir.path(), v); }), EISDIR);
  EXPECT_EQ(errno_of([&] { sc::save_npy(dir / "..", v); }), EISDIR);
  fs::create_directory(dir / "d");
  EXPECT_EQ(errno_of([&] { sc::save_npy(dir / "d", v); }), EISDIR);
  write_file(dir / "bad.npy", "not a .npy file");
  try {
    (void)sc::load_npy(dir / "bad.npy");
    ADD_FAILURE() << "did not throw";
  } catch (const sc::file_error& e) {
    ADD_FAILURE() << "a malformed file is not a system failure: " << e.what();
  } catch (const sc::npy_error&) {
  }
}

// The system calls end a name at its first NUL: "victim.npy\0ignored" would read or replace
// victim.npy. np.save and np.load refuse such a name (ValueError: embedded null byte); so does every
// file function here, before touching any file.
TEST(NpyFiles, PathWithANulByteIsRefused) {
  temp_dir dir;
  const std::string data = random_string(16);
  const sc::view v = sc::contiguous_view(data.data(), sc::dtype_of<float>(), shape_t{4});
  sc::save_npy(dir / "victim.npy", v);
  const std::string before = read_file(dir / "victim.npy");
  const fs::path bad = dir.path().string() + "/victim.npy" + std::string(1, '\0') + "ignored";
  const auto refused = [&](const std::function<void()>& f) {
    try {
      f();
      ADD_FAILURE() << "did not throw";
    } catch (const sc::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("embedded null byte"), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "threw something other than invalid_argument: " << e.what();
    }
  };
  refused([&] { sc::save_npy(bad, sc::slice(v, "[::-1]")); });
  refused([&] { (void)sc::load_npy(bad); });
  refused([&] { (void)sc::read_npy_header(bad); });
  refused([&] { (void)sc::mapped_npy(bad); });
  EXPECT_EQ(read_file(dir / "victim.npy"), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"victim.npy"});
}

// load_npy's header is that of the file its data came from.
TEST(NpyLoad, HeaderOfTheDataRead) {
  temp_dir dir;
  const std::string data = random_string(12);
  write_file(dir / "r.npy",
             npy_bytes(1, "{'descr': [('a', '<i2'), ('b', '<f4')], 'fortran_order': False, 'shape': (2,), }", data));
  sc::npy_header h;
  const sc::host_array a = sc::load_npy(dir / "r.npy", &h);
  EXPECT_EQ(h.descr, "[('a', '<i2'), ('b', '<f4')]");
  EXPECT_EQ(h.shape, shape_t{2});
  EXPECT_EQ(as_string(sc::test::reference_copy(a.as_view())), data);
}

TEST(NpyLoad, TruncatedAtEveryByteOffset) {
  temp_dir dir;
  for (const int major : {1, 2, 3}) {
    SCOPED_TRACE(major);
    const std::string whole =
        npy_bytes(major, "{'descr': '>u4', 'fortran_order': True, 'shape': (3, 2), }", random_string(24));
    const fs::path p = dir / "t.npy";
    for (std::size_t len = 0; len < whole.size(); ++len) {
      write_file(p, whole.substr(0, len));
      EXPECT_THROW((void)sc::load_npy(p), sc::npy_error) << "length " << len;
      if (len < whole.size() - 24) {
        EXPECT_THROW((void)sc::parse_npy_header(whole.substr(0, len)), sc::npy_error);
      }
    }
    write_file(p, whole);
    EXPECT_EQ(c_order_bytes(sc::load_npy(p)).size(), 24u);
  }
}

TEST(NpyLoad, ReadsFromAPipe) {
  // Not a regular file: no size up front, so truncation and extra bytes are found by reading to the end.
  temp_dir dir;
  const std::string data = random_string(12);
  const std::string good = npy_bytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (12,), }", data);
  write_file(dir / "good.npy", good);
  write_file(dir / "long.npy", good + "xx");
  write_file(dir / "short.npy", good.substr(0, good.size() - 5));
  const fs::path fifo = dir / "fifo";
  if (::mkfifo(fifo.c_str(), 0600) != 0) GTEST_SKIP() << "mkfifo failed";
  const auto load_through_fifo = [&](const std::string& name) {
    const std::string cmd = "cat '" + (dir / name).string() + "' > '" + fifo.string() + "' &";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return sc::load_npy(fifo);
  };
  const sc::host_array a = load_through_fifo("good.npy");
  EXPECT_EQ(std::string(static_cast<const char*>(a.data()), a.bytes()), data);
  std::string msg = npy_error_of([&] { (void)load_through_fifo("long.npy"); });
  EXPECT_NE(msg.find("2 unexpected bytes"), std::string::npos) << msg;
  msg = npy_error_of([&] { (void)load_through_fifo("short.npy"); });
  EXPECT_NE(msg.find("truncated: expected 12 bytes of data, file has 7"), std::string::npos) << msg;
}

// ---- save_npy -------------------------------------------------------------------------------------

TEST(NpySave, RoundTripsEveryKindAndByteOrder) {
  temp_dir dir;
  const char* descrs[] = {"|b1",  "|i1",  "|u1", "<i2", ">i2", "<u4", ">i4",  "<i8", ">u8",
                          "<f2",  ">f2",  "<f4", ">f4", "<f8", ">f8", "<f16", "<c8", ">c8",
                          "<c16", ">c32", "|S1", "|S7", "<U1", ">U3", "|V1",  "|V5", "|V16"};
  const shape_t shapes[] = {{}, {0}, {7}, {3, 5}, {2, 1, 3, 2}};
  for (const char* d : descrs)
    for (const auto& shape : shapes) {
      const sc::dtype t = sc::parse_descr(d);
      SCOPED_TRACE(std::string(d) + " " + sc::shape_string(shape));
      const std::int64_t n = sc::element_count(sc::c_contiguous(shape));
      const std::string data = random_string(std::size_t(n) * std::size_t(t.itemsize));
      const fs::path p = dir / "x.npy";
      sc::save_npy(p, sc::contiguous_view(data.data(), t, shape));
      // The file is np.save's header and the bytes, unchanged (big-endian data too).
      EXPECT_EQ(read_file(p), sc::make_npy_header(t, shape) + data);
      const sc::host_array a = sc::load_npy(p);
      EXPECT_EQ(a.type(), t);
      EXPECT_EQ(shape_of(a), shape);
      EXPECT_EQ(a.layout(), sc::c_contiguous(shape));
      EXPECT_EQ(std::string(static_cast<const char*>(a.data()), a.bytes()), data);
    }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"x.npy"});  // no temporaries left behind
}

TEST(NpySave, StridedViewsWriteTheirCOrderElements) {
  temp_dir dir;
  const shape_t base_shape{4, 5, 6};
  const sc::dtype t = sc::dtype_of<std::int32_t>();
  const auto bytes = sc::test::random_bytes(4 * 5 * 6 * 4);
  const auto* base = reinterpret_cast<const std::int32_t*>(bytes.data());
  struct strided {
    const char* what;
    const void* data;  // logical element (0, ..., 0)
    shape_t shape, stride;
  };
  const strided views[] = {
      {"x[3, ::-1, ::-1]", base + 3 * 30 + 29, {5, 6}, {-6, -1}},
      {"x[:, ::-1, :]", base + 4 * 6, {4, 5, 6}, {30, -6, 1}},
      {"x[..., ::-1]", base + 5, {4, 5, 6}, {30, 6, -1}},
      {"x.transpose(2, 0, 1)", base, {6, 4, 5}, {1, 30, 6}},
      {"x[::2, 1:4, ::-3]", base + 6 + 5, {2, 3, 2}, {60, 6, -3}},
      {"broadcast", base + 7, {3, 4}, {0, 1}},
      {"x[1, 2, 3] as 0-d", base + 30 + 12 + 3, {}, {}},
  };
  for (const auto& s : views) {
    SCOPED_TRACE(s.what);
    sc::view v = s.shape.empty() ? sc::make_view(s.data, t, s.shape) : sc::make_view(s.data, t, s.shape, s.stride);
    v.allocation = sc::byte_range{bytes.data(), bytes.size()};
    const fs::path p = dir / "s.npy";
    sc::save_npy(p, v);
    const std::string expected = as_string(sc::test::reference_copy(v));
    EXPECT_EQ(read_file(p), sc::make_npy_header(t, s.shape) + expected);
    const sc::host_array a = sc::load_npy(p);
    EXPECT_EQ(shape_of(a), s.shape);
    EXPECT_EQ(c_order_bytes(a), expected);
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"s.npy"});
}

TEST(NpySave, OverwritesAnExistingFileWhole) {
  temp_dir dir;
  const fs::path p = dir / "o.npy";
  write_file(p, random_string(100000));
  const std::string data = random_string(6 * 8);
  sc::save_npy(p, sc::contiguous_view(data.data(), sc::dtype_of<double>(), shape_t{6}));
  EXPECT_EQ(read_file(p), sc::make_npy_header(sc::dtype_of<double>(), shape_t{6}) + data);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"o.npy"});
}

TEST(NpySave, FailureLeavesNoFileAndNoTemporary) {
  temp_dir dir;
  const std::string data = random_string(64);
  const sc::view good = sc::contiguous_view(data.data(), sc::dtype_of<float>(), shape_t{4, 4});

  // A directory that does not exist: npy_error naming the path and errno's text.
  const fs::path nowhere = dir / "no_such_dir" / "x.npy";
  const std::string msg = npy_error_of([&] { sc::save_npy(nowhere, good); });
  EXPECT_NE(msg.find(nowhere.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  EXPECT_TRUE(dir.entries().empty());

  // The target is a directory: the rename fails, the temporary goes.
  fs::create_directory(dir / "target_dir");
  EXPECT_THROW(sc::save_npy(dir / "target_dir", good), sc::npy_error);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"target_dir"});
  EXPECT_TRUE(fs::is_empty(dir / "target_dir"));
  fs::remove(dir / "target_dir");

  // Invalid views are refused before any file exists, and an existing file is left as it was.
  const fs::path p = dir / "keep.npy";
  const std::string old = random_string(300);
  write_file(p, old);
  sc::view bad_type = good;
  bad_type.type = sc::dtype{'f', 3, '<'};
  sc::view out_of_bounds = good;
  out_of_bounds.layout = sc::make_layout(shape_t{4, 4}, shape_t{-4, 1});  // reads before the allocation
  sc::view null_data = good;
  null_data.data = nullptr;
  null_data.allocation.reset();
  for (const sc::view* v : {&bad_type, &out_of_bounds, &null_data}) {
    EXPECT_THROW(sc::save_npy(p, *v), sc::error);
    EXPECT_EQ(read_file(p), old);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.npy"});
    EXPECT_THROW(sc::save_npy(dir / "new.npy", *v), sc::error);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.npy"});
  }
}

TEST(NpySave, WriteFailureRemovesTheTemporary) {
  // A file size limit makes write() fail with EFBIG part way through the data (SIGXFSZ ignored).
  temp_dir dir;
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  if (old.rlim_max != RLIM_INFINITY && old.rlim_max < 4096) GTEST_SKIP() << "file size limit already tiny";
  const std::string data = random_string(1 << 20);
  const fs::path p = dir / "big.npy";
  write_file(p, "old contents");
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string msg;
  try {
    sc::save_npy(p, sc::contiguous_view(data.data(), sc::dtype_of<std::uint8_t>(), shape_t{1 << 20}));
  } catch (const sc::npy_error& e) {
    msg = e.what();
  } catch (...) {
    msg = "wrong exception";
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;
  EXPECT_EQ(read_file(p), "old contents");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"big.npy"});
}

// Strided views of many pieces: one thread gathers while the other writes; the file is the
// reference's bytes, and a write that fails midway stops both sides and reports the failure.
TEST(NpySave, LargeStridedViewsAreGatheredWhileWritten) {
  temp_dir dir;
  const auto bytes = sc::test::random_bytes(std::size_t(24) << 20);
  const sc::view base = sc::contiguous_view(bytes.data(), sc::dtype_of<float>(), shape_t{4, 3, 512, 1024});
  for (const char* index : {"[..., ::-1]", "[:, ::-1, ::2, :]", "[::-1, :, 1:-1, 3]"}) {
    SCOPED_TRACE(index);
    const sc::view v = sc::slice(base, index);
    sc::save_npy(dir / "big.npy", v);
    const sc::host_array back = sc::load_npy(dir / "big.npy");
    const auto expected = sc::test::reference_copy(v);
    ASSERT_EQ(back.bytes(), expected.size());
    EXPECT_EQ(std::memcmp(back.data(), expected.data(), expected.size()), 0);
  }
  if (fs::exists("/dev/full")) {
    const std::string msg = npy_error_of([&] { sc::save_npy("/dev/full", sc::slice(base, "[..., ::-1]")); });
    EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
  }
}

// Views of forward runs of at least direct_run_bytes reach the file ungathered, a batch of runs per
// call: rows just above and below the threshold, more runs than one batch, rows in reverse order,
// rows repeated by a zero stride, a crop. The file is the reference's bytes either way.
TEST(NpySave, LongRunsAreWrittenWhereTheyLie) {
  temp_dir dir;
  constexpr std::int64_t row = std::int64_t(sc::detail::direct_run_bytes) / 4;  // floats in a threshold row
  const auto bytes = sc::test::random_bytes(std::size_t(3000) * std::size_t(row + 1) * 4);
  const auto* base = reinterpret_cast<const float*>(bytes.data());
  struct strided {
    const char* what;
    const float* data;
    shape_t shape, stride;
  };
  const strided views[] = {
      {"rows of exactly the threshold, reversed order", base + 2999 * (row + 1), {3000, row}, {-(row + 1), 1}},
      {"rows one float short of it", base, {3000, row - 1}, {row + 1, 1}},
      {"rows one float longer, every other one", base, {1500, row + 1}, {2 * (row + 1), 1}},
      {"one row repeated", base + 5, {2500, row}, {0, 1}},
      {"crop of a 3-d array", base + (row + 1) + 1, {2, 999, row}, {1000 * (row + 1), row + 1, 1}},
  };
  for (const auto& v0 : views) {
    SCOPED_TRACE(v0.what);
    sc::view v = sc::make_view(v0.data, sc::dtype_of<float>(), v0.shape, v0.stride);
    v.allocation = sc::byte_range{bytes.data(), bytes.size()};
    sc::save_npy(dir / "runs.npy", v);
    const std::string expected = as_string(sc::test::reference_copy(v));
    EXPECT_EQ(read_file(dir / "runs.npy"), sc::make_npy_header(sc::dtype_of<float>(), v0.shape) + expected);
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"runs.npy"});
  if (fs::exists("/dev/full")) {
    sc::view v = sc::make_view(base, sc::dtype_of<float>(), shape_t{3000, row}, shape_t{row + 1, 1});
    v.allocation = sc::byte_range{bytes.data(), bytes.size()};
    const std::string msg = npy_error_of([&] { sc::save_npy("/dev/full", v); });
    EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
  }
}

// np.load(path, mmap_mode="r") saved back over the same file, which has a second link and so is
// written in place: the truncation would take the mapped pages away under the copy (SIGBUS). The
// view is copied out first; the file ends up holding the view's bytes, under both names.
TEST(NpySave, ViewOfAMappingOfTheFileItReplacesInPlace) {
  temp_dir dir;
  const auto bytes = sc::test::random_bytes(std::size_t(64) * 2048 * 4);
  const sc::view whole = sc::contiguous_view(bytes.data(), sc::dtype_of<float>(), shape_t{64, 2048});
  for (const char* index : {"[::-1]", "[..., ::-1]", "[::2, 1:]"}) {  // written as runs, gathered, gathered
    SCOPED_TRACE(index);
    sc::save_npy(dir / "a.npy", whole);
    std::error_code ec;
    fs::remove(dir / "b.npy", ec);
    fs::create_hard_link(dir / "a.npy", dir / "b.npy");
    const std::string expected = sc::make_npy_header(sc::dtype_of<float>(), sc::slice(whole, index).shape()) +
                                 as_string(sc::test::reference_copy(sc::slice(whole, index)));
    {
      const sc::mapped_npy mapped(dir / "a.npy");
      ASSERT_TRUE(mapped.is_mapped());
      sc::save_npy(dir / "a.npy", sc::slice(mapped.as_view(), index));
    }
    EXPECT_EQ(read_file(dir / "a.npy"), expected);
    EXPECT_EQ(read_file(dir / "b.npy"), expected);
  }
}

TEST(NpySave, UnwritableDirectory) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  temp_dir dir;
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
  const std::string data = random_string(16);
  const std::string msg = npy_error_of(
      [&] { sc::save_npy(dir / "x.npy", sc::contiguous_view(data.data(), sc::dtype_of<float>(), shape_t{4})); });
  EXPECT_NE(msg.find("Permission denied"), std::string::npos) << msg;
  fs::permissions(dir.path(), fs::perms::owner_all);
  EXPECT_TRUE(dir.entries().empty());
}

// ---- mapped inputs truncated under their reader --------------------------------------------------

namespace {

constexpr std::int64_t mapped_rows = 64, mapped_cols = 4096;  // 1 MiB of float32: rows of 16 KiB

/// A .npy of random float32 [rows, cols] at `p`.
void write_mapped_input(const fs::path& p) {
  const auto bytes = sc::test::random_bytes(std::size_t(mapped_rows * mapped_cols) * 4);
  sc::save_npy(p, sc::contiguous_view(bytes.data(), sc::dtype_of<float>(), {mapped_rows, mapped_cols}));
}

}  // namespace

// The file is cut to one page after it was mapped: every later read of the rest would raise SIGBUS.
// The copy completes, reading zeros there, and check_intact reports the loss.
TEST(MappedInput, ReadsOfATruncatedFileAreReportedNotFatal) {
  temp_dir dir;
  write_mapped_input(dir / "in.npy");
  const sc::mapped_npy in(dir / "in.npy");
  ASSERT_TRUE(in.is_mapped());
  const sc::view v = sc::slice(in.as_view(), "[::-1, ::-1]");
  std::vector<float> out(std::size_t(mapped_rows * mapped_cols));
  sc::copy(v, out.data(), out.size() * 4, {}, {.how = sc::strategy::cpu});
  EXPECT_NO_THROW(in.check_intact());

  fs::resize_file(dir / "in.npy", 4096);
  sc::copy(v, out.data(), out.size() * 4, {}, {.how = sc::strategy::cpu});
  const std::string msg = npy_error_of([&] { in.check_intact(); });
  EXPECT_NE(msg.find((dir / "in.npy").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated while it was being read"), std::string::npos) << msg;
  EXPECT_NE(msg.find("now 4096"), std::string::npos) << msg;
}

// The same with the copy's pieces on the pool's workers (16 MiB, two threads): a worker's read of a
// lost page must reach the guard's handler too (the workers block asynchronous signals, not the
// faults of their own reads, which would end the process). In a child process: a fault that is not
// handled ends it, not the test program.
TEST(MappedInput, ReadsOfATruncatedFileOnPoolWorkersAreReportedNotFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  temp_dir dir;
  constexpr std::int64_t rows = 1024, cols = 4096;
  {
    const auto bytes = sc::test::random_bytes(std::size_t(rows * cols) * 4);
    sc::save_npy(dir / "in.npy", sc::contiguous_view(bytes.data(), sc::dtype_of<float>(), {rows, cols}));
  }
  const auto copy_truncated = [&] {
    const sc::mapped_npy in(dir / "in.npy");
    if (!in.is_mapped()) std::exit(2);
    const sc::view v = sc::slice(in.as_view(), "[::-1, ::-1]");
    std::vector<float> out(std::size_t(rows * cols));
    fs::resize_file(dir / "in.npy", 4096);
    for (int i = 0; i < 4; ++i) sc::copy(v, out.data(), out.size() * 4, {}, {.how = sc::strategy::cpu, .threads = 2});
    const std::string msg = npy_error_of([&] { in.check_intact(); });
    std::exit(msg.find("truncated while it was being read") != std::string::npos ? 0 : 3);
  };
  EXPECT_EXIT(copy_truncated(), ::testing::ExitedWithCode(0), "");
}

// save_npy of a view of the truncated mapping: the gather (reversed elements), writes straight from
// the mapping (forward rows, the whole array) alike fail with that message, and OUT is what it was.
TEST(MappedInput, SaveOfATruncatedInputCommitsNothing) {
  temp_dir dir;
  for (const char* index : {"[::-1, ::-1]", "[::-1]", "[...]", "[1:, 7]"}) {
    SCOPED_TRACE(index);
    write_mapped_input(dir / "in.npy");
    const sc::mapped_npy in(dir / "in.npy");
    fs::resize_file(dir / "in.npy", 4096);
    const std::string msg = npy_error_of([&] { sc::save_npy(dir / "new.npy", sc::slice(in.as_view(), index)); });
    EXPECT_NE(msg.find("truncated while it was being read"), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(dir / "new.npy"));
    {
      std::ofstream f(dir / "old.npy", std::ios::binary);
      f << "previous contents";
    }
    (void)npy_error_of([&] { sc::save_npy(dir / "old.npy", sc::slice(in.as_view(), index)); });
    EXPECT_EQ(read_file(dir / "old.npy"), "previous contents");
  }
}

// The handler is there only while a mapping lives, and gives the previous one back.
TEST(MappedInput, HandlerLivesWithTheMappings) {
  temp_dir dir;
  write_mapped_input(dir / "in.npy");
  struct sigaction before {
  }, during{}, after{};
  ASSERT_EQ(::sigaction(SIGBUS, nullptr, &before), 0);
  {
    const sc::mapped_npy a(dir / "in.npy");
    const sc::mapped_npy b(dir / "in.npy");
    ASSERT_EQ(::sigaction(SIGBUS, nullptr, &during), 0);
    EXPECT_NE(during.sa_sigaction, before.sa_sigaction);
  }
  ASSERT_EQ(::sigaction(SIGBUS, nullptr, &after), 0);
  EXPECT_EQ(after.sa_sigaction, before.sa_sigaction);
  // (Compared without the flags the C library adds itself, SA_RESTORER on Linux.)
  EXPECT_EQ(after.sa_flags & SA_SIGINFO, before.sa_flags & SA_SIGINFO);
}

// A fault outside every guarded mapping is not ours to hide: the process still dies of it.
TEST(MappedInputDeathTest, OtherFaultsStayFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  temp_dir dir;
  write_mapped_input(dir / "in.npy");
  write_mapped_input(dir / "other.npy");
  const auto survived = [](int status) { return !(WIFEXITED(status) && WEXITSTATUS(status) == 0); };
  EXPECT_EXIT(
      {
        const sc::mapped_npy guarded(dir / "in.npy");
        const int fd = ::open((dir / "other.npy").c_str(), O_RDONLY);
        const std::size_t bytes = std::size_t(mapped_rows * mapped_cols) * 4;
        auto* p = static_cast<const volatile char*>(::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0));
        if (::ftruncate(::open((dir / "other.npy").c_str(), O_WRONLY), 0) != 0) std::exit(2);
        (void)p[bytes - 1];
        std::exit(0);
      },
      survived, "");
}

// ---- fuzzing ---------------------------------------------------------------------------------------

TEST(NpyFuzz, MutatedHeadersParseOrThrow) {
  auto& g = sc::test::rng();
  const std::string seeds[] = {
      sc::make_npy_header(sc::dtype{'f', 4, '<'}, shape_t{2, 3}) + random_string(24),
      npy_bytes(2, "{\"shape\": (1, 2, 3,), \"descr\": \">c8\", \"fortran_order\": True}", random_string(48), false),
      npy_bytes(3, "{'descr':'<U2','fortran_order':False,'shape':(3L,)}", random_string(24)),
  };
  const std::string junk = "{}()[],:'\" \n\\TrueFalse0123456789-+.eLx<>|=fiucbSUVOM?\x93\x00\xff";
  int parsed = 0, rejected = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string s = seeds[g() % std::size(seeds)];
    const int edits = 1 + int(g() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = g() % s.size();
      switch (g() % 6) {
        case 0: s[at] = char(s[at] ^ char(1 << (g() % 8))); break;            // flip a bit
        case 1: s[at] = char(g()); break;                                     // replace a byte
        case 2: s.resize(at); break;                                          // truncate
        case 3: s.insert(at, 1, junk[g() % junk.size()]); break;              // insert junk
        case 4: s.erase(at, 1 + g() % 8); break;                              // delete a run
        case 5: s.insert(at, s.substr(g() % s.size(), 1 + g() % 12)); break;  // duplicate a run
      }
    }
    try {
      const sc::npy_header h = sc::parse_npy_header(s);
      EXPECT_LE(h.data_offset, s.size());
      EXPECT_LE(h.shape.size(), std::size_t(sc::max_rank));
      EXPECT_NO_THROW(sc::validate(h.type));
      for (const auto e : h.shape) EXPECT_GE(e, 0);
      ++parsed;
    } catch (const sc::npy_error&) {
      ++rejected;
    }
  }
  // Both outcomes happen, or the mutations are not exercising the parser.
  EXPECT_GT(parsed, 0);
  EXPECT_GT(rejected, 0);
}

TEST(NpyFuzz, MutatedFilesLoadOrThrow) {
  auto& g = sc::test::rng();
  temp_dir dir;
  const std::string seed = sc::make_npy_header(sc::dtype{'u', 2, '>'}, shape_t{3, 4}) + random_string(24);
  const fs::path p = dir / "m.npy";
  int loaded = 0;
  for (int i = 0; i < 400; ++i) {
    std::string s = seed;
    const std::size_t at = g() % s.size();
    if (g() % 2)
      s[at] = char(g());
    else
      s.insert(at, 1 + g() % 3, char(g()));
    write_file(p, s);
    try {
      const sc::host_array a = sc::load_npy(p);
      EXPECT_EQ(std::size_t(a.size()) * std::size_t(a.type().itemsize), a.bytes());
      ++loaded;
    } catch (const sc::npy_error&) {
    }
  }
  EXPECT_GT(loaded, 0);
}

// ---- NumPy itself ------------------------------------------------------------------------------------

/// Runs a Python script with NumPy; false when it fails.
bool run_python(const temp_dir& dir, const std::string& script, const std::string& args) {
  write_file(dir / "script.py", script);
  const std::string cmd = "python3 '" + (dir / "script.py").string() + "' " + args;
  return std::system(cmd.c_str()) == 0;
}

TEST(NpyNumpy, LoadsWhatNpSaveWrites) {
  if (!has_numpy()) GTEST_SKIP() << "python3 with NumPy not found";
  temp_dir dir;
  const std::string script = R"PY(
import sys, numpy as np
out, seed = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(seed)
def rnd(shape, dt):
    dt = np.dtype(dt)
    raw = rng.integers(0, 256, size=int(np.prod(shape, dtype=np.int64)) * dt.itemsize, dtype=np.uint8)
    if dt.kind == 'b': raw = raw & 1
    if dt.kind == 'U': raw = rng.integers(32, 0x10FFFF, size=raw.size // 4, dtype=np.uint32).view(np.uint8)
    if dt.kind == 'U' and dt.byteorder == '>': return raw.view('<' + dt.str[1:]).reshape(shape).astype(dt)
    return raw.view(dt).reshape(shape)
cases = {
  'f4_c': rnd((3, 4, 5), '<f4'),
  'f8_f': np.asfortranarray(rnd((4, 3, 2), '<f8')),
  'i2_be_f': np.asfortranarray(rnd((5, 7), '>i2')),
  'u8_be': rnd((6,), '>u8'),
  'c16': rnd((2, 3), '<c16'),
  'c8_be_f': np.asfortranarray(rnd((3, 3, 3), '>c8')),
  'bool': rnd((4, 9), '?'),
  'i1': rnd((17,), 'i1'),
  'f2': rnd((2, 2, 2, 2), '<f2'),
  'S5': rnd((3, 2), 'S5'),
  'U3': rnd((4,), '<U3'),
  'U2_be': rnd((2, 3), '>U2'),
  'V6': rnd((5,), 'V6'),
  'scalar': np.array(2.5),
  'empty': np.zeros((3, 0, 2), dtype='<i4'),
  'empty_f': np.asfortranarray(np.zeros((0, 4), dtype='>f8')),
  'transposed': rnd((3, 4, 5), '<i4').transpose(2, 0, 1),
  'reversed': rnd((6, 5), '<u2')[::-1, ::-2],
  'rank8': rnd((2, 1, 2, 1, 2, 1, 2, 3), '<i8'),
}
with open(out + '/manifest.txt', 'w') as m:
    for name, a in cases.items():
        np.save(out + '/' + name + '.npy', a)
        with open(out + '/' + name + '.bin', 'wb') as f: f.write(a.tobytes(order='C'))
        fortran = a.flags.f_contiguous and not a.flags.c_contiguous
        m.write(' '.join([name, a.dtype.str, str(int(fortran)), str(a.ndim)] + [str(e) for e in a.shape]) + '\n')
)PY";
  ASSERT_TRUE(run_python(dir, script, "'" + dir.path().string() + "' " + std::to_string(sc::test::rng()() % 1000000)));
  std::ifstream manifest(dir / "manifest.txt");
  std::string name, descr;
  int fortran = 0, rank = 0, cases = 0;
  while (manifest >> name >> descr >> fortran >> rank) {
    SCOPED_TRACE(name);
    shape_t shape(std::size_t(rank), 0);
    for (auto& e : shape) manifest >> e;
    const sc::host_array a = sc::load_npy(dir / (name + ".npy"));
    EXPECT_EQ(sc::to_descr(a.type()), descr);
    EXPECT_EQ(shape_of(a), shape);
    EXPECT_EQ(a.layout(), fortran ? sc::f_contiguous(shape) : sc::c_contiguous(shape));
    EXPECT_EQ(c_order_bytes(a), read_file(dir / (name + ".bin")));
    ++cases;
  }
  EXPECT_EQ(cases, 19);
}

// Every file np.save writes, through load_npy, a reversing slice and save_npy with the header's
// descr: byte-identical to np.save of NumPy's own result. Records (nested, titled, padded, sub-array
// fields, names that need latin-1, UTF-8 or escapes), datetimes with units, zero-size items, rank 20
// and NumPy's 64 dims.
TEST(NpyNumpy, RecordsDatetimesZeroSizeItemsAndDeepArraysRoundTrip) {
  if (!has_numpy()) GTEST_SKIP() << "python3 with NumPy not found";
  temp_dir dir;
  const std::string make = R"PY(
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(int(sys.argv[2]))
def rnd(shape, dt):
    dt = np.dtype(dt)
    raw = rng.integers(0, 256, size=int(np.prod(shape, dtype=np.int64)) * dt.itemsize, dtype=np.uint8)
    return raw.view(dt).reshape(shape) if dt.itemsize else np.zeros(shape, dt)
padded = np.dtype({'names': ['a', 'b'], 'formats': ['<f4', '>i2'], 'offsets': [0, 8], 'itemsize': 12})
cases = {
  'record': rnd((5, 3), [('x', '<f4'), ('y', [('p', '>i2'), ('q', 'S3')]), (('a title', 'z'), '<u2', (2, 3))]),
  'record_padded': rnd((7,), padded),
  'record_quotes': rnd((4,), [("it's", '<f4'), ('say "hi"', '<i2')]),
  'record_latin1': rnd((3,), [('caf\u00e9', '<f4'), ('\u00fcber', 'u1')]),
  'record_utf8': rnd((3,), [('\u03b1\u03b2', '<f4'), ('\u6f22', '<f8')]),
  'datetime_ns_be': rnd((6, 2), '>M8[ns]'),
  'timedelta_25s': rnd((9,), '<m8[25s]'),
  'datetime_generic': rnd((4,), '<M8'),
  'S0': np.zeros((3, 4), 'S0'),
  'V0': np.zeros((5,), 'V0'),
  'U0': np.zeros((2, 2), '<U0'),
  'rank20': rnd((2,) * 10 + (1,) * 10, '<i2'),
  'rank64': rnd((3,) + (1,) * 62 + (2,), '>f4'),
}
with open(d + '/names.txt', 'w') as m:
    for name, a in cases.items():
        np.save(d + '/' + name + '.npy', a)
        m.write(name + '\n')
)PY";
  ASSERT_TRUE(run_python(dir, make, "'" + dir.path().string() + "' " + std::to_string(sc::test::rng()() % 1000000)));
  std::ifstream names(dir / "names.txt");
  std::string name;
  int cases = 0;
  while (names >> name) {
    SCOPED_TRACE(name);
    const sc::npy_header h = sc::read_npy_header(dir / (name + ".npy"));
    const sc::host_array a = sc::load_npy(dir / (name + ".npy"));
    ASSERT_EQ(a.type(), h.type);
    sc::save_npy(dir / (name + ".out.npy"), sc::slice(a.as_view(), "::-1"), sc::stream_ref{}, h.descr);
    ++cases;
  }
  EXPECT_EQ(cases, 13);
  const std::string check = R"PY(
import sys, io, numpy as np
d = sys.argv[1]
bad = 0
for name in open(d + '/names.txt').read().split():
    a = np.load(d + '/' + name + '.npy')
    buf = io.BytesIO(); np.save(buf, np.array(a[::-1], order='C'))
    got, want = open(d + '/' + name + '.out.npy', 'rb').read(), buf.getvalue()
    # A record type with holes (offsets): NumPy copies field by field, so its holes hold whatever its
    # allocation held; stridecopy copies records as opaque bytes. There the header and every field
    # must match; everywhere else every byte.
    # (By names: dtype.fields lists a titled field twice, under its title too.)
    names = a.dtype.names or ()
    holes = bool(names) and sum(a.dtype.fields[n][0].itemsize for n in names) != a.dtype.itemsize
    hlen = len(want) - a.nbytes
    ok = (got[:hlen] == want[:hlen] and len(got) == len(want)
          and (np.array_equal(np.load(d + '/' + name + '.out.npy'), a[::-1]) if holes else got == want))
    if not ok:
        bad += 1
        print('mismatch', name, got[:200], want[:200])
sys.exit(1 if bad else 0)
)PY";
  EXPECT_TRUE(run_python(dir, check, "'" + dir.path().string() + "'"));
}

TEST(NpyNumpy, NpLoadReadsWhatSaveNpyWritesWithNpSavesHeader) {
  if (!has_numpy()) GTEST_SKIP() << "python3 with NumPy not found";
  temp_dir dir;
  const auto bytes = sc::test::random_bytes(4096);
  struct item {
    std::string name;
    sc::view v;
  };
  const auto at = [&](std::size_t offset) { return static_cast<const void*>(bytes.data() + offset); };
  std::vector<item> items = {
      {"f4", sc::make_view(at(0), sc::dtype_of<float>(), shape_t{3, 4, 5})},
      {"rev_f8", sc::make_view(at(8 * 29), sc::dtype{'f', 8, '>'}, shape_t{5, 6}, shape_t{-6, -1})},
      {"perm_i2", sc::make_view(at(0), sc::dtype{'i', 2, '<'}, shape_t{5, 3, 4}, shape_t{1, 20, 5})},
      {"bcast_u1", sc::make_view(at(3), sc::dtype{'u', 1, '|'}, shape_t{4, 7}, shape_t{0, 2})},
      {"bool", sc::make_view(at(0), sc::dtype{'b', 1, '|'}, shape_t{0, 3})},
      {"c8", sc::make_view(at(8), sc::dtype{'c', 8, '<'}, shape_t{})},
      {"S3", sc::make_view(at(30), sc::dtype{'S', 3, '|'}, shape_t{4, 2}, shape_t{1, -1})},
      {"V5", sc::make_view(at(100), sc::dtype{'V', 5, '|'}, shape_t{6}, shape_t{-2})},
      {"big_first_axis", sc::make_view(at(0), sc::dtype_of<std::int64_t>(), shape_t{123456789012, 0})},
  };
  std::ofstream manifest(dir / "manifest.txt");
  for (auto& it : items) {
    it.v.allocation = sc::byte_range{bytes.data(), bytes.size()};
    sc::save_npy(dir / (it.name + ".npy"), it.v);
    write_file(dir / (it.name + ".bin"), as_string(sc::test::reference_copy(it.v)));
    manifest << it.name << ' ' << sc::to_descr(it.v.type) << '\n';
  }
  manifest.close();
  // NumPy loads each file to the same dtype and C-order bytes, and np.save of what it loaded writes
  // exactly the header save_npy wrote.
  const std::string script = R"PY(
import sys, io, numpy as np
d = sys.argv[1]
bad = 0
for line in open(d + '/manifest.txt'):
    name, descr = line.split()
    raw = open(d + '/' + name + '.npy', 'rb').read()
    a = np.load(d + '/' + name + '.npy')
    buf = io.BytesIO(); np.save(buf, a); ref = buf.getvalue()
    hlen = len(ref) - a.nbytes
    ok = (a.dtype.str == descr and a.tobytes() == open(d + '/' + name + '.bin', 'rb').read()
          and raw[:hlen] == ref[:hlen] and len(raw) == len(ref))
    if not ok:
        bad += 1
        print('mismatch', name, a.dtype.str, a.shape, raw[:hlen], ref[:hlen])
sys.exit(1 if bad else 0)
)PY";
  EXPECT_TRUE(run_python(dir, script, "'" + dir.path().string() + "'"));
}

}  // namespace
