// fuzz/fuzz_plan.cpp — make_plan and what executors derive from a plan, under libFuzzer.
//
// The input is read as a view: any rank (beyond 64 and negative too), extents (small, huge,
// negative), strides (small, extreme, anything), a type (valid or not), the first element's address
// modulo 64, source and destination memory kinds, and now and then an allocation's bounds (fitting,
// nearly fitting, anything). Then:
//
// 1. make_plan refuses exactly what an independent count, in 128-bit arithmetic, finds unplannable:
//    a bad memory kind (invalid_argument), a bad type, rank or extent, more than 2^63 elements or
//    output bytes, an element offset or a span in bytes beyond int64, a span leaving the
//    allocation (all invalid_view).
// 2. A plan it returns holds: the counts; the span; origin and bounds; the widest unit (a power of
//    two <= 16 dividing the itemsize and the address); units(); a fully merged walk (extents >= 2,
//    no two neighbouring dims that walk memory evenly, product = units); a C-contiguous view is one
//    forward run; the pattern and the 64-bit flag agree with the walk; the walk's reach is the span;
//    and for up to 2^14 units the walk visits exactly the view's bytes, unit by unit, in C order.
//    The same for narrow_unit to every narrower unit.
// 3. chunk_output for any chunk size: the chunks cover the output, whole rows (of a transposed
//    plan: whole output rows) when one fits the size, else 16-byte pieces, as large as the size allows.
// 4. The CPU gather of plans of up to 64 KiB, from a buffer holding exactly the span (so that
//    AddressSanitizer sees any byte read outside it) into one holding exactly the output: whole,
//    in chunks, with a narrower unit, against a naive walk of the view.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/plan.hpp"

namespace sc = stridecopy;
using fuzz::fits_i64;
using fuzz::i128;
using fuzz::i64_max;
using fuzz::i64_min;

namespace {

const std::uintptr_t base_address = std::uintptr_t(1) << 44;  // make_plan never dereferences

struct drawn {
  sc::view v;
  std::string text;  // for messages
};

// ---- the independent count -------------------------------------------------------------------------

struct count {
  enum { plannable, bad_argument, bad_view } verdict = plannable;
  i128 elements = 0, bytes = 0;
  i128 lo = 0, hi = 0;  // element offsets of the lowest and highest element from the first
  i128 origin = 0;
};

count count_view(const sc::view& v, sc::memory_kind destination) {
  count c;
  for (const auto k : {v.memory, destination})
    if (std::uint8_t(k) > 2) return {count::bad_argument};
  if (!fuzz::valid_type(v.type) || v.layout.rank < 0 || v.layout.rank > sc::max_rank) return {count::bad_view};
  bool empty = false;
  for (int d = 0; d < v.layout.rank; ++d) {
    if (v.layout.extent[d] < 0) return {count::bad_view};
    empty = empty || v.layout.extent[d] == 0;
  }
  c.elements = 1;
  if (empty) {
    c.elements = 0;
  } else {
    for (int d = 0; d < v.layout.rank; ++d) {
      c.elements *= v.layout.extent[d];
      if (!fits_i64(c.elements)) return {count::bad_view};
    }
  }
  c.bytes = c.elements * v.type.itemsize;
  if (!fits_i64(c.bytes)) return {count::bad_view};
  if (v.allocation)
    c.origin = i128(
        std::int64_t(reinterpret_cast<std::uintptr_t>(v.data) - reinterpret_cast<std::uintptr_t>(v.allocation->base)));
  if (c.bytes == 0) return c;  // nothing is read: no span, no bounds
  for (int d = 0; d < v.layout.rank; ++d) {
    const i128 reach = i128(v.layout.extent[d] - 1) * v.layout.stride[d];
    if (!fits_i64(reach)) return {count::bad_view};
    (reach < 0 ? c.lo : c.hi) += reach;
  }
  const i128 item = v.type.itemsize;
  if (!fits_i64(c.lo) || !fits_i64(c.hi + 1) || !fits_i64(c.lo * item) || !fits_i64((c.hi + 1) * item))
    return {count::bad_view};
  if (v.allocation) {
    const i128 first = c.origin + c.lo * item, last = c.origin + (c.hi + 1) * item;
    if (!fits_i64(first) || !fits_i64(last) || first < 0 || last > i128(v.allocation->bytes)) return {count::bad_view};
  }
  return c;
}

// ---- drawing a view ----------------------------------------------------------------------------------

std::int64_t draw_extent(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 31)) {
    case 0: return in.ConsumeIntegral<std::int64_t>();
    case 1: return std::int64_t(1) << in.ConsumeIntegralInRange(16, 62);
    case 2: return i64_max - in.ConsumeIntegralInRange(0, 1);
    case 3: return in.ConsumeIntegralInRange<std::int64_t>(2, 70000);
    default: return in.ConsumeIntegralInRange<std::int64_t>(0, 5);
  }
}

std::int64_t draw_stride(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 15)) {
    case 0: return in.ConsumeIntegral<std::int64_t>();
    case 1: {
      static const std::int64_t far[] = {i64_max,
                                         i64_min,
                                         i64_min + 1,
                                         std::int64_t(1) << 62,
                                         -(std::int64_t(1) << 62),
                                         std::int64_t(1) << 32,
                                         (std::int64_t(1) << 30) + 1,
                                         i64_max / 3};
      return far[in.ConsumeIntegralInRange<std::size_t>(0, std::size(far) - 1)];
    }
    case 2: return in.ConsumeIntegralInRange<std::int64_t>(-100, 100);
    default: return in.ConsumeIntegralInRange<std::int64_t>(-6, 6);
  }
}

sc::dtype draw_type(FuzzedDataProvider& in) {
  static const sc::dtype valid[] = {
      {'u', 1, '|'}, {'b', 1, '|'}, {'i', 2, '<'},  {'f', 2, '>'},  {'f', 4, '<'},  {'i', 4, '>'},  {'f', 8, '<'},
      {'M', 8, '>'}, {'c', 8, '<'}, {'f', 12, '<'}, {'c', 16, '>'}, {'f', 16, '<'}, {'c', 24, '<'}, {'c', 32, '>'},
      {'V', 3, '|'}, {'V', 6, '|'}, {'S', 5, '|'},  {'V', 48, '|'}, {'U', 12, '<'}, {'V', 0, '|'},  {'S', 0, '|'},
  };
  if (in.ConsumeIntegralInRange(0, 15) > 0)
    return valid[in.ConsumeIntegralInRange<std::size_t>(0, std::size(valid) - 1)];
  sc::dtype t;
  t.kind = in.ConsumeIntegral<char>();
  t.itemsize = in.ConsumeBool() ? in.ConsumeIntegral<int>() : in.ConsumeIntegralInRange(0, 40);
  t.byteorder = in.ConsumeBool() ? "<>|="[in.ConsumeIntegralInRange(0, 3)] : in.ConsumeIntegral<char>();
  return t;
}

sc::memory_kind draw_kind(FuzzedDataProvider& in) {
  if (in.ConsumeIntegralInRange(0, 63) == 0) return sc::memory_kind(in.ConsumeIntegral<std::uint8_t>());
  return sc::memory_kind(in.ConsumeIntegralInRange(0, 2));
}

std::string describe(const sc::view& v, sc::memory_kind destination) {
  std::string s = "view rank " + std::to_string(v.layout.rank);
  if (v.layout.rank >= 0 && v.layout.rank <= sc::max_rank) {
    s += " shape (";
    for (int d = 0; d < v.layout.rank; ++d) s += std::to_string(v.layout.extent[d]) + ",";
    s += ") strides (";
    for (int d = 0; d < v.layout.rank; ++d) s += std::to_string(v.layout.stride[d]) + ",";
    s += ")";
  }
  s += " type {" + std::to_string(int(v.type.kind)) + ", " + std::to_string(v.type.itemsize) + ", " +
       std::to_string(int(v.type.byteorder)) + "}";
  s += " address 2^44+" + std::to_string(reinterpret_cast<std::uintptr_t>(v.data) - base_address);
  s += " memory " + std::to_string(int(v.memory)) + "->" + std::to_string(int(destination));
  if (v.allocation)
    s += " allocation at 2^44" +
         std::string(reinterpret_cast<std::uintptr_t>(v.allocation->base) > base_address ? "+" : "-") +
         std::to_string(reinterpret_cast<std::uintptr_t>(v.allocation->base) > base_address
                            ? reinterpret_cast<std::uintptr_t>(v.allocation->base) - base_address
                            : base_address - reinterpret_cast<std::uintptr_t>(v.allocation->base)) +
         " of " + std::to_string(v.allocation->bytes) + " bytes";
  return s;
}

// ---- walks ---------------------------------------------------------------------------------------

// Byte offsets from the first element of every unit of the view, element by element in C order.
std::vector<i128> view_walk(const sc::view& v, int unit) {
  std::vector<i128> out;
  const int rank = v.layout.rank;
  std::array<std::int64_t, sc::max_rank> idx{};
  for (;;) {
    i128 off = 0;
    for (int d = 0; d < rank; ++d) off += i128(idx[std::size_t(d)]) * v.layout.stride[d];
    for (int u = 0; u < v.type.itemsize / unit; ++u) out.push_back(off * v.type.itemsize + u * unit);
    int d = rank - 1;
    for (; d >= 0; --d) {
      if (++idx[std::size_t(d)] < v.layout.extent[d]) break;
      idx[std::size_t(d)] = 0;
    }
    if (d < 0) return out;
  }
}

// The same from the plan's normalised dims.
std::vector<i128> plan_walk(const sc::plan& p) {
  std::vector<i128> out;
  std::array<std::int64_t, sc::max_plan_rank> idx{};
  for (;;) {
    i128 off = 0;
    for (int d = 0; d < p.walk.rank; ++d) off += i128(idx[std::size_t(d)]) * p.walk.stride[std::size_t(d)];
    out.push_back(off * p.walk.unit);
    int d = p.walk.rank - 1;
    for (; d >= 0; --d) {
      if (++idx[std::size_t(d)] < p.walk.extent[std::size_t(d)]) break;
      idx[std::size_t(d)] = 0;
    }
    if (d < 0) return out;
  }
}

bool is_c_contiguous(const sc::view& v) {
  i128 expected = 1;
  for (int d = v.layout.rank - 1; d >= 0; --d) {
    if (v.layout.extent[d] == 1) continue;
    if (v.layout.stride[d] != expected) return false;
    expected *= v.layout.extent[d];
  }
  return true;
}

// ---- the checks ------------------------------------------------------------------------------------

// What every non-empty plan (made, or narrowed) must hold, given its view.
void check_walk(const sc::plan& p, const sc::view& v, const count& c, const std::string& context) {
  const i128 item = v.type.itemsize;
  CHECK(p.walk.unit >= 1 && p.walk.unit <= 16 && (p.walk.unit & (p.walk.unit - 1)) == 0 && item % p.walk.unit == 0,
        context + "\nunit " + std::to_string(p.walk.unit));
  CHECK(i128(p.units()) == c.elements * (item / p.walk.unit), context + "\nunits() " + std::to_string(p.units()));
  CHECK(p.walk.rank >= 0 && p.walk.rank <= sc::max_plan_rank, context + "\nplan rank " + std::to_string(p.walk.rank));
  i128 product = 1, lo = 0, hi = 0;
  for (int d = 0; d < p.walk.rank; ++d) {
    const i128 e = p.walk.extent[std::size_t(d)], s = p.walk.stride[std::size_t(d)];
    CHECK(e >= 2, context + "\nplan extent " + fuzz::to_string(e) + " in dim " + std::to_string(d));
    product *= e;
    CHECK(product <= i128(p.units()), context + "\nthe plan's extents hold more than units()");
    (s < 0 ? lo : hi) += (e - 1) * s;
    if (d + 1 < p.walk.rank)
      CHECK(s != i128(p.walk.extent[std::size_t(d + 1)]) * p.walk.stride[std::size_t(d + 1)],
            context + "\ndims " + std::to_string(d) + " and " + std::to_string(d + 1) +
                " walk memory evenly: not merged");
  }
  CHECK(product == i128(p.units()), context + "\nthe plan's extents multiply to " + fuzz::to_string(product));
  // The walk reaches exactly the span, in units.
  CHECK(lo * p.walk.unit == c.lo * item && (hi + 1) * p.walk.unit == (c.hi + 1) * item,
        context + "\nthe walk reaches [" + fuzz::to_string(lo * p.walk.unit) + ", " +
            fuzz::to_string((hi + 1) * p.walk.unit) + ")");
  // Pattern and index width, from the walk.
  const i128 inner = p.walk.rank ? p.walk.stride[std::size_t(p.walk.rank - 1)] : 1;
  auto unit_stride = [&](int d) { return p.walk.stride[std::size_t(d)] == 1 || p.walk.stride[std::size_t(d)] == -1; };
  const std::string pat =
      context + "\npattern " + sc::to_string(p.walk.pattern) + " unit_dim " + std::to_string(p.walk.unit_dim);
  CHECK((p.walk.pattern == sc::pattern::contiguous) == (p.walk.rank == 0 || (p.walk.rank == 1 && inner == 1)), pat);
  CHECK((p.walk.pattern == sc::pattern::reversed_rows) == (p.walk.rank >= 1 && inner == -1), pat);
  if (p.walk.pattern == sc::pattern::rows || p.walk.pattern == sc::pattern::long_runs) {
    CHECK(p.walk.rank >= 2 && inner == 1, pat);
    CHECK((p.walk.pattern == sc::pattern::long_runs) ==
              (i128(p.walk.inner_extent()) * p.walk.unit >= i128(sc::plan_policy::long_run_bytes)),
          pat);
  }
  if (p.walk.pattern == sc::pattern::transposed) {
    CHECK(inner != 1 && inner != -1 && p.walk.unit_dim >= 0 && p.walk.unit_dim <= p.walk.rank - 2 &&
              unit_stride(p.walk.unit_dim),
          pat);
    for (int d = p.walk.unit_dim + 1; d < p.walk.rank; ++d) CHECK(!unit_stride(d), pat);
  } else {
    CHECK(p.walk.unit_dim == -1, pat);
  }
  if (p.walk.pattern == sc::pattern::general)
    for (int d = 0; d < p.walk.rank; ++d) CHECK(!unit_stride(d), pat);
  CHECK(p.walk.pattern != sc::pattern::empty, pat);
  const i128 limit = i128(1) << 30;
  CHECK(p.walk.index64 ==
            (i128(p.units()) > limit || c.lo * item / p.walk.unit < -limit || (c.hi + 1) * item / p.walk.unit > limit),
        context + "\nindex64 " + std::to_string(p.walk.index64));
  // Unit by unit, the walk is the view's own bytes in C order.
  if (p.units() <= (1 << 14)) {
    const std::vector<i128> a = plan_walk(p), b = view_walk(v, p.walk.unit);
    if (a != b) {
      std::size_t i = 0;
      while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
      CHECK(false, context + "\nunit " + std::to_string(i) + " of the plan's walk (unit " +
                       std::to_string(p.walk.unit) + ") is at " + (i < a.size() ? fuzz::to_string(a[i]) : "the end") +
                       ", the view's at " + (i < b.size() ? fuzz::to_string(b[i]) : "the end"));
    }
  }
}

void check_chunks(const sc::plan& p, std::size_t max_chunk_bytes, const std::string& context) {
  const sc::detail::chunking c = sc::detail::chunk_output(p, max_chunk_bytes);
  const std::string at = context + "\nchunk_output(" + std::to_string(max_chunk_bytes) +
                         ") = " + std::to_string(c.count) + " chunks of " + std::to_string(c.chunk_units) + " units";
  const i128 units = p.units(), cu = c.chunk_units;
  CHECK(cu >= 1 && c.count >= 1 && (c.count - 1) * cu < units && c.count * cu >= units,
        at + ": they do not cover the output");
  const i128 max_units = std::max<i128>(1, i128(max_chunk_bytes / std::size_t(p.walk.unit)));
  // A row of output: all dims inside the unit-stride dim of a transposed plan, else the inner dim.
  i128 row = p.walk.rank ? p.walk.extent[std::size_t(p.walk.rank - 1)] : 1;
  if (p.walk.pattern == sc::pattern::transposed) {
    row = 1;
    for (int d = p.walk.unit_dim + 1; d < p.walk.rank; ++d) row *= p.walk.extent[std::size_t(d)];
  }
  if (row <= max_units) {
    CHECK(cu % row == 0 && cu <= max_units, at + ": not whole rows of " + fuzz::to_string(row) + " within the size");
    CHECK(cu == units || cu + row > max_units, at + ": a chunk could hold another row");
  } else {
    const i128 piece = std::max(1, 16 / p.walk.unit), most = std::max(max_units, piece);
    CHECK(cu == units || cu % piece == 0, at + ": not whole 16-byte pieces");
    CHECK(cu <= most && (cu == units || cu + piece > most), at + ": not the most 16-byte pieces the size holds");
  }
}

// `bytes` bytes on the heap, nothing more, at a 16-byte boundary (AddressSanitizer poisons what follows).
struct exact_buffer {
  explicit exact_buffer(std::size_t bytes)
      : p(static_cast<std::byte*>(::operator new(std::max<std::size_t>(bytes, 1), std::align_val_t(16)))) {}
  ~exact_buffer() { ::operator delete(p, std::align_val_t(16)); }
  exact_buffer(const exact_buffer&) = delete;
  exact_buffer& operator=(const exact_buffer&) = delete;
  std::byte* p;
};

void check_gather(FuzzedDataProvider& in, const sc::plan& p, const sc::view& v, const count& c,
                  const std::string& context) {
  const i128 item = v.type.itemsize;
  const std::size_t span = std::size_t((c.hi + 1 - c.lo) * item), out = std::size_t(c.bytes);
  exact_buffer src(span);
  for (std::size_t i = 0; i < span; ++i) src.p[i] = std::byte((i * 0x9E3779B1u) >> 13);
  const std::byte* first = src.p + std::size_t(-c.lo * item);

  // The naive walk: each element's bytes in C order.
  std::vector<std::byte> expected(out);
  {
    std::array<std::int64_t, sc::max_rank> idx{};
    std::size_t at = 0;
    for (i128 e = 0; e < c.elements; ++e) {
      i128 off = 0;
      for (int d = 0; d < v.layout.rank; ++d) off += i128(idx[std::size_t(d)]) * v.layout.stride[d];
      std::memcpy(expected.data() + at, first + std::ptrdiff_t(off * item), std::size_t(item));
      at += std::size_t(item);
      for (int d = v.layout.rank - 1; d >= 0; --d) {
        if (++idx[std::size_t(d)] < v.layout.extent[d]) break;
        idx[std::size_t(d)] = 0;
      }
    }
  }
  auto compare = [&](const exact_buffer& dst, const std::string& how) {
    if (std::memcmp(dst.p, expected.data(), out) == 0) return;
    std::size_t i = 0;
    while (dst.p[i] == expected[i]) ++i;
    CHECK(false, context + "\n" + how + ": output byte " + std::to_string(i) + " differs from the naive walk's");
  };

  {
    exact_buffer dst(out);
    const int threads = in.ConsumeIntegralInRange(0, 7) == 0 ? 2 : 1;
    // Small pieces, so that two threads share even the small copies fuzzed here.
    sc::detail::gather(p, first, dst.p, threads, threads > 1 ? 256 : 0);
    compare(dst, "gather on " + std::to_string(threads) + " thread(s)");
  }
  {
    const std::size_t chunk_bytes = in.ConsumeIntegralInRange<std::size_t>(1, 4096);
    const sc::detail::chunking ch = sc::detail::chunk_output(p, chunk_bytes);
    exact_buffer dst(out);
    for (std::int64_t i = 0; i < ch.count; ++i) {
      const std::int64_t begin = i * ch.chunk_units, n = std::min(ch.chunk_units, p.units() - begin);
      sc::detail::gather_range(p, first, begin, n, dst.p + begin * p.walk.unit);
    }
    compare(dst, "gather_range in chunks of " + std::to_string(chunk_bytes) + " bytes");
  }
  if (p.walk.unit > 1) {
    const int unit = 1 << in.ConsumeIntegralInRange(0, __builtin_ctz(unsigned(p.walk.unit)) - 1);
    const sc::plan q = sc::detail::narrow_unit(p, unit);
    exact_buffer dst(out);
    sc::detail::gather(q, first, dst.p, 1);
    compare(dst, "gather with the unit narrowed to " + std::to_string(unit));
  }
}

void check(FuzzedDataProvider& in) {
  sc::view v;
  const int pick = in.ConsumeIntegralInRange(0, 63);
  v.layout.rank = pick == 0  ? in.ConsumeIntegralInRange(-3, sc::max_rank + 3)
                  : pick < 4 ? in.ConsumeIntegralInRange(0, sc::max_rank)
                             : in.ConsumeIntegralInRange(0, 6);
  const bool tame = in.ConsumeIntegralInRange(0, 3) > 0;  // small extents and strides only
  for (int d = 0; d < std::clamp(v.layout.rank, 0, sc::max_rank); ++d) {
    v.layout.extent[d] = tame ? in.ConsumeIntegralInRange<std::int64_t>(0, 4) : draw_extent(in);
    v.layout.stride[d] = tame ? in.ConsumeIntegralInRange<std::int64_t>(-5, 5) : draw_stride(in);
  }
  // Deep views: mostly extent-1 dims, or there would be no small ones.
  if (v.layout.rank > 8 && tame)
    for (int d = 0; d < std::min(v.layout.rank, sc::max_rank); ++d)
      if (in.ConsumeIntegralInRange(0, 7) > 0) v.layout.extent[d] = 1;
  v.type = draw_type(in);
  v.data = reinterpret_cast<const void*>(base_address + in.ConsumeIntegralInRange<std::uintptr_t>(0, 63));
  v.memory = draw_kind(in);
  const sc::memory_kind destination = draw_kind(in);

  // An allocation: around the span when there is one (exactly, or a few bytes off), or anything.
  const int bounds = in.ConsumeIntegralInRange(0, 3);
  if (bounds > 0) {
    const count c = count_view(v, destination);
    std::int64_t before = in.ConsumeIntegralInRange<std::int64_t>(-64, 1 << 20),
                 bytes = in.ConsumeIntegralInRange<std::int64_t>(0, 1 << 20);
    if (bounds > 1 && c.verdict == count::plannable && c.bytes > 0 &&
        fits_i64((c.hi + 1 - c.lo) * v.type.itemsize + 64)) {
      before = std::int64_t(-c.lo * v.type.itemsize) + (bounds == 2 ? 0 : in.ConsumeIntegralInRange(-3, 3));
      bytes = std::int64_t((c.hi + 1 - c.lo) * v.type.itemsize) + (bounds == 2 ? 0 : in.ConsumeIntegralInRange(-3, 3));
    }
    v.allocation =
        sc::byte_range{reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(v.data) - std::uintptr_t(before)),
                       std::size_t(std::max<std::int64_t>(bytes, 0))};
  }

  const std::string context = describe(v, destination);
  const count c = count_view(v, destination);
  sc::plan p;
  try {
    p = sc::make_plan(v, destination);
  } catch (const sc::invalid_argument& e) {
    CHECK(c.verdict == count::bad_argument, context + "\ninvalid_argument: " + e.what());
    return;
  } catch (const sc::invalid_view& e) {
    CHECK(c.verdict == count::bad_view, context + "\ninvalid_view: " + e.what());
    return;
  }
  CHECK(c.verdict == count::plannable, context + "\nplanned, but the count says " +
                                           (c.verdict == count::bad_argument ? "invalid_argument" : "invalid_view"));

  CHECK(p.type == v.type && p.source == v.memory && p.destination == destination, context + "\ntype or memory kinds");
  CHECK(i128(p.elements) == c.elements && i128(p.bytes) == c.bytes,
        context + "\nelements " + std::to_string(p.elements) + " bytes " + std::to_string(p.bytes));
  CHECK(bool(p.allocation_bytes) == bool(v.allocation) && (!v.allocation || *p.allocation_bytes == v.allocation->bytes),
        context + "\nallocation bytes");
  CHECK(i128(p.origin) == c.origin, context + "\norigin " + std::to_string(p.origin));
  if (c.bytes == 0) {
    CHECK(p.walk.pattern == sc::pattern::empty, context + "\nno bytes, pattern " + sc::to_string(p.walk.pattern));
    CHECK(sc::detail::chunk_output(p, in.ConsumeIntegral<std::size_t>()).count == 0, context + "\nchunks of nothing");
    return;
  }
  const i128 item = v.type.itemsize;
  CHECK(i128(p.walk.span_begin) == c.lo * item && i128(p.walk.span_end) == (c.hi + 1) * item,
        context + "\nspan [" + std::to_string(p.walk.span_begin) + ", " + std::to_string(p.walk.span_end) + ")");
  // The widest unit: twice it is too wide, or does not divide the itemsize or the address.
  const auto address = reinterpret_cast<std::uintptr_t>(v.data);
  CHECK(address % std::uintptr_t(p.walk.unit) == 0,
        context + "\nunit " + std::to_string(p.walk.unit) + " does not divide the address");
  const int wider = 2 * p.walk.unit;
  CHECK(wider > 16 || item % wider != 0 || address % std::uintptr_t(wider) != 0,
        context + "\nunit " + std::to_string(p.walk.unit) + " is not the widest");
  if (is_c_contiguous(v))
    CHECK(
        p.walk.pattern == sc::pattern::contiguous && (p.walk.rank == 0 || (p.walk.rank == 1 && p.walk.stride[0] == 1)),
        context + "\na C-contiguous view is not one forward run: pattern " + sc::to_string(p.walk.pattern) + " rank " +
            std::to_string(p.walk.rank));
  check_walk(p, v, c, context);
  for (int unit = p.walk.unit / 2; unit >= 1; unit /= 2) {
    const sc::plan q = sc::detail::narrow_unit(p, unit);
    CHECK(q.walk.unit == unit && q.elements == p.elements && q.bytes == p.bytes &&
              q.walk.span_begin == p.walk.span_begin && q.walk.span_end == p.walk.span_end,
          context + "\nnarrowed to unit " + std::to_string(unit));
    check_walk(q, v, c, context + "\nnarrowed to unit " + std::to_string(unit));
  }

  std::size_t chunk_bytes = 0;
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: chunk_bytes = in.ConsumeIntegral<std::size_t>(); break;
    case 1: chunk_bytes = in.ConsumeIntegralInRange<std::size_t>(0, 64); break;
    default: chunk_bytes = in.ConsumeIntegralInRange<std::size_t>(0, std::size_t(1) << 22); break;
  }
  check_chunks(p, chunk_bytes, context);

  if (c.bytes <= (64 << 10) && (c.hi + 1 - c.lo) * item <= (1 << 20)) check_gather(in, p, v, c, context);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  check(in);
  return 0;
}
