// host/plan.cpp — make_plan: validation, normalisation (drop extent-1 dims, merge even walks),
// touched span, unit choice and pattern classification; plus destination checks and chunking.
#include "stridecopy/plan.hpp"

#include <bit>
#include <cstdint>
#include <limits>
#include <string>

#include "checked_math.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {

const char* to_string(pattern p) {
  switch (p) {
    case pattern::empty: return "empty";
    case pattern::contiguous: return "contiguous";
    case pattern::long_runs: return "long_runs";
    case pattern::rows: return "rows";
    case pattern::reversed_rows: return "reversed_rows";
    case pattern::transposed: return "transposed";
    case pattern::general: return "general";
  }
  return "?";
}

namespace {

std::string describe(const view& v) {
  return "view of shape " + shape_string(v.shape()) + ", strides " + shape_string(v.strides()) + " and type " +
         to_descr(v.type);
}

[[noreturn]] void fail(const view& v, const std::string& what) { throw invalid_view(describe(v) + ": " + what); }

std::int64_t must(std::optional<std::int64_t> x, const view& v, const char* what) {
  if (!x) fail(v, what);
  return *x;
}

}  // namespace

plan make_plan(const view& v) { return make_plan(v, plan_policy::max_unit); }

plan make_plan(const view& v, int max_unit) {
  if (max_unit < 1 || max_unit > plan_policy::max_unit || (max_unit & (max_unit - 1)) != 0)
    throw invalid_view("max_unit " + std::to_string(max_unit) + " is not a power of two from 1 to 16");
  validate(v.type);
  if (v.lay.rank < 0 || v.lay.rank > max_rank)
    throw invalid_view("view has rank " + std::to_string(v.lay.rank) + "; stridecopy supports rank 0 to " +
                       std::to_string(max_rank));
  for (int d = 0; d < v.lay.rank; ++d)
    if (v.lay.shape[d] < 0) fail(v, "negative extent in dimension " + std::to_string(d));

  plan p;
  p.type = v.type;
  p.space = v.space;
  p.elements = element_count(v.lay);
  const std::int64_t item = v.type.itemsize;
  p.bytes = std::size_t(must(detail::checked_mul(p.elements, item), v, "output has more than 2^63 bytes"));
  p.src = static_cast<const std::byte*>(v.data);
  if (p.elements == 0) return p;  // pattern::empty: nothing is read, any pointer will do
  if (!v.data) fail(v, "data pointer is null but the view has " + std::to_string(p.elements) + " elements");

  // Touched span, in elements relative to element (0, ..., 0).
  std::int64_t lo = 0, hi = 0;
  for (int d = 0; d < v.lay.rank; ++d) {
    const std::int64_t reach = must(detail::checked_mul(v.lay.shape[d] - 1, v.lay.stride[d]), v,
                                    "stride times extent overflows int64");
    if (reach < 0)
      lo = must(detail::checked_add(lo, reach), v, "span overflows int64");
    else
      hi = must(detail::checked_add(hi, reach), v, "span overflows int64");
  }
  p.span_begin = must(detail::checked_mul(lo, item), v, "span in bytes overflows int64");
  p.span_end = must(detail::checked_mul(must(detail::checked_add(hi, 1), v, "span overflows int64"), item), v,
                    "span in bytes overflows int64");
  const auto addr = reinterpret_cast<std::uintptr_t>(v.data);
  if (p.span_begin < 0 && std::uintptr_t(-(p.span_begin + 1)) >= addr)
    fail(v, "reaches " + std::to_string(std::uint64_t(0) - std::uint64_t(p.span_begin)) + " bytes below its data pointer, before address 0");
  if (std::uintptr_t(p.span_end) > std::numeric_limits<std::uintptr_t>::max() - addr)
    fail(v, "reaches past the end of the address space");
  if (v.allocation) {
    const auto base = reinterpret_cast<std::uintptr_t>(v.allocation->base);
    const std::uintptr_t first = addr - (std::uintptr_t(0) - std::uintptr_t(p.span_begin));
    const std::uintptr_t last = addr + std::uintptr_t(p.span_end);  // one past
    if (first < base || last > base + v.allocation->bytes || last < first)
      fail(v, "reads bytes [" + std::to_string(std::int64_t(first - base)) + ", " +
                  std::to_string(std::int64_t(last - base)) + ") of its " + std::to_string(v.allocation->bytes) +
                  "-byte allocation");
  }

  // Unit: the widest power of two <= 16 dividing the itemsize and the address; byte strides are
  // multiples of the itemsize, so every element of the view is unit-aligned too.
  int unit = std::min<int>(max_unit, int(std::uint32_t(item) & (~std::uint32_t(item) + 1)));
  while (unit > 1 && addr % std::uintptr_t(unit) != 0) unit /= 2;
  p.unit = unit;
  const std::int64_t per_item = item / unit;

  // Normalise, innermost first: drop extent-1 dims, merge a dim into the one inside it when it
  // walks memory evenly (outer stride == inner extent * inner stride, any sign), keep the order.
  std::array<std::int64_t, max_plan_rank> ext{}, str{};
  int n = 0;
  auto push_outer = [&](std::int64_t e, std::int64_t s) {
    if (e == 1) return;
    if (n > 0) {
      const auto walk = detail::checked_mul(ext[n - 1], str[n - 1]);
      if (walk && *walk == s) {
        ext[n - 1] *= e;  // bounded by the element count, which fits
        return;
      }
    }
    ext[n] = e;
    str[n] = s;
    ++n;
  };
  if (per_item > 1) push_outer(per_item, 1);
  for (int d = v.lay.rank - 1; d >= 0; --d)
    if (v.lay.shape[d] != 1)  // an extent-1 dim's stride is never used, however large
      push_outer(v.lay.shape[d], must(detail::checked_mul(v.lay.stride[d], per_item), v, "stride overflows int64"));
  p.rank = n;
  for (int i = 0; i < n; ++i) {  // reverse into outermost-first order
    p.extent[i] = ext[n - 1 - i];
    p.stride[i] = str[n - 1 - i];
  }

  // Classify.
  const std::int64_t inner = p.inner_stride();
  if (p.rank == 0 || (p.rank == 1 && inner == 1)) {
    p.pat = pattern::contiguous;
  } else if (inner == 1) {
    p.pat = std::size_t(p.inner_extent()) * std::size_t(unit) >= plan_policy::long_run_bytes ? pattern::long_runs
                                                                                             : pattern::rows;
  } else if (inner == -1) {
    p.pat = pattern::reversed_rows;
  } else {
    p.pat = pattern::general;
    for (int d = p.rank - 2; d >= 0; --d)
      if (p.stride[d] == 1 || p.stride[d] == -1) {
        p.pat = pattern::transposed;
        p.unit_dim = d;
        break;
      }
  }
  // 32-bit kernels keep a factor of two of headroom, so that no intermediate sum can overflow.
  constexpr std::int64_t limit32 = std::int64_t(1) << 30;
  p.index64 = p.units() > limit32 || -lo * per_item > limit32 || (hi + 1) * per_item > limit32;
  return p;
}

void check_destination(const plan& p, const void* dst, std::size_t dst_bytes, const char* what) {
  if (dst_bytes < p.bytes)
    throw invalid_view(std::string(what) + " holds " + std::to_string(dst_bytes) + " bytes; the copy needs " +
                       std::to_string(p.bytes));
  if (p.bytes == 0) return;
  if (!dst) throw invalid_view(std::string(what) + " pointer is null");
  const auto d = reinterpret_cast<std::uintptr_t>(dst);
  const auto s = reinterpret_cast<std::uintptr_t>(p.src);
  const std::uintptr_t s_first = s - (std::uintptr_t(0) - std::uintptr_t(p.span_begin)), s_last = s + std::uintptr_t(p.span_end);
  if (d < s_last && s_first < d + p.bytes)
    throw invalid_view(std::string(what) + " overlaps the memory the view reads");
}

chunking split(const plan& p, std::size_t max_chunk_bytes) {
  chunking c;
  const std::int64_t units = p.units();
  if (units == 0) return c;
  const std::int64_t max_units = std::max<std::int64_t>(1, std::int64_t(max_chunk_bytes / std::size_t(p.unit)));
  const std::int64_t row = p.inner_extent();
  if (row <= max_units)
    c.chunk_units = max_units / row * row;
  else {
    const std::int64_t align = std::max(1, 16 / p.unit);
    c.chunk_units = std::max(align, max_units / align * align);
  }
  c.chunk_units = std::min(c.chunk_units, units);
  c.count = (units + c.chunk_units - 1) / c.chunk_units;
  return c;
}

}  // namespace stridecopy
