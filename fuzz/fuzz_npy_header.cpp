// fuzz/fuzz_npy_header.cpp — .npy headers under libFuzzer.
//
// 1. parse_npy_header on the input bytes as they are: a header or npy_error, nothing else. A header
//    it accepts is consistent (version, data offset inside the bytes, at most 64 non-negative
//    extents, a byte count that fits int64, a valid type whose descr is its own canonical spelling)
//    and survives the round trip: make_npy_header(descr, shape) writes a header np.save's way
//    (64-byte aligned, ending in '\n') that parses back to the same descr and shape and is written
//    again byte for byte; for a plain type, make_npy_header(type, shape) writes the same bytes.
// 2. make_npy_header(type, shape) on a drawn type (valid or not) and shape (any rank, huge and
//    negative extents): it refuses exactly an invalid type, more than 64 dims or a negative extent,
//    and what it writes parses back to that type and shape (or, for more than 2^63 elements or
//    bytes, is refused by the reader for that).
// 3. make_npy_header(descr, shape) on a drawn descr literal: invalid_argument, or a header that
//    parses back to the literal's canonical spelling.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "core/descr.hpp"
#include "stridecopy/dtype.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/npy.hpp"

namespace sc = stridecopy;
using fuzz::fits_i64;
using fuzz::i128;
using shape_t = std::vector<std::int64_t>;

namespace {

constexpr std::string_view magic{"\x93NUMPY", 6};

std::string printable(std::string_view s, std::size_t limit = 400) {
  std::string out;
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += char(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + (s.size() > limit ? "..." : "");
}

std::string shape_text(const shape_t& shape) {
  std::string s = "(";
  for (const auto e : shape) s += std::to_string(e) + ",";
  return s + ")";
}

// Bytes of an array of `shape` and `itemsize`, in 128 bits (zero when any extent is zero).
i128 array_bytes(const shape_t& shape, int itemsize) {
  for (const auto e : shape)
    if (e == 0) return 0;
  i128 n = itemsize;
  for (const auto e : shape) {
    n *= e;
    if (n > (i128(1) << 63)) return n;  // beyond int64 already; stop before 128 bits could overflow
  }
  return n;
}

sc::npy_header must_parse(const std::string& bytes, const std::string& context) {
  try {
    return sc::parse_npy_header(bytes);
  } catch (const sc::npy_error& e) {
    CHECK(false, context + "\nits own header does not parse: " + e.what() + "\nheader: " + printable(bytes));
  }
}

std::string must_make(std::string_view descr, const shape_t& shape, const std::string& context) {
  try {
    return sc::make_npy_header(descr, shape);
  } catch (const sc::error& e) {
    CHECK(false,
          context + "\nmake_npy_header(" + printable(descr) + ", " + shape_text(shape) + ") refused: " + e.what());
  }
}

// A header as make_npy_header writes it: np.save's framing, and it parses back to (descr, shape).
void check_written(const std::string& h, const std::string& descr, const shape_t& shape, const std::string& context) {
  const std::string at = context + "\nwritten: " + printable(h);
  CHECK(h.size() % 64 == 0 && h.size() >= 64 && h.back() == '\n',
        at + "\nnot 64-byte aligned or not ending in a newline");
  CHECK(std::string_view(h).substr(0, 6) == magic && h[7] == 0 && h[6] >= 1 && h[6] <= 3, at + "\nmagic or version");
  const sc::npy_header back = must_parse(h, at);
  CHECK(back.descr == descr, at + "\ndescr read back: " + printable(back.descr) + ", written: " + printable(descr));
  CHECK(back.shape == shape, at + "\nshape read back: " + shape_text(back.shape));
  CHECK(!back.fortran_order && back.minor == 0, at + "\nfortran_order or version");
  CHECK(back.data_offset == h.size(), at + "\ndata offset " + std::to_string(back.data_offset));
  CHECK(must_make(back.descr, back.shape, at) == h, at + "\nwritten again, the bytes differ");
}

// make_npy_header formats any shape of at most 64 non-negative extents (tests/npy_test.cpp pins
// that); parse_npy_header reads back those of fewer than 2^63 elements and bytes and refuses the rest.
void check_readable(const std::string& h, const std::string& descr, const shape_t& shape, int itemsize,
                    const std::string& context) {
  if (fits_i64(array_bytes(shape, 1)) && fits_i64(array_bytes(shape, itemsize)))
    return check_written(h, descr, shape, context);
  try {
    (void)sc::parse_npy_header(h);
  } catch (const sc::npy_error& e) {
    const std::string m = e.what();
    CHECK(m.find("more than 2^63") != std::string::npos, context + "\nrefused for another reason: " + m);
    return;
  }
  CHECK(false, context + "\na header of more than 2^63 elements or bytes was read: " + printable(h));
}

// ---- 1: the parser on the bytes as they are ----------------------------------------------------

void check_raw(std::string_view bytes) {
  sc::npy_header h;
  try {
    h = sc::parse_npy_header(bytes);
  } catch (const sc::npy_error&) {
    return;
  }
  const std::string context = "parsed: " + printable(bytes);
  CHECK(h.minor == 0 && h.major >= 1 && h.major <= 3, context + "\nversion");
  const std::size_t length_field = h.major == 1 ? 2 : 4;
  std::size_t header_len = 0;
  for (std::size_t i = 0; i < length_field; ++i)
    header_len |= std::size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  CHECK(h.data_offset == 8 + length_field + header_len && h.data_offset <= bytes.size(),
        context + "\ndata offset " + std::to_string(h.data_offset));
  CHECK(h.shape.size() <= std::size_t(sc::max_rank), context + "\nrank " + std::to_string(h.shape.size()));
  for (const auto e : h.shape) CHECK(e >= 0, context + "\nnegative extent");
  CHECK(fuzz::valid_type(h.type), context + "\ninvalid type " + sc::to_descr(h.type));
  CHECK(fits_i64(array_bytes(h.shape, 1)) && fits_i64(array_bytes(h.shape, h.type.itemsize)),
        context + "\nmore than 2^63 elements or bytes of data");
  // The descr is held in its canonical spelling, which names the same type.
  sc::detail::descr_literal d;
  try {
    d = sc::detail::parse_descr_literal(h.descr);
  } catch (const sc::error& e) {
    CHECK(false, context + "\nthe header's descr " + printable(h.descr) + " does not parse on its own: " + e.what());
  }
  CHECK(d.type == h.type && d.literal == h.descr,
        context + "\ndescr " + printable(h.descr) + " is not canonical: " + printable(d.literal));

  const std::string written = must_make(h.descr, h.shape, context);
  check_written(written, h.descr, h.shape, context);
  if (h.descr == "'" + sc::to_descr(h.type) + "'") {  // a plain type: no record, no datetime unit
    std::string by_type;
    try {
      by_type = sc::make_npy_header(h.type, h.shape);
    } catch (const sc::error& e) {
      CHECK(false, context + "\nmake_npy_header(type, shape) refused: " + e.what());
    }
    CHECK(by_type == written, context + "\nby type: " + printable(by_type) + "\nby descr: " + printable(written));
  }
}

// ---- 2 and 3: headers written from drawn types, descrs and shapes --------------------------------

shape_t draw_shape(FuzzedDataProvider& in) {
  shape_t shape;
  const int rank =
      in.ConsumeIntegralInRange(0, 15) == 0 ? in.ConsumeIntegralInRange(0, 66) : in.ConsumeIntegralInRange(0, 4);
  for (int d = 0; d < rank; ++d) {
    switch (in.ConsumeIntegralInRange(0, 15)) {
      case 0: shape.push_back(in.ConsumeIntegral<std::int64_t>()); break;
      case 1: shape.push_back(std::int64_t(1) << in.ConsumeIntegralInRange(30, 62)); break;
      case 2: shape.push_back(fuzz::i64_max); break;
      default: shape.push_back(in.ConsumeIntegralInRange<std::int64_t>(0, 1000)); break;
    }
  }
  return shape;
}

void check_by_type(FuzzedDataProvider& in) {
  static constexpr char kinds[] = "biufcSUVMm?Oqx";
  static constexpr char orders[] = "<>|=!";
  static const int sizes[] = {0, 1, 2, 3, 4, 8, 12, 16, 24, 32, 40, 7};
  sc::dtype t;
  t.kind = kinds[in.ConsumeIntegralInRange<std::size_t>(0, sizeof(kinds) - 2)];
  t.itemsize = in.ConsumeIntegralInRange(0, 7) == 0
                   ? in.ConsumeIntegral<int>()
                   : sizes[in.ConsumeIntegralInRange<std::size_t>(0, std::size(sizes) - 1)];
  t.byteorder = orders[in.ConsumeIntegralInRange<std::size_t>(0, sizeof(orders) - 2)];
  const shape_t shape = draw_shape(in);
  const std::string context = "type {" + printable(std::string(1, t.kind)) + ", " + std::to_string(t.itemsize) + ", " +
                              printable(std::string(1, t.byteorder)) + "} shape " + shape_text(shape);
  bool writable = fuzz::valid_type(t) && shape.size() <= std::size_t(sc::max_rank);
  for (const auto e : shape) writable = writable && e >= 0;
  std::string h;
  try {
    h = sc::make_npy_header(t, shape);
  } catch (const sc::invalid_view& e) {
    CHECK(!writable, context + "\nrefused: " + e.what());
    return;
  }
  CHECK(writable, context + "\nwritten: " + printable(h));
  check_readable(h, "'" + sc::to_descr(t) + "'", shape, t.itemsize, context);
  if (fits_i64(array_bytes(shape, 1)) && fits_i64(array_bytes(shape, t.itemsize)))
    CHECK(sc::parse_npy_header(h).type == t, context + "\nthe type read back differs");
}

void check_by_descr(FuzzedDataProvider& in) {
  const std::string descr = in.ConsumeRandomLengthString(96);
  const shape_t shape = draw_shape(in);
  const std::string context = "descr " + printable(descr) + " shape " + shape_text(shape);
  sc::detail::descr_literal d;
  try {
    d = sc::detail::parse_descr_literal(descr);
  } catch (const sc::invalid_argument&) {
    try {
      (void)sc::make_npy_header(descr, shape);
    } catch (const sc::invalid_argument&) {
      return;
    } catch (const sc::invalid_view&) {
      return;  // the shape is checked first
    }
    CHECK(false, context + "\nmake_npy_header accepted a descr that parse_descr_literal refuses");
  }
  bool writable = shape.size() <= std::size_t(sc::max_rank);
  for (const auto e : shape) writable = writable && e >= 0;
  std::string h;
  try {
    h = sc::make_npy_header(descr, shape);
  } catch (const sc::invalid_view& e) {
    CHECK(!writable, context + "\nrefused: " + e.what());
    return;
  }
  CHECK(writable, context + "\nwritten: " + printable(h));
  check_readable(h, d.literal, shape, d.type.itemsize, context);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_raw(std::string_view(reinterpret_cast<const char*>(data), size));
  FuzzedDataProvider in(data, size);
  check_by_type(in);
  check_by_descr(in);
  return 0;
}
