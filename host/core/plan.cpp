// host/core/plan.cpp — make_plan: validation, normalisation (drop extent-1 dims, merge even walks),
// touched span, unit choice and pattern classification; and what executors derive from a plan.
#include "stridecopy/plan.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/checked_math.hpp"
#include "core/checks.hpp"
#include "core/plan_ops.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"

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
  const std::int64_t inner = p.walk.inner_stride();
  p.walk.unit_dim = -1;
  if (p.walk.rank == 0 || (p.walk.rank == 1 && inner == 1)) {
    p.walk.pattern = pattern::contiguous;
  } else if (inner == 1) {
    p.walk.pattern = std::size_t(p.walk.inner_extent()) * std::size_t(p.walk.unit) >= plan_policy::long_run_bytes
                         ? pattern::long_runs
                         : pattern::rows;
  } else if (inner == -1) {
    p.walk.pattern = pattern::reversed_rows;
  } else {
    p.walk.pattern = pattern::general;
    for (int d = p.walk.rank - 2; d >= 0; --d)
      if (p.walk.stride[d] == 1 || p.walk.stride[d] == -1) {
        p.walk.pattern = pattern::transposed;
        p.walk.unit_dim = d;
        break;
      }
  }
  // 32-bit kernels keep a factor of two of headroom, so that no intermediate sum can overflow.
  constexpr std::int64_t limit32 = std::int64_t(1) << 30;
  p.walk.index64 = p.units() > limit32 || p.walk.span_begin / p.walk.unit < -limit32 ||
                   p.walk.span_end / p.walk.unit > limit32 || p.walk.dst_span_end / p.walk.unit > limit32;
}

}  // namespace detail

plan make_plan(const view& v, memory_kind destination) {
  for (const memory_kind k : {v.memory, destination})
    if (k != memory_kind::pageable && k != memory_kind::pinned && k != memory_kind::device)
      throw invalid_argument("memory kind " + std::to_string(int(k)) + " is not pageable, pinned or device");
  validate(v.type);
  detail::check_layout(v.layout);

  plan p;
  p.type = v.type;
  p.source = v.memory;
  p.destination = destination;
  p.elements = element_count(v.layout);
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
  for (int d = 0; d < v.layout.rank; ++d) {
    const std::int64_t reach =
        must(detail::checked_mul(v.layout.extent[d] - 1, v.layout.stride[d]), v, "stride times extent overflows int64");
    if (reach < 0)
      lo = must(detail::checked_add(lo, reach), v, "span overflows int64");
    else
      hi = must(detail::checked_add(hi, reach), v, "span overflows int64");
  }
  p.walk.span_begin = must(detail::checked_mul(lo, item), v, "span in bytes overflows int64");
  p.walk.span_end = must(detail::checked_mul(must(detail::checked_add(hi, 1), v, "span overflows int64"), item), v,
                         "span in bytes overflows int64");
  if (p.allocation_bytes) {
    const auto first = detail::checked_add(p.origin, p.walk.span_begin),
               last = detail::checked_add(p.origin, p.walk.span_end);
    if (!first || !last || *first < 0 || std::uint64_t(*last) > *p.allocation_bytes)
      fail(v, "reads bytes [" + (first ? std::to_string(*first) : std::string("-inf")) + ", " +
                  (last ? std::to_string(*last) : std::string("inf")) + ") of its " +
                  std::to_string(*p.allocation_bytes) + "-byte allocation");
  }

  // Unit: the widest power of two <= 16 dividing the itemsize and the address; byte strides are
  // multiples of the itemsize, so every element of the view is unit-aligned too.
  int unit = std::min<int>(plan_policy::max_unit, int(std::uint32_t(item) & (~std::uint32_t(item) + 1)));
  unit = std::min(unit, detail::alignment_of(v.data));
  p.walk.unit = unit;
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
  for (int d = v.layout.rank - 1; d >= 0; --d)
    if (v.layout.extent[d] != 1)  // an extent-1 dim's stride is never used, however large
      push_outer(v.layout.extent[d],
                 must(detail::checked_mul(v.layout.stride[d], per_item), v, "stride overflows int64"));
  p.walk.rank = n;
  for (int i = 0; i < n; ++i) {  // reverse into outermost-first order
    p.walk.extent[i] = ext[n - 1 - i];
    p.walk.stride[i] = str[n - 1 - i];
  }
  detail::fill_c_order_destination(p);
  detail::classify(p);
  return p;
}

namespace {

/// One dim of a plan of two layouts: extent, source and destination strides (elements or units).
struct pair_dim {
  std::int64_t extent, src, dst;
};

/// The element offsets a walk of `dims` visits, or nothing when there are more than `limit`.
std::optional<std::vector<std::int64_t>> offsets_of(const std::vector<pair_dim>& dims, std::int64_t limit) {
  std::int64_t n = 1;
  for (const pair_dim& d : dims) {
    if (d.extent > limit / n) return std::nullopt;
    n *= d.extent;
  }
  std::vector<std::int64_t> out{0};
  out.reserve(std::size_t(n));
  for (const pair_dim& d : dims) {
    const std::size_t before = out.size();
    for (std::int64_t i = 1; i < d.extent; ++i)
      for (std::size_t k = 0; k < before; ++k) out.push_back(out[k] + i * d.dst);
  }
  return out;
}

/// Whether a destination walk of `dims` (extents > 1, strides > 0 in elements, sorted by stride,
/// largest first) writes each element once: when each stride clears everything the smaller ones
/// reach, surely; otherwise by listing the offsets, up to 2^22 of them.
bool writes_each_once(const std::vector<pair_dim>& dims) {
  std::int64_t reach = 0;  // what the smaller strides reach, in elements
  bool nested = true;
  for (auto it = dims.rbegin(); it != dims.rend() && nested; ++it) {
    nested = it->dst > reach;
    const auto r = detail::checked_mul(it->extent - 1, it->dst);
    const auto sum = r ? detail::checked_add(reach, *r) : std::nullopt;
    if (!sum) return false;
    reach = *sum;
  }
  if (nested) return true;
  auto offsets = offsets_of(dims, std::int64_t(1) << 22);
  if (!offsets) return false;
  std::sort(offsets->begin(), offsets->end());
  return std::adjacent_find(offsets->begin(), offsets->end()) == offsets->end();
}

}  // namespace

plan make_plan(const view& src_view, const mutable_view& dst) {
  for (const memory_kind k : {src_view.memory, dst.memory})
    if (k != memory_kind::pageable && k != memory_kind::pinned && k != memory_kind::device)
      throw invalid_argument("memory kind " + std::to_string(int(k)) + " is not pageable, pinned or device");
  validate(src_view.type);
  validate(dst.type);
  detail::check_layout(src_view.layout);
  detail::check_layout(dst.layout);
  if (!(src_view.type == dst.type))
    throw invalid_view("the source's type " + to_descr(src_view.type) + " is not the destination's " +
                       to_descr(dst.type) + ": a copy converts nothing");
  // NumPy's assignment drops the source's leading dims of extent 1 beyond the destination's rank
  // (np.copyto(a[4, 3], b[1, 1, 3]) is allowed); broadcast_to itself refuses extra dims.
  view squeezed = src_view;
  const int extra = src_view.layout.rank - dst.layout.rank;
  int drop = 0;
  while (drop < extra && src_view.layout.extent[drop] == 1) ++drop;
  if (drop > 0) {
    squeezed.layout.rank -= drop;
    for (int i = 0; i < squeezed.layout.rank; ++i) {
      squeezed.layout.extent[i] = src_view.layout.extent[i + drop];
      squeezed.layout.stride[i] = src_view.layout.stride[i + drop];
    }
  }
  const view src = broadcast_to(squeezed, dst.shape());

  plan p;
  p.type = dst.type;
  p.source = src.memory;
  p.destination = dst.memory;
  p.elements = element_count(dst.layout);
  const std::int64_t item = dst.type.itemsize;
  p.bytes = std::size_t(must(detail::checked_mul(p.elements, item), dst, "output has more than 2^63 bytes"));
  const auto offset_in = [](const view& v) {
    return v.allocation ? static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(v.data) -
                                                    reinterpret_cast<std::uintptr_t>(v.allocation->base))
                        : std::int64_t(0);
  };
  p.origin = offset_in(src);
  p.walk.dst_origin = offset_in(dst);
  if (src.allocation) p.allocation_bytes = src.allocation->bytes;
  if (dst.allocation) p.dst_allocation_bytes = dst.allocation->bytes;
  p.walk.scatter = false;
  if (p.bytes == 0) return p;  // pattern::empty: nothing is read or written

  // The dims of the destination's shape that walk (extent > 1), reversed ones turned forward: the
  // first element each side's walk visits moves to the reversed dim's far end.
  std::vector<pair_dim> dims;
  std::int64_t src_first = 0, dst_first = 0;  // elements from element (0, ..., 0)
  for (int d = 0; d < dst.layout.rank; ++d) {
    const std::int64_t e = dst.layout.extent[d];
    if (e == 1) continue;
    std::int64_t s = src.layout.stride[d], t = dst.layout.stride[d];
    if (t == 0)
      fail(dst, "it writes its elements more than once (stride 0 in dim " + std::to_string(d) + " of extent " +
                    std::to_string(e) + "); a destination takes each element once");
    if (t < 0) {
      src_first = must(detail::checked_add(src_first, must(detail::checked_mul(e - 1, s), src, "span overflows int64")),
                       src, "span overflows int64");
      dst_first = must(detail::checked_add(dst_first, must(detail::checked_mul(e - 1, t), dst, "span overflows int64")),
                       dst, "span overflows int64");
      if (s == std::numeric_limits<std::int64_t>::min() || t == std::numeric_limits<std::int64_t>::min())
        fail(dst, "a stride of -2^63 cannot be walked forward");
      s = -s;
      t = -t;
    }
    dims.push_back({e, s, t});
  }
  // The destination's memory order: largest stride outermost (NumPy's order for a copy into it).
  std::stable_sort(dims.begin(), dims.end(), [](const pair_dim& a, const pair_dim& b) { return a.dst > b.dst; });
  if (!writes_each_once(dims))
    fail(dst,
         "some of its elements alias others (or whether they do cannot be decided in bounded work); a "
         "destination takes each element once");

  // Unit: as make_plan's, dividing both data pointers (every element is then unit-aligned on both
  // sides, the first ones of the walks too).
  int unit = std::min<int>(plan_policy::max_unit, int(std::uint32_t(item) & (~std::uint32_t(item) + 1)));
  unit = std::min({unit, detail::alignment_of(src.data), detail::alignment_of(dst.data)});
  p.walk.unit = unit;
  const std::int64_t per_item = item / unit;

  // Merge, innermost first, a dim into the one inside it where it walks evenly on both sides.
  std::array<pair_dim, max_plan_rank> walk{};
  int n = 0;
  auto push_outer = [&](std::int64_t e, std::int64_t s, std::int64_t t) {
    if (n > 0) {
      const auto ws = detail::checked_mul(walk[n - 1].extent, walk[n - 1].src);
      const auto wt = detail::checked_mul(walk[n - 1].extent, walk[n - 1].dst);
      if (ws && wt && *ws == s && *wt == t) {
        walk[n - 1].extent *= e;
        return;
      }
    }
    walk[n++] = {e, s, t};
  };
  if (per_item > 1) push_outer(per_item, 1, 1);
  for (auto it = dims.rbegin(); it != dims.rend(); ++it)
    push_outer(it->extent, must(detail::checked_mul(it->src, per_item), src, "stride overflows int64"),
               must(detail::checked_mul(it->dst, per_item), dst, "stride overflows int64"));
  p.walk.rank = n;
  for (int i = 0; i < n; ++i) {
    p.walk.extent[i] = walk[n - 1 - i].extent;
    p.walk.stride[i] = walk[n - 1 - i].src;
    p.walk.dst_stride[i] = walk[n - 1 - i].dst;
  }

  // Spans around each walk's first element, and the first elements from the pointers.
  std::int64_t lo = 0, hi = 0, dst_hi = 0;
  for (int i = 0; i < n; ++i) {
    const std::int64_t reach =
        must(detail::checked_mul(p.walk.extent[i] - 1, p.walk.stride[i]), src, "span overflows int64");
    (reach < 0 ? lo : hi) = must(detail::checked_add(reach < 0 ? lo : hi, reach), src, "span overflows int64");
    dst_hi = must(detail::checked_add(dst_hi, must(detail::checked_mul(p.walk.extent[i] - 1, p.walk.dst_stride[i]), dst,
                                                   "span overflows int64")),
                  dst, "span overflows int64");
  }
  const auto bytes_of = [&](std::int64_t units, const view& v) {
    return must(detail::checked_mul(units, unit), v, "span in bytes overflows int64");
  };
  p.walk.span_begin = bytes_of(lo, src);
  p.walk.span_end = bytes_of(must(detail::checked_add(hi, 1), src, "span overflows int64"), src);
  p.walk.dst_span_begin = 0;
  p.walk.dst_span_end = bytes_of(must(detail::checked_add(dst_hi, 1), dst, "span overflows int64"), dst);
  p.origin =
      must(detail::checked_add(p.origin, must(detail::checked_mul(src_first, item), src, "span overflows int64")), src,
           "span overflows int64");
  p.walk.dst_origin = must(
      detail::checked_add(p.walk.dst_origin, must(detail::checked_mul(dst_first, item), dst, "span overflows int64")),
      dst, "span overflows int64");
  const auto check_inside = [&](const view& v, std::int64_t origin, std::int64_t begin, std::int64_t end,
                                const std::optional<std::size_t>& bytes, const char* what) {
    if (!bytes) return;
    const auto first = detail::checked_add(origin, begin), last = detail::checked_add(origin, end);
    if (!first || !last || *first < 0 || std::uint64_t(*last) > *bytes)
      fail(v, std::string(what) + " bytes [" + (first ? std::to_string(*first) : std::string("-inf")) + ", " +
                  (last ? std::to_string(*last) : std::string("inf")) + ") of its " + std::to_string(*bytes) +
                  "-byte allocation");
  };
  check_inside(src, p.origin, p.walk.span_begin, p.walk.span_end, p.allocation_bytes, "reads");
  check_inside(dst, p.walk.dst_origin, p.walk.dst_span_begin, p.walk.dst_span_end, p.dst_allocation_bytes, "writes");

  // Contiguous from its first element in the walk's order: the destination is a C-order one.
  bool contiguous = n == 0 || p.walk.dst_stride[n - 1] == 1;
  for (int i = 0; contiguous && i + 1 < n; ++i)
    contiguous = p.walk.dst_stride[i] == p.walk.extent[i + 1] * p.walk.dst_stride[i + 1];
  p.walk.scatter = !contiguous;
  if (!p.walk.scatter) detail::fill_c_order_destination(p);
  detail::classify(p);
  return p;
}

namespace detail {

void fill_c_order_destination(plan& p) {
  std::int64_t s = 1;
  for (int i = p.walk.rank - 1; i >= 0; --i) {
    p.walk.dst_stride[i] = s;
    s *= p.walk.extent[i];  // bounded by the unit count
  }
  p.walk.scatter = false;
  p.walk.dst_span_begin = 0;
  p.walk.dst_span_end = std::int64_t(p.bytes);
}

plan into_contiguous(const plan& p) {
  plan q = p;
  q.walk.dst_origin = 0;
  q.dst_allocation_bytes.reset();
  fill_c_order_destination(q);
  classify(q);
  return q;
}

plan from_contiguous(const plan& p) {
  plan q = p;
  std::int64_t s = 1;
  for (int i = q.walk.rank - 1; i >= 0; --i) {
    q.walk.stride[i] = s;
    s *= q.walk.extent[i];
  }
  q.origin = 0;
  q.allocation_bytes.reset();
  q.walk.span_begin = 0;
  q.walk.span_end = std::int64_t(q.bytes);
  classify(q);
  return q;
}

int alignment_of(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  int align = plan_policy::max_unit;
  while (align > 1 && a % std::uintptr_t(align) != 0) align /= 2;
  return align;
}

plan narrow_unit(const plan& p, int unit) {
  if (unit >= p.walk.unit || p.walk.pattern == pattern::empty) return p;
  plan q = p;
  const std::int64_t f = p.walk.unit / unit;
  q.walk.unit = unit;
  // Strides of units of `unit` bytes are f times longer; each old unit becomes an inner run of f,
  // which merges with the inner dim exactly when that one was contiguous.
  for (int d = 0; d < q.walk.rank; ++d) {
    q.walk.stride[d] *= f;
    q.walk.dst_stride[d] *= f;
  }
  if (q.walk.rank > 0 && q.walk.stride[q.walk.rank - 1] == f && q.walk.dst_stride[q.walk.rank - 1] == f) {
    q.walk.extent[q.walk.rank - 1] *= f;
    q.walk.stride[q.walk.rank - 1] = 1;
    q.walk.dst_stride[q.walk.rank - 1] = 1;
  } else {
    q.walk.extent[q.walk.rank] = f;
    q.walk.stride[q.walk.rank] = 1;
    q.walk.dst_stride[q.walk.rank] = 1;
    ++q.walk.rank;
  }
  classify(q);
  return q;
}

transpose_shape transpose_shape_of(const plan& p) {
  transpose_shape t;
  if (p.walk.pattern != pattern::transposed) return t;
  t.a = p.walk.extent[p.walk.unit_dim];
  t.b = p.walk.inner_extent();
  for (int d = 0; d < p.walk.unit_dim; ++d) t.planes *= p.walk.extent[d];
  for (int d = p.walk.unit_dim + 1; d < p.walk.rank - 1; ++d) t.m *= p.walk.extent[d];
  return t;
}

chunking chunk_output(const plan& p, std::size_t max_chunk_bytes) {
  chunking c;
  const std::int64_t units = p.units();
  if (units == 0 || p.walk.pattern == pattern::empty) return c;
  // Any size of 2^63 units or more holds the whole output.
  const std::size_t size_units = max_chunk_bytes / std::size_t(p.walk.unit);
  const std::int64_t max_units = std::max<std::int64_t>(
      1, std::int64_t(std::min<std::size_t>(size_units, std::numeric_limits<std::int64_t>::max())));
  const std::int64_t row =
      p.walk.pattern == pattern::transposed ? transpose_shape_of(p).row_units() : p.walk.inner_extent();
  const std::int64_t align = row <= max_units ? row : std::max(1, 16 / p.walk.unit);
  c.chunk_units = std::min(units, std::max(align, max_units / align * align));
  // Rounded up without units + chunk_units - 1, which overflows for outputs near 2^63 units.
  c.count = units / c.chunk_units + (units % c.chunk_units != 0);
  return c;
}

}  // namespace detail
}  // namespace stridecopy
