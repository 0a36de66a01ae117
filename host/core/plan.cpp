// host/core/plan.cpp — make_plan: validation, normalisation (drop extent-1 dims, merge even walks),
// touched span, unit choice and pattern classification; and what executors derive from a plan.
#include "stridecopy/plan.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "core/checked_math.hpp"
#include "core/checks.hpp"
#include "core/plan_ops.hpp"
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

namespace detail {

void classify(plan& p) {
  const std::int64_t inner = p.inner_stride();
  p.unit_dim = -1;
  if (p.rank == 0 || (p.rank == 1 && inner == 1)) {
    p.pat = pattern::contiguous;
  } else if (inner == 1) {
    p.pat = std::size_t(p.inner_extent()) * std::size_t(p.unit) >= plan_policy::long_run_bytes ? pattern::long_runs
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
  p.index64 = p.units() > limit32 || p.span_begin / p.unit < -limit32 || p.span_end / p.unit > limit32;
}

}  // namespace detail

plan make_plan(const view& v, memory_kind destination) {
  for (const memory_kind k : {v.memory, destination})
    if (k != memory_kind::pageable && k != memory_kind::pinned && k != memory_kind::device)
      throw invalid_argument("memory kind " + std::to_string(int(k)) + " is not pageable, pinned or device");
  validate(v.type);
  detail::check_layout(v.lay);

  plan p;
  p.type = v.type;
  p.source = v.memory;
  p.destination = destination;
  p.elements = element_count(v.lay);
  const std::int64_t item = v.type.itemsize;
  p.bytes = std::size_t(must(detail::checked_mul(p.elements, item), v, "output has more than 2^63 bytes"));
  const auto addr = reinterpret_cast<std::uintptr_t>(v.data);
  if (v.allocation) {
    // Modular difference, read as signed: a view may start before its allocation's base only by
    // mistake, and the bounds check below says so.
    p.origin = static_cast<std::int64_t>(addr - reinterpret_cast<std::uintptr_t>(v.allocation->base));
    p.allocation_bytes = v.allocation->bytes;
  }
  // pattern::empty: nothing is read, any pointer will do (no elements, or zero-size ones: "|S0").
  if (p.bytes == 0) return p;

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
  if (p.allocation_bytes) {
    const auto first = detail::checked_add(p.origin, p.span_begin), last = detail::checked_add(p.origin, p.span_end);
    if (!first || !last || *first < 0 || std::uint64_t(*last) > *p.allocation_bytes)
      fail(v, "reads bytes [" + (first ? std::to_string(*first) : std::string("-inf")) + ", " +
                  (last ? std::to_string(*last) : std::string("inf")) + ") of its " +
                  std::to_string(*p.allocation_bytes) + "-byte allocation");
  }

  // Unit: the widest power of two <= 16 dividing the itemsize and the address; byte strides are
  // multiples of the itemsize, so every element of the view is unit-aligned too.
  int unit = std::min<int>(plan_policy::max_unit, int(std::uint32_t(item) & (~std::uint32_t(item) + 1)));
  unit = std::min(unit, detail::alignment_of(v.data));
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
  detail::classify(p);
  return p;
}

namespace detail {

int alignment_of(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  int align = plan_policy::max_unit;
  while (align > 1 && a % std::uintptr_t(align) != 0) align /= 2;
  return align;
}

plan narrow_unit(const plan& p, int unit) {
  if (unit >= p.unit || p.pat == pattern::empty) return p;
  plan q = p;
  const std::int64_t f = p.unit / unit;
  q.unit = unit;
  // Strides of units of `unit` bytes are f times longer; each old unit becomes an inner run of f,
  // which merges with the inner dim exactly when that one was contiguous.
  for (int d = 0; d < q.rank; ++d) q.stride[d] *= f;
  if (q.rank > 0 && q.stride[q.rank - 1] == f) {
    q.extent[q.rank - 1] *= f;
    q.stride[q.rank - 1] = 1;
  } else {
    q.extent[q.rank] = f;
    q.stride[q.rank] = 1;
    ++q.rank;
  }
  classify(q);
  return q;
}

transpose_shape transpose_shape_of(const plan& p) {
  transpose_shape t;
  if (p.pat != pattern::transposed) return t;
  t.a = p.extent[p.unit_dim];
  t.b = p.inner_extent();
  for (int d = 0; d < p.unit_dim; ++d) t.planes *= p.extent[d];
  for (int d = p.unit_dim + 1; d < p.rank - 1; ++d) t.m *= p.extent[d];
  return t;
}

chunking chunk_output(const plan& p, std::size_t max_chunk_bytes) {
  chunking c;
  const std::int64_t units = p.units();
  if (units == 0 || p.pat == pattern::empty) return c;
  // Any size of 2^63 units or more holds the whole output.
  const std::size_t size_units = max_chunk_bytes / std::size_t(p.unit);
  const std::int64_t max_units =
      std::max<std::int64_t>(1, std::int64_t(std::min<std::size_t>(size_units, std::numeric_limits<std::int64_t>::max())));
  const std::int64_t row = p.pat == pattern::transposed ? transpose_shape_of(p).row_units() : p.inner_extent();
  const std::int64_t align = row <= max_units ? row : std::max(1, 16 / p.unit);
  c.chunk_units = std::min(units, std::max(align, max_units / align * align));
  // Rounded up without units + chunk_units - 1, which overflows for outputs near 2^63 units.
  c.count = units / c.chunk_units + (units % c.chunk_units != 0);
  return c;
}

}  // namespace detail
}  // namespace stridecopy
