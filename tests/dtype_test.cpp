// tests/dtype_test.cpp — parse_descr / to_descr / validate against NumPy's typestr rules, by hand and,
// where python3 with NumPy is installed, against np.dtype(descr).str itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "stridecopy/dtype.hpp"
#include "stridecopy/error.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;

namespace {

struct descr_case {
  const char* descr;
  char kind;
  int itemsize;
  char byteorder;
  const char* normalised;  // NumPy's dtype(descr).str
};

// Expectations from NumPy's rules: '|' for types whose bytes have no order (bool, 1-byte ints, S, V),
// '=' / '|' / nothing mean native (little-endian here), 'U' counts 4-byte characters.
const descr_case parse_cases[] = {
    {"<f4", 'f', 4, '<', "<f4"},       {">f4", 'f', 4, '>', ">f4"},    {"=f4", 'f', 4, '<', "<f4"},
    {"f4", 'f', 4, '<', "<f4"},        {"|f4", 'f', 4, '<', "<f4"},    {"<f2", 'f', 2, '<', "<f2"},
    {">f8", 'f', 8, '>', ">f8"},       {"<f12", 'f', 12, '<', "<f12"}, {">f16", 'f', 16, '>', ">f16"},
    {"<c8", 'c', 8, '<', "<c8"},       {">c16", 'c', 16, '>', ">c16"}, {"c24", 'c', 24, '<', "<c24"},
    {"=c32", 'c', 32, '<', "<c32"},    {"|b1", 'b', 1, '|', "|b1"},    {"<b1", 'b', 1, '|', "|b1"},
    {">b1", 'b', 1, '|', "|b1"},       {"b1", 'b', 1, '|', "|b1"},     {"?", 'b', 1, '|', "|b1"},
    {"<?", 'b', 1, '|', "|b1"},        {"|i1", 'i', 1, '|', "|i1"},    {">i1", 'i', 1, '|', "|i1"},
    {"<u1", 'u', 1, '|', "|u1"},       {"u1", 'u', 1, '|', "|u1"},     {"<i2", 'i', 2, '<', "<i2"},
    {">i2", 'i', 2, '>', ">i2"},       {"<i4", 'i', 4, '<', "<i4"},    {">u4", 'u', 4, '>', ">u4"},
    {"=i8", 'i', 8, '<', "<i8"},       {">u8", 'u', 8, '>', ">u8"},    {"<i08", 'i', 8, '<', "<i8"},
    {"|S1", 'S', 1, '|', "|S1"},       {"S5", 'S', 5, '|', "|S5"},     {">S5", 'S', 5, '|', "|S5"},
    {"<S100", 'S', 100, '|', "|S100"}, {"<U1", 'U', 4, '<', "<U1"},    {"U3", 'U', 12, '<', "<U3"},
    {"|U3", 'U', 12, '<', "<U3"},      {">U7", 'U', 28, '>', ">U7"},   {"=U2", 'U', 8, '<', "<U2"},
    {"|V1", 'V', 1, '|', "|V1"},       {"<V16", 'V', 16, '|', "|V16"}, {"V3", 'V', 3, '|', "|V3"},
};

TEST(DtypeParse, NormalisesLikeNumpy) {
  for (const auto& c : parse_cases) {
    SCOPED_TRACE(c.descr);
    const sc::dtype t = sc::parse_descr(c.descr);
    EXPECT_EQ(t.kind, c.kind);
    EXPECT_EQ(t.itemsize, c.itemsize);
    EXPECT_EQ(t.byteorder, c.byteorder);
    EXPECT_EQ(sc::to_descr(t), c.normalised);
    EXPECT_NO_THROW(sc::validate(t));
  }
}

TEST(DtypeParse, RoundTripsEveryKindSizeAndOrder) {
  const std::vector<std::pair<char, std::vector<int>>> sizes = {
      {'b', {1}},
      {'i', {1, 2, 4, 8}},
      {'u', {1, 2, 4, 8}},
      {'f', {2, 4, 8, 12, 16}},
      {'c', {8, 16, 24, 32}},
      {'S', {1, 2, 7, 4096}},
      {'U', {1, 3, 64}},
      {'V', {1, 5, 16, 1000}},
  };
  int checked = 0;
  for (const auto& [kind, counts] : sizes)
    for (const int n : counts)
      for (const char order : {'<', '>', '|', '='}) {
        const std::string descr = std::string(1, order) + kind + std::to_string(n);
        SCOPED_TRACE(descr);
        const sc::dtype t = sc::parse_descr(descr);
        const int itemsize = kind == 'U' ? 4 * n : n;
        EXPECT_EQ(t.kind, kind);
        EXPECT_EQ(t.itemsize, itemsize);
        const bool no_order = kind == 'b' || kind == 'S' || kind == 'V' || itemsize == 1;
        EXPECT_EQ(t.byteorder, no_order ? '|' : (order == '>' ? '>' : '<'));
        // to_descr is a fixed point of parse_descr.
        const std::string d = sc::to_descr(t);
        EXPECT_EQ(sc::parse_descr(d), t);
        EXPECT_EQ(sc::to_descr(sc::parse_descr(d)), d);
        ++checked;
      }
  EXPECT_EQ(checked, 4 * (1 + 4 + 4 + 5 + 4 + 4 + 3 + 4));
}

TEST(DtypeParse, DtypeOfMatchesDescr) {
  EXPECT_EQ(sc::dtype_of<float>(), sc::parse_descr("<f4"));
  EXPECT_EQ(sc::dtype_of<double>(), sc::parse_descr("<f8"));
  EXPECT_EQ(sc::dtype_of<bool>(), sc::parse_descr("|b1"));
  EXPECT_EQ(sc::dtype_of<std::int8_t>(), sc::parse_descr("i1"));
  EXPECT_EQ(sc::dtype_of<std::uint8_t>(), sc::parse_descr("u1"));
  EXPECT_EQ(sc::dtype_of<std::int16_t>(), sc::parse_descr("<i2"));
  EXPECT_EQ(sc::dtype_of<std::uint64_t>(), sc::parse_descr("=u8"));
  EXPECT_EQ(sc::dtype_of<std::complex<float>>(), sc::parse_descr("<c8"));
  EXPECT_EQ(sc::dtype_of<std::complex<double>>(), sc::parse_descr("<c16"));
  EXPECT_EQ(sc::float16, sc::parse_descr("<f2"));
  EXPECT_EQ(sc::to_descr(sc::dtype_of<const std::int32_t>()), "<i4");
}

// The message must quote the descr and say what is wrong.
void expect_rejected(const std::string& descr, const std::string& why) {
  SCOPED_TRACE("descr \"" + descr + "\"");
  try {
    (void)sc::parse_descr(descr);
    ADD_FAILURE() << "accepted";
  } catch (const sc::npy_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(why), std::string::npos) << msg;
    bool printable = true;
    for (const char ch : descr) printable = printable && ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
    if (printable) {
      EXPECT_NE(msg.find("\"" + descr + "\""), std::string::npos) << msg;
    }
  }
}

TEST(DtypeParse, RejectsUnsupportedTypes) {
  expect_rejected("O", "object arrays are not supported");
  expect_rejected("|O", "object arrays are not supported");
  expect_rejected("<O8", "object arrays are not supported");
  expect_rejected("[('a', '<f4')]", "unknown");
  // datetime64 / timedelta64 need a known unit in brackets, and are 8 bytes.
  expect_rejected("<M8[xs]", "unknown datetime unit");
  expect_rejected("<M8[ns", "brackets");
  expect_rejected("<m8[]", "brackets");
  expect_rejected("<M4", "no 4-byte");
}

TEST(DtypeParse, DatetimesAndZeroSizeItems) {
  EXPECT_EQ(sc::parse_descr("<M8[ns]"), (sc::dtype{'M', 8, '<'}));
  EXPECT_EQ(sc::parse_descr(">M8"), (sc::dtype{'M', 8, '>'}));
  EXPECT_EQ(sc::parse_descr("=m8[25s]"), (sc::dtype{'m', 8, '<'}));
  EXPECT_EQ(sc::parse_descr("|S0"), (sc::dtype{'S', 0, '|'}));
  EXPECT_EQ(sc::parse_descr("<U0"), (sc::dtype{'U', 0, '<'}));
  EXPECT_EQ(sc::parse_descr("V0"), (sc::dtype{'V', 0, '|'}));
  for (const char* d : {"<M8[ns]", ">m8[s]", "|S0", "<U0", "|V0"})
    EXPECT_NO_THROW(sc::validate(sc::parse_descr(d))) << d;
}

TEST(DtypeParse, RejectsBadSizes) {
  for (const char* d :
       {"<f1", "<f3", "<f32", ">i3", "<i16", "<u16", "u0", "b2", "|b0", "<c4", "<c12", "<c64", "<i0", "<f04x", "<f0"})
    expect_rejected(d, "");
  expect_rejected("<f3", "no 3-byte");
  expect_rejected("<f0", "no 0-byte");
  expect_rejected("<U99999999999", "too large");
  expect_rejected("|V99999999999999999999", "too large");
  // Even a size that fits int counts characters for 'U': 2^30 characters are 2^32 bytes.
  expect_rejected("<U1073741824", "too large");
  expect_rejected("|V2147483648", "too large");
  expect_rejected("|S02147483648", "too large");
}

TEST(DtypeParse, SizesUpToIntMaxAsNumpy) {
  // NumPy's itemsize is an int: np.dtype("|V2147483647").itemsize == 2**31 - 1.
  EXPECT_EQ(sc::parse_descr("|V2147483647"), (sc::dtype{'V', 2147483647, '|'}));
  EXPECT_EQ(sc::parse_descr("|S2147483647"), (sc::dtype{'S', 2147483647, '|'}));
  EXPECT_EQ(sc::parse_descr("|V2147483640"), (sc::dtype{'V', 2147483640, '|'}));
  EXPECT_EQ(sc::parse_descr(">U536870911"), (sc::dtype{'U', 2147483644, '>'}));
  // Whatever validate accepts, to_descr spells and parse_descr reads back.
  for (const sc::dtype t :
       {sc::dtype{'V', 2147483647, '|'}, sc::dtype{'S', 2147483646, '|'}, sc::dtype{'U', 2147483644, '<'}}) {
    sc::validate(t);
    EXPECT_EQ(sc::parse_descr(sc::to_descr(t)), t) << sc::to_descr(t);
  }
}

TEST(DtypeParse, RejectsGarbage) {
  for (const char* d :
       {"",     "<",    ">",    "|",    "=",    "<f",    "f",   "S",       "U",   "V",   "x4", "<x4", "<<f4", "<=f4",
        " <f4", "<f4 ", "<f 4", "<f+4", "<f-4", "<f4.0", "f4,", "float32", "int", "<?1", "??", "a5",  "<e",   "d"})
    expect_rejected(d, "");
  expect_rejected(std::string("<f4\0", 4), "");
  expect_rejected(std::string("\x80\xff", 2), "");
  expect_rejected("", "no type code");
  expect_rejected("<f", "no size");
  expect_rejected("<fx", "not a decimal number");
}

TEST(DtypeParse, RandomStringsParseOrThrow) {
  // Whatever parse_descr accepts must be a valid dtype that survives to_descr; nothing else escapes.
  auto& g = sc::test::rng();
  const std::string alphabet = "<>|=?bifcuSUVOMm0123456789[]() ,'x";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s(g() % 6, ' ');
    for (auto& ch : s) ch = alphabet[g() % alphabet.size()];
    try {
      const sc::dtype t = sc::parse_descr(s);
      EXPECT_NO_THROW(sc::validate(t)) << s;
      EXPECT_EQ(sc::parse_descr(sc::to_descr(t)), t) << s;
      ++accepted;
    } catch (const sc::npy_error&) {
    }
  }
  EXPECT_GT(accepted, 0);
}

TEST(DtypeValidate, AcceptsWhatParseProduces) {
  for (const sc::dtype t : {sc::dtype{}, sc::dtype_of<float>(), sc::dtype_of<bool>(), sc::dtype_of<std::int8_t>(),
                            sc::float16, sc::dtype{'f', 8, '>'}, sc::dtype{'S', 9, '|'}, sc::dtype{'U', 8, '>'},
                            sc::dtype{'V', 3, '|'}, sc::dtype{'c', 32, '<'}, sc::dtype{'u', 2, '>'}})
    EXPECT_NO_THROW(sc::validate(t)) << sc::to_descr(t);
}

TEST(DtypeValidate, RejectsWhatParseCannotProduce) {
  const sc::dtype bad[] = {
      {'x', 4, '<'},  {'O', 8, '|'},  {'M', 4, '<'}, {'\0', 1, '|'}, {'f', 3, '<'}, {'f', 0, '<'},
      {'f', -4, '<'}, {'i', 16, '<'}, {'b', 2, '|'}, {'c', 4, '<'},  {'M', 8, '|'}, {'U', 6, '<'},
      {'U', -4, '<'}, {'V', -1, '|'}, {'f', 4, '|'}, {'f', 4, '='},  {'f', 4, 'x'}, {'i', 2, '\0'},
      {'u', 1, '<'},  {'i', 1, '>'},  {'b', 1, '<'}, {'S', 4, '<'},  {'V', 8, '>'}, {'U', 4, '|'},
  };
  for (const auto& t : bad) {
    SCOPED_TRACE(std::string("kind ") + std::to_string(int(t.kind)) + " itemsize " + std::to_string(t.itemsize) +
                 " order " + std::to_string(int(t.byteorder)));
    EXPECT_THROW(sc::validate(t), sc::invalid_view);
    // to_descr still renders it (messages about bad types use it) and parse_descr does not take it back as is.
    const std::string d = sc::to_descr(t);
    try {
      EXPECT_NE(sc::parse_descr(d), t);
    } catch (const sc::npy_error&) {
    }
  }
}

// np.dtype(descr).str for every descr, from NumPy itself; skipped where python3 or NumPy is missing.
TEST(DtypeNumpy, AgreesWithNumpyDtypeStr) {
  if (std::system("python3 -c 'import numpy' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 with NumPy not found";
  std::vector<std::string> descrs;
  for (const auto& c : parse_cases)
    if (std::string(c.descr) != "<f12" && std::string(c.descr) != "c24")  // x86-64 NumPy has no 12/24-byte types
      descrs.push_back(c.descr);
  for (const char* d : {"<f1", ">i3", "b2", "<c4", "x4", "<i16"}) descrs.push_back(d);

  const auto dir =
      std::filesystem::temp_directory_path() / ("stridecopy_dtype_test_" + std::to_string(sc::test::rng()()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream in(dir / "descrs.txt");
    for (const auto& d : descrs) in << d << '\n';
  }
  const std::string cmd =
      "python3 -c \"import numpy as np, sys\n"
      "for d in open(sys.argv[1]).read().split():\n"
      "    try: print(np.dtype(d).str, np.dtype(d).itemsize)\n"
      "    except TypeError: print('error', 0)\" " +
      (dir / "descrs.txt").string() + " > " + (dir / "out.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream out(dir / "out.txt");
  for (const auto& d : descrs) {
    std::string str;
    int itemsize = 0;
    ASSERT_TRUE(out >> str >> itemsize) << d;
    SCOPED_TRACE(d);
    if (str == "error") {
      EXPECT_THROW((void)sc::parse_descr(d), sc::npy_error);
    } else {
      const sc::dtype t = sc::parse_descr(d);
      EXPECT_EQ(sc::to_descr(t), str);
      EXPECT_EQ(t.itemsize, itemsize);
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
