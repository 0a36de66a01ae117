// kernels/ops/batch.cuh — many ops of one family in one launch: the blocks of op i
// follow those of op i - 1, and each block runs the op it falls in. The copies of a batch call
// (N camera frames into the N slots of one batch) cost one launch instead of N.
#pragma once

#include <cstddef>

#include "ops/config.cuh"

namespace stridecopy::kernels {

/// The tuning of batches: the ops ride in the kernel's parameters, which hold up to 32,764 bytes on
/// every architecture the library builds for (sm_70 and later, CUDA 12.1 and later).
struct batch_policy {
  static constexpr std::size_t max_param_bytes = 16384;
  static constexpr int max_ops = 32;
};

/// How many ops of type Op one batch carries.
template <class Op>
constexpr int batch_capacity() {
  constexpr std::size_t each = sizeof(Op) + sizeof(typename Op::index_type);
  constexpr std::size_t fit = (batch_policy::max_param_bytes - 64) / each;
  return fit < std::size_t(batch_policy::max_ops) ? int(fit) : batch_policy::max_ops;
}

/// Ops [0, count) of one family: block b runs block b - start[i] of op i, where
/// start[i] <= b < start[i + 1]; start[count] is the batch's block count.
template <class Op, int N = batch_capacity<Op>()>
struct batch_op {
  static_assert(N >= 2, "a batch carries at least two ops");
  using index_type = typename Op::index_type;
  using op_type = Op;
  static constexpr int capacity = N;
  static constexpr int threads = Op::threads;
  static constexpr int phases = Op::phases;
  static constexpr int shared_bytes = Op::shared_bytes;

  Op ops[N];
  index_type start[N + 1];
  int count;

  [[nodiscard]] STRIDECOPY_HD index_type blocks() const { return start[count]; }

  /// The op block `block` belongs to: a linear search (count is small; every thread of a block
  /// takes the same path).
  [[nodiscard]] STRIDECOPY_HD int op_of(index_type block) const {
    int i = 0;
    while (i + 1 < count && block >= start[i + 1]) ++i;
    return i;
  }

  // Instantiated with the CPU replay's host-only accessor too.
#pragma nv_exec_check_disable
  template <class Mem>
  STRIDECOPY_HD void operator()(const Mem& mem, index_type block, int thread, int phase) const {
    const int i = op_of(block);
    ops[i](mem, block - start[i], thread, phase);
  }
};

}  // namespace stridecopy::kernels
