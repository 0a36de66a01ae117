// tests/layout_test.cpp — layout constructors, element counts, contiguity and shape strings.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "stridecopy/error.hpp"
#include "stridecopy/layout.hpp"
#include "stridecopy/view.hpp"

namespace sc = stridecopy;
using shape_t = std::vector<std::int64_t>;

TEST(Layout, COrderStridesAreSuffixProducts) {
  const sc::layout l = sc::c_contiguous(shape_t{4, 3, 966, 1296});
  ASSERT_EQ(l.rank, 4);
  EXPECT_EQ(l.stride[3], 1);
  EXPECT_EQ(l.stride[2], 1296);
  EXPECT_EQ(l.stride[1], 966 * 1296);
  EXPECT_EQ(l.stride[0], 3 * 966 * 1296);
  EXPECT_EQ(sc::element_count(l), 4LL * 3 * 966 * 1296);
  EXPECT_TRUE(sc::is_c_contiguous(l));
}

TEST(Layout, FOrderStridesArePrefixProducts) {
  const sc::layout l = sc::f_contiguous(shape_t{2, 5, 7});
  EXPECT_EQ(l.stride[0], 1);
  EXPECT_EQ(l.stride[1], 2);
  EXPECT_EQ(l.stride[2], 10);
  EXPECT_FALSE(sc::is_c_contiguous(l));
}

TEST(Layout, ZeroDimensionalHasOneElement) {
  const sc::layout l = sc::c_contiguous(shape_t{});
  EXPECT_EQ(l.rank, 0);
  EXPECT_EQ(sc::element_count(l), 1);
  EXPECT_TRUE(sc::is_c_contiguous(l));
}

TEST(Layout, EmptyDimensionMakesZeroElementsEvenWithHugeOthers) {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const sc::layout l = sc::make_layout(shape_t{big, 0, big}, shape_t{1, 1, 1});
  EXPECT_EQ(sc::element_count(l), 0);
  EXPECT_TRUE(sc::is_c_contiguous(l));
}

TEST(Layout, ExtentOneDimensionsIgnoreTheirStrideForContiguity) {
  EXPECT_TRUE(sc::is_c_contiguous(sc::make_layout(shape_t{1, 3, 1, 2}, shape_t{-77, 2, 12345, 1})));
  EXPECT_FALSE(sc::is_c_contiguous(sc::make_layout(shape_t{2, 3}, shape_t{-3, 1})));
  EXPECT_FALSE(sc::is_c_contiguous(sc::make_layout(shape_t{3}, shape_t{0})));
}

TEST(Layout, ElementCountOverflowThrows) {
  const sc::layout l = sc::make_layout(shape_t{1LL << 32, 1LL << 32}, shape_t{0, 0});
  EXPECT_THROW((void)sc::element_count(l), sc::invalid_view);
}

TEST(Layout, BadShapesAreRejectedWithTheShapeInTheMessage) {
  try {
    (void)sc::c_contiguous(shape_t{2, -1});
    FAIL() << "negative extent accepted";
  } catch (const sc::invalid_view& e) {
    EXPECT_NE(std::string(e.what()).find("(2, -1)"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)sc::c_contiguous(shape_t(65, 1)), sc::invalid_view);  // NumPy allows 64
  EXPECT_EQ(sc::c_contiguous(shape_t(64, 1)).rank, 64);
  EXPECT_THROW((void)sc::make_layout(shape_t{2, 3}, shape_t{1}), sc::invalid_view);
}

TEST(Layout, ShapeStringMatchesPythonTupleRepr) {
  EXPECT_EQ(sc::shape_string(shape_t{}), "()");
  EXPECT_EQ(sc::shape_string(shape_t{5}), "(5,)");
  EXPECT_EQ(sc::shape_string(shape_t{4, 3}), "(4, 3)");
}

TEST(View, ContiguousViewRecordsItsAllocation) {
  std::vector<float> data(12);
  const sc::view v = sc::contiguous_view(data.data(), sc::dtype_of<float>(), shape_t{3, 4});
  ASSERT_TRUE(v.allocation.has_value());
  EXPECT_EQ(v.allocation->base, data.data());
  EXPECT_EQ(v.allocation->bytes, 48u);
  EXPECT_EQ(v.rank(), 2);
}
