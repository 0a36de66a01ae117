// host/cpu/scatter.cpp — copies of plans whose destination is strided: an odometer over the outer
// dims of the joint walk and a loop over its inner dim with a source and a destination step (a
// memcpy where both are 1), cut into pieces that the pool's threads take.
#include "cpu/scatter.hpp"

#include <algorithm>
#include <cstring>

#include "core/plan_ops.hpp"
#include "cpu/gather.hpp"
#include "cpu/thread_pool.hpp"
#include "ops/unit.hpp"

namespace stridecopy::detail {

namespace {

using kernels::unit_t;

/// n units from s (step ss) to d (step ds), in units of U.
template <class U>
void copy_row(const U* __restrict s, std::int64_t ss, U* __restrict d, std::int64_t ds, std::int64_t n) {
  if (ss == 1 && ds == 1) {
    std::memcpy(d, s, std::size_t(n) * sizeof(U));
  } else if (ds == 1) {
    for (std::int64_t j = 0; j < n; ++j) d[j] = s[j * ss];
  } else if (ss == 1) {
    for (std::int64_t j = 0; j < n; ++j) d[j * ds] = s[j];
  } else {
    for (std::int64_t j = 0; j < n; ++j) d[j * ds] = s[j * ss];
  }
}

template <class U>
void copy_units(const plan& p, const std::byte* src, std::byte* dst, std::int64_t first, std::int64_t count) {
  const auto* s = reinterpret_cast<const U*>(src);
  auto* d = reinterpret_cast<U*>(dst);
  if (p.walk.rank == 0) {
    d[0] = s[0];
    return;
  }
  const int r = p.walk.rank;
  const std::int64_t inner = p.walk.extent[r - 1], ss = p.walk.stride[r - 1], ds = p.walk.dst_stride[r - 1];
  // The coordinates of unit `first` and the offsets of its row on both sides.
  std::int64_t idx[max_plan_rank] = {};
  std::int64_t so = 0, dof = 0, rem = first / inner;
  for (int k = r - 2; k >= 0; --k) {
    idx[k] = rem % p.walk.extent[k];
    rem /= p.walk.extent[k];
    so += idx[k] * p.walk.stride[k];
    dof += idx[k] * p.walk.dst_stride[k];
  }
  std::int64_t col = first % inner, left = count;
  while (left > 0) {
    const std::int64_t n = std::min(inner - col, left);
    copy_row<U>(s + so + col * ss, ss, d + dof + col * ds, ds, n);
    left -= n;
    col = 0;
    for (int k = r - 2; k >= 0; --k) {  // next row
      so += p.walk.stride[k];
      dof += p.walk.dst_stride[k];
      if (++idx[k] < p.walk.extent[k]) break;
      so -= idx[k] * p.walk.stride[k];
      dof -= idx[k] * p.walk.dst_stride[k];
      idx[k] = 0;
    }
  }
}

}  // namespace

void copy_range(const plan& p, const std::byte* src, std::byte* dst, std::int64_t first, std::int64_t count) {
  if (count <= 0 || p.walk.pattern == pattern::empty) return;
  kernels::with_unit(p.walk.unit, [&](auto u) { copy_units<unit_t<decltype(u)::value>>(p, src, dst, first, count); });
}

void copy_all(const plan& p, const std::byte* src, std::byte* dst, int threads) {
  if (p.walk.pattern == pattern::empty) return;
  const int team = team_size(p.bytes, threads);
  // Pieces of whole rows where they fit, as the gather cuts its output.
  const chunking c = chunk_output(p, std::clamp(p.bytes / (std::size_t(8) * std::size_t(std::max(team, 1))),
                                                std::size_t(64) << 10, std::size_t(1) << 20));
  run_pieces(team <= 1 ? 1 : c.count, team, [&](std::int64_t i) {
    if (team <= 1) return copy_range(p, src, dst, 0, p.units());
    const std::int64_t a = i * c.chunk_units;
    copy_range(p, src, dst, a, std::min(c.chunk_units, p.units() - a));
  });
}

}  // namespace stridecopy::detail
