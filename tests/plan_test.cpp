// tests/plan_test.cpp — make_plan: validation, normalisation, span, unit, classification; and what
// executors derive from a plan: narrower units, chunks.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/plan_ops.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/plan.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;

namespace {

constexpr std::int64_t N = 4, C = 3, H = 966, W = 1296;

// Views need a non-null, suitably aligned pointer but make_plan never dereferences it.
const void* fake_pointer(std::uintptr_t misalign = 0) {
  return reinterpret_cast<const void*>(0x10000000ull + misalign);
}

sc::view strided(sc::dtype t, shape_t shape, shape_t stride, std::int64_t offset_elems = 0,
                 std::uintptr_t misalign = 0) {
  const auto* p = static_cast<const std::byte*>(fake_pointer(misalign)) + offset_elems * t.itemsize;
  return sc::make_view(p, t, shape, stride);
}

// Byte offsets (relative to the first element) of every output unit, walking the plan's normalised dims in C order.
std::vector<std::int64_t> plan_walk(const sc::plan& p) {
  std::vector<std::int64_t> out;
  std::int64_t idx[sc::max_plan_rank] = {};
  for (std::int64_t i = 0; i < p.units(); ++i) {
    std::int64_t off = 0;
    for (int d = 0; d < p.walk.rank; ++d) off += idx[d] * p.walk.stride[d];
    out.push_back(off * p.walk.unit);
    for (int d = p.walk.rank - 1; d >= 0; --d) {
      if (++idx[d] < p.walk.extent[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// The same, from the view itself: each element's units, in C order of the view's own dims.
std::vector<std::int64_t> view_walk(const sc::view& v, int unit) {
  std::vector<std::int64_t> out;
  const std::int64_t n = sc::element_count(v.layout);
  std::int64_t idx[sc::max_rank] = {};
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t off = 0;
    for (int d = 0; d < v.rank(); ++d) off += idx[d] * v.layout.stride[d];
    for (int u = 0; u < v.type.itemsize / unit; ++u) out.push_back(off * v.type.itemsize + u * unit);
    for (int d = v.rank() - 1; d >= 0; --d) {
      if (++idx[d] < v.layout.extent[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace

// What a caller reads of a plan goes through its accessors; they say what the walk says.
TEST(Plan, AccessorsSayWhatTheWalkIs) {
  const sc::view batch = sc::contiguous_view(nullptr, sc::dtype_of<float>(), {4, 3, 8, 16});
  const sc::plan whole = sc::make_plan(batch);
  EXPECT_EQ(whole.pattern(), sc::pattern::contiguous);
  EXPECT_EQ(whole.rank(), 1);  // four dims, one forward run
  EXPECT_FALSE(whole.scatters());
  EXPECT_EQ(whole.bytes, std::size_t(4 * 3 * 8 * 16 * 4));
  const sc::plan nhwc = sc::make_plan(sc::permute(batch, {0, 2, 3, 1}));
  EXPECT_EQ(nhwc.pattern(), sc::pattern::transposed);
  EXPECT_EQ(nhwc.pattern(), nhwc.walk.pattern);
  EXPECT_EQ(nhwc.rank(), nhwc.walk.rank);
  EXPECT_EQ(nhwc.rank(), 3);  // n, h * w, c
  EXPECT_EQ(sc::make_plan(sc::slice(batch, "[:0]")).pattern(), sc::pattern::empty);
  // Every other element of the destination's rows: the output is not contiguous anywhere.
  std::vector<float> into(8 * 32);
  const auto dst =
      sc::assume_writable(sc::slice(sc::contiguous_view(into.data(), sc::dtype_of<float>(), {8, 32}), "[:, ::2]"));
  const std::vector<float> from(8 * 16);
  const sc::plan strided = sc::make_plan(sc::contiguous_view(from.data(), sc::dtype_of<float>(), {8, 16}), dst);
  EXPECT_TRUE(strided.scatters());
  EXPECT_EQ(strided.scatters(), strided.walk.scatter);
}

TEST(Plan, BgrChannelReverseIsLongContiguousRuns) {
  // imgs[:, ::-1, :, :] on NCHW float32
  const sc::plan p = sc::make_plan(strided(sc::dtype_of<float>(), {N, C, H, W}, {C * H * W, -H * W, W, 1}, 2 * H * W));
  EXPECT_EQ(p.walk.pattern, sc::pattern::long_runs);
  ASSERT_EQ(p.walk.rank, 3);
  EXPECT_EQ(p.walk.extent[0], N);
  EXPECT_EQ(p.walk.extent[1], C);
  EXPECT_EQ(p.walk.extent[2], H * W);
  EXPECT_EQ(p.walk.stride[1], -H * W);
  EXPECT_EQ(p.walk.unit, 4);
  EXPECT_EQ(p.walk.span_begin, -2 * H * W * 4);
  EXPECT_EQ(p.walk.span_end, (N * C * H * W - 2 * H * W) * 4);
  EXPECT_EQ(p.bytes, std::size_t(N * C * H * W * 4));
  EXPECT_FALSE(p.walk.index64);
}

TEST(Plan, NchwViewFamilyClassification) {
  const sc::dtype f32 = sc::dtype_of<float>();
  {  // x[..., ::-1]
    const sc::plan p = sc::make_plan(strided(f32, {N, C, H, W}, {C * H * W, H * W, W, -1}, W - 1));
    EXPECT_EQ(p.walk.pattern, sc::pattern::reversed_rows);
    ASSERT_EQ(p.walk.rank, 2);
    EXPECT_EQ(p.walk.extent[0], N * C * H);
    EXPECT_EQ(p.walk.extent[1], W);
  }
  {  // x[:, :, ::-1, ::-1]: H and W merge into one reversed run per plane
    const sc::plan p = sc::make_plan(strided(f32, {N, C, H, W}, {C * H * W, H * W, -W, -1}, H * W - 1));
    EXPECT_EQ(p.walk.pattern, sc::pattern::reversed_rows);
    ASSERT_EQ(p.walk.rank, 2);
    EXPECT_EQ(p.walk.extent[0], N * C);
    EXPECT_EQ(p.walk.extent[1], H * W);
  }
  {  // x[..., ::2]
    const sc::plan p = sc::make_plan(strided(f32, {N, C, H, W / 2}, {C * H * W, H * W, W, 2}));
    EXPECT_EQ(p.walk.pattern, sc::pattern::general);
    EXPECT_EQ(p.walk.unit_dim, -1);
  }
  {  // x.transpose(0, 2, 3, 1): H and W merge; the merged dim has stride 1
    const sc::plan p = sc::make_plan(strided(f32, {N, H, W, C}, {C * H * W, W, 1, H * W}));
    EXPECT_EQ(p.walk.pattern, sc::pattern::transposed);
    ASSERT_EQ(p.walk.rank, 3);
    EXPECT_EQ(p.walk.unit_dim, 1);
    EXPECT_EQ(p.walk.extent[1], H * W);
    EXPECT_EQ(p.walk.extent[2], C);
  }
  {  // uint8 NHWC x[..., ::-1]: BGR <-> RGB, rows of three bytes
    const sc::plan p =
        sc::make_plan(strided(sc::dtype_of<std::uint8_t>(), {N, H, W, C}, {H * W * C, W * C, C, -1}, C - 1));
    EXPECT_EQ(p.walk.pattern, sc::pattern::reversed_rows);
    ASSERT_EQ(p.walk.rank, 2);
    EXPECT_EQ(p.walk.extent[0], N * H * W);
    EXPECT_EQ(p.walk.extent[1], C);
    EXPECT_EQ(p.walk.unit, 1);
  }
  {  // the whole array: contiguous
    const sc::plan p = sc::make_plan(strided(f32, {N, C, H, W}, {C * H * W, H * W, W, 1}));
    EXPECT_EQ(p.walk.pattern, sc::pattern::contiguous);
    EXPECT_EQ(p.walk.rank, 1);
  }
}

TEST(Plan, FullReverseMergesIntoOneNegativeRun) {
  const sc::plan p = sc::make_plan(strided(sc::dtype_of<double>(), {5, 7}, {-7, -1}, 34));
  ASSERT_EQ(p.walk.rank, 1);
  EXPECT_EQ(p.walk.extent[0], 35);
  EXPECT_EQ(p.walk.stride[0], -1);
  EXPECT_EQ(p.walk.pattern, sc::pattern::reversed_rows);
}

TEST(Plan, ExtentOneDimsWithOddStridesAreDropped) {
  const sc::plan p = sc::make_plan(strided(sc::dtype_of<float>(), {1, 6, 1, 5}, {-999, 5, 123456789, 1}));
  ASSERT_EQ(p.walk.rank, 1);
  EXPECT_EQ(p.walk.extent[0], 30);
  EXPECT_EQ(p.walk.pattern, sc::pattern::contiguous);
  EXPECT_EQ(p.walk.span_begin, 0);
  EXPECT_EQ(p.walk.span_end, 120);
}

TEST(Plan, HugeStridesOfExtentOneDimsDoNotOverflowWhenElementsSplitIntoUnits) {
  // 3-byte elements split into three 1-byte units: a stride of 2^63-1 on an extent-1 dim is fine
  // (NumPy gives such strides for x[::2**63-1]); only strides that are walked are scaled.
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  const sc::plan p = sc::make_plan(strided({'S', 3, '|'}, {1, 4}, {huge, -1}, 3));
  EXPECT_EQ(p.walk.unit, 1);
  EXPECT_EQ(p.elements, 4);
  EXPECT_EQ(p.walk.pattern, sc::pattern::rows);  // reversed elements, each three forward bytes
}

TEST(Plan, ZeroStridesMergeAndClassifyAsGeneral) {
  const sc::plan b = sc::make_plan(strided(sc::dtype_of<float>(), {3, 4}, {0, 0}));
  ASSERT_EQ(b.walk.rank, 1);
  EXPECT_EQ(b.walk.extent[0], 12);
  EXPECT_EQ(b.walk.stride[0], 0);
  EXPECT_EQ(b.walk.pattern, sc::pattern::general);
  EXPECT_EQ(b.walk.span_end - b.walk.span_begin, 4);
  const sc::plan rows = sc::make_plan(strided(sc::dtype_of<float>(), {3, 4}, {0, 1}));
  EXPECT_EQ(rows.walk.pattern, sc::pattern::rows);
  EXPECT_EQ(rows.walk.rank, 2);
}

TEST(Plan, ZeroDimensionalViewIsOneContiguousElement) {
  const sc::plan p = sc::make_plan(strided(sc::dtype_of<std::int16_t>(), {}, {}));
  EXPECT_EQ(p.walk.rank, 0);
  EXPECT_EQ(p.elements, 1);
  EXPECT_EQ(p.walk.pattern, sc::pattern::contiguous);
  EXPECT_EQ(p.bytes, 2u);
}

TEST(Plan, EmptyViewTouchesNothingAndAcceptsANullPointer) {
  const sc::view v = sc::make_view(nullptr, sc::dtype_of<float>(), shape_t{3, 0, 5}, shape_t{-1000, 7, 3});
  const sc::plan p = sc::make_plan(v);
  EXPECT_EQ(p.walk.pattern, sc::pattern::empty);
  EXPECT_EQ(p.elements, 0);
  EXPECT_EQ(p.bytes, 0u);
}

TEST(Plan, LayoutOnlyViewsPlanWithTheirOffsetFromTheBase) {
  // contiguous_view(nullptr, ...) records an allocation at address 0: slicing moves `data` by the
  // element offset, which the plan keeps as its origin.
  const sc::view base = sc::contiguous_view(nullptr, sc::dtype_of<float>(), {4, 3, 5, 6});
  const sc::plan p = sc::make_plan(sc::slice(base, "[:, ::-1, 1:, ::2]"));
  EXPECT_EQ(p.origin, (2 * 30 + 6) * 4);
  ASSERT_TRUE(p.allocation_bytes.has_value());
  EXPECT_EQ(*p.allocation_bytes, std::size_t(4 * 3 * 5 * 6 * 4));
  EXPECT_EQ(p.elements, 4 * 3 * 4 * 3);
  EXPECT_EQ(p.walk.unit, 4);  // the origin's alignment, not the null pointer's
}

TEST(Plan, UnitFollowsItemsizeAndAlignment) {
  // float32 at an address that is only 2-aligned: two 2-byte units per element.
  const sc::plan p2 = sc::make_plan(strided(sc::dtype_of<float>(), {4}, {-1}, 3, 2));
  EXPECT_EQ(p2.walk.unit, 2);
  ASSERT_EQ(p2.walk.rank, 2);  // reversed elements, each a forward pair of units
  EXPECT_EQ(p2.walk.extent[1], 2);
  EXPECT_EQ(p2.walk.stride[1], 1);
  EXPECT_EQ(p2.walk.stride[0], -2);
  EXPECT_EQ(p2.walk.pattern, sc::pattern::rows);
  // 12-byte elements: three 4-byte units, merged with a contiguous walk.
  const sc::plan p12 = sc::make_plan(strided({'V', 12, '|'}, {5}, {1}));
  EXPECT_EQ(p12.walk.unit, 4);
  EXPECT_EQ(p12.walk.rank, 1);
  EXPECT_EQ(p12.walk.extent[0], 15);
  // complex256-sized (32 bytes): 16-byte units.
  const sc::plan p32 = sc::make_plan(strided({'c', 32, '<'}, {3}, {-2}, 4));
  EXPECT_EQ(p32.walk.unit, 16);
  // 3-byte strings: bytes.
  const sc::plan p3 = sc::make_plan(strided({'S', 3, '|'}, {4}, {2}));
  EXPECT_EQ(p3.walk.unit, 1);
}

TEST(Plan, MoreThan2To31ElementsNeeds64BitIndexing) {
  const sc::plan big = sc::make_plan(strided(sc::dtype_of<std::uint8_t>(), {3, 1LL << 30}, {1LL << 30, 1}));
  EXPECT_TRUE(big.walk.index64);
  const sc::plan small = sc::make_plan(strided(sc::dtype_of<std::uint8_t>(), {1, 1LL << 30}, {1LL << 30, 1}));
  EXPECT_FALSE(small.walk.index64);
}

TEST(Plan, StridesOf2To31ElementsNeed64BitIndexing) {
  const sc::plan p = sc::make_plan(strided(sc::dtype_of<std::uint8_t>(), {2, 2}, {1LL << 31, 1}));
  EXPECT_TRUE(p.walk.index64);
  EXPECT_EQ(p.walk.pattern, sc::pattern::rows);
  EXPECT_EQ(p.walk.span_end, (1LL << 31) + 2);
}

TEST(Plan, OverflowingStridesAreRejected) {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max() / 2;
  EXPECT_THROW((void)sc::make_plan(strided(sc::dtype_of<float>(), {3}, {big})), sc::invalid_view);
  EXPECT_THROW((void)sc::make_plan(strided(sc::dtype_of<std::uint8_t>(), {3, 3}, {big, big})), sc::invalid_view);
  // A stride of -2^63 bytes is a representable span: the plan stands, and a copy refuses it, since
  // no first element is far enough from address 0 (tests/copy_test.cpp checks the message).
  const sc::plan far =
      sc::make_plan(strided(sc::dtype_of<std::uint8_t>(), {2}, {std::numeric_limits<std::int64_t>::min()}));
  EXPECT_EQ(far.walk.span_begin, std::numeric_limits<std::int64_t>::min());
  EXPECT_TRUE(far.walk.index64);
  std::byte out[2];
  EXPECT_THROW(sc::copy(far, fake_pointer(), out, 2), sc::invalid_view);
}

TEST(Plan, ViewLeavingItsAllocationIsRejectedWithTheByteRange) {
  std::vector<float> data(12);
  sc::view v = sc::contiguous_view(data.data(), sc::dtype_of<float>(), shape_t{3, 4});
  EXPECT_NO_THROW((void)sc::make_plan(v));
  v.layout.extent[0] = 4;  // one row too many
  try {
    (void)sc::make_plan(v);
    FAIL() << "out-of-bounds view accepted";
  } catch (const sc::invalid_view& e) {
    EXPECT_NE(std::string(e.what()).find("[0, 64) of its 48-byte allocation"), std::string::npos) << e.what();
  }
  sc::view before = sc::contiguous_view(data.data(), sc::dtype_of<float>(), shape_t{12});
  before.layout.stride[0] = -1;  // walks backwards from element 0: leaves the allocation at once
  EXPECT_THROW((void)sc::make_plan(before), sc::invalid_view);
}

TEST(Plan, RankAbove64AndBadDtypesAreRejected) {
  sc::view v = strided(sc::dtype_of<float>(), {2}, {1});
  v.layout.rank = sc::max_rank + 1;
  EXPECT_THROW((void)sc::make_plan(v), sc::invalid_view);
  v.layout.rank = 1;
  v.type.itemsize = 0;
  EXPECT_THROW((void)sc::make_plan(v), sc::invalid_view);
  v.type = {'x', 4, '<'};
  EXPECT_THROW((void)sc::make_plan(v), sc::invalid_view);
}

TEST(Plan, NormalisedWalkVisitsTheViewsElementsInOrder) {
  auto& g = sc::test::rng();
  const int itemsizes[] = {1, 2, 3, 4, 8, 12, 16, 32};
  for (int trial = 0; trial < 3000; ++trial) {
    const int rank = int(g() % 6);
    const int item = itemsizes[g() % 8];
    shape_t shape(rank), stride(rank);
    std::int64_t extent_product = 1;
    for (int d = rank - 1; d >= 0; --d) {
      shape[d] = std::int64_t(g() % 5) + (g() % 4 == 0 ? 0 : 1);
      const int kind = int(g() % 5);
      if (kind == 0)
        stride[d] = 0;
      else if (kind == 1)
        stride[d] = -extent_product;  // a reversed, mergeable walk
      else if (kind == 2)
        stride[d] = extent_product;
      else
        stride[d] = std::int64_t(g() % 41) - 20;
      extent_product *= std::max<std::int64_t>(shape[d], 1);
    }
    const sc::view v = strided({'V', item, '|'}, shape, stride, 1000, std::uintptr_t(g() % 4) * 4);
    const sc::plan p = sc::make_plan(v);
    SCOPED_TRACE("shape " + sc::shape_string(shape) + " strides " + sc::shape_string(stride) + " itemsize " +
                 std::to_string(item));
    ASSERT_EQ(plan_walk(p), view_walk(v, p.walk.unit));
    for (int d = 0; d < p.walk.rank; ++d) EXPECT_GE(p.walk.extent[d], 2);
    const auto walk = plan_walk(p);
    if (!walk.empty()) {
      EXPECT_EQ(*std::min_element(walk.begin(), walk.end()), p.walk.span_begin);
      EXPECT_EQ(*std::max_element(walk.begin(), walk.end()) + p.walk.unit, p.walk.span_end);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data) % std::uintptr_t(p.walk.unit), 0u);
    }
  }
}

TEST(Plan, NarrowerUnitsWalkTheSameBytes) {
  auto& g = sc::test::rng();
  const int itemsizes[] = {2, 4, 8, 12, 16, 32};
  for (int trial = 0; trial < 2000; ++trial) {
    const int rank = int(g() % 5);
    const int item = itemsizes[g() % 6];
    shape_t shape(rank), stride(rank);
    for (int d = 0; d < rank; ++d) {
      shape[d] = std::int64_t(g() % 5) + 1;
      stride[d] = std::int64_t(g() % 13) - 6;
    }
    const sc::view v = strided({'V', item, '|'}, shape, stride, 500);
    const sc::plan p = sc::make_plan(v);
    for (int unit = p.walk.unit; unit >= 1; unit /= 2) {
      const sc::plan q = sc::detail::narrow_unit(p, unit);
      SCOPED_TRACE("shape " + sc::shape_string(shape) + " strides " + sc::shape_string(stride) + " itemsize " +
                   std::to_string(item) + " unit " + std::to_string(unit));
      ASSERT_EQ(q.walk.unit, unit);
      ASSERT_EQ(plan_walk(q), view_walk(v, unit));
      // The bytes touched stay; every dim still has extent >= 2.
      EXPECT_EQ(q.walk.span_begin, p.walk.span_begin);
      EXPECT_EQ(q.walk.span_end, p.walk.span_end);
      for (int d = 0; d < q.walk.rank; ++d) EXPECT_GE(q.walk.extent[d], 2);
    }
  }
}

TEST(Plan, TransposeShapeMultipliesBackToTheOutput) {
  // NCHW viewed as NHWC: the unit-stride dim is W (a), C the inner one (b), nothing between.
  const sc::plan p = sc::make_plan(strided(sc::dtype_of<float>(), {N, H, W, C}, {C * H * W, W, 1, H * W}));
  ASSERT_EQ(p.walk.pattern, sc::pattern::transposed);
  const sc::detail::transpose_shape t = sc::detail::transpose_shape_of(p);
  EXPECT_EQ(t.b, C);
  EXPECT_EQ(t.rows() * t.row_units(), p.units());
}

TEST(Plan, ChunksCoverTheOutputInWholeRowsOrSixteenByteSteps) {
  const sc::plan p = sc::make_plan(strided(sc::dtype_of<float>(), {100, 30}, {-30, 1}, 99 * 30));
  const sc::detail::chunking c = sc::detail::chunk_output(p, 1000);
  EXPECT_EQ(c.chunk_units % 30, 0);
  EXPECT_LE(c.chunk_units * 4, 1000);
  EXPECT_GE(c.chunk_units * c.count, p.units());
  EXPECT_LT(c.chunk_units * (c.count - 1), p.units());
  const sc::plan wide = sc::make_plan(strided(sc::dtype_of<std::uint8_t>(), {4, 100000}, {-100000, 1}, 300000));
  const sc::detail::chunking w = sc::detail::chunk_output(wide, 1001);
  EXPECT_EQ(w.chunk_units % 16, 0);
  EXPECT_LE(w.chunk_units, 1001);
  EXPECT_EQ(sc::detail::chunk_output(sc::make_plan(strided(sc::dtype_of<float>(), {0}, {1})), 64).count, 0);
  // A transposed plan is chunked in whole output rows (M x B units), so the tile kernel runs on each.
  const sc::plan t = sc::make_plan(strided(sc::dtype_of<float>(), {2, 40, 3, 5}, {600, 1, 40, 120}));
  ASSERT_EQ(t.walk.pattern, sc::pattern::transposed);
  const sc::detail::chunking tc = sc::detail::chunk_output(t, 1000);
  EXPECT_EQ(tc.chunk_units % sc::detail::transpose_shape_of(t).row_units(), 0);
}

TEST(Plan, ChunksOfOutputsNear2To63UnitsAndOfSizesBeyondIt) {
  // A broadcast byte of 2^63 - 2 elements: a plan of 2^63 - 2 units in one row (stride 0).
  const std::int64_t units = std::numeric_limits<std::int64_t>::max() - 1;
  const sc::plan p = sc::make_plan(strided(sc::dtype_of<std::uint8_t>(), {units}, {0}));
  ASSERT_EQ(p.units(), units);
  const sc::detail::chunking c = sc::detail::chunk_output(p, std::size_t(1) << 20);
  EXPECT_EQ(c.chunk_units, std::int64_t(1) << 20);
  EXPECT_EQ(c.count, std::int64_t(1) << 43);  // (2^63 - 2) / 2^20 rounded up
  const sc::detail::chunking odd = sc::detail::chunk_output(p, 17);
  EXPECT_EQ(odd.chunk_units, 16);
  EXPECT_EQ(odd.count, std::int64_t(1) << 59);
  // A size of 2^63 bytes or more holds any output whole, in one chunk of whole rows.
  for (const std::size_t size : {std::size_t(1) << 63, ~std::size_t(0)}) {
    const sc::detail::chunking all = sc::detail::chunk_output(p, size);
    EXPECT_EQ(all.chunk_units, units);
    EXPECT_EQ(all.count, 1);
    const sc::plan rows = sc::make_plan(strided(sc::dtype_of<float>(), {100, 30}, {-30, 1}, 99 * 30));
    EXPECT_EQ(sc::detail::chunk_output(rows, size).count, 1);
  }
}
