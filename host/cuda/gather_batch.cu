// host/cuda/gather_batch.cu — gather_batch: the ops of many plans, grouped by kernel family and
// launched as batch_ops (kernels/batch.cuh), so that N small copies cost one launch per family.
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "cuda/gather_launch.hpp"
#include "cuda/launch.cuh"
#include "cuda/ops.cuh"
#include "ops/batch.cuh"

namespace stridecopy::detail {

namespace {

/// Ops that launch one by one instead of in a batch: in a batch kernel, ptxas keeps a few bytes of
/// a 2-byte-unit row gather in local memory (tests/check_kernels.py reports it), which no other
/// family does; those copies (float16 rows) cost a launch each.
template <class Op>
struct launches_alone : std::false_type {};
template <class Index, int Step, class Policy>
struct launches_alone<kernels::row_gather_op<2, Index, Step, Policy>> : std::true_type {};

template <class Op>
struct family_of final : gather_batch::family {
  std::vector<Op> ops;

  bool empty() const override { return ops.empty(); }

  int launch(cudaStream_t stream) override {
    int launches = 0;
    if constexpr (launches_alone<Op>::value) {
      for (const Op& op : ops) launch_op(op, stream);
      launches = int(ops.size());
    } else {
      using batch = kernels::batch_op<Op>;
      using Index = typename Op::index_type;
      std::size_t i = 0;
      while (i < ops.size()) {
        // A batch of one too: its own kernel would be a second instantiation of the op in this unit.
        batch b{};
        b.count = 0;
        b.start[0] = 0;
        // Ops join while they fit, and while the batch's block count stays within its index type.
        while (i < ops.size() && b.count < batch::capacity &&
               Index(ops[i].blocks()) <= std::numeric_limits<Index>::max() - b.start[b.count]) {
          b.ops[b.count] = ops[i++];
          b.start[b.count + 1] = b.start[b.count] + ops[i - 1].blocks();
          ++b.count;
        }
        launch_op(b, stream);
        ++launches;
      }
    }
    ops.clear();
    return launches;
  }
};

}  // namespace

gather_batch::gather_batch() = default;
gather_batch::~gather_batch() = default;

void gather_batch::add(const plan& p, const std::byte* src, void* dst, bool force_index64) {
  if (p.units() <= 0) return;
  if (p.walk.index64 || force_index64) {
    singles_.push_back({p, src, dst});
    return;
  }
  visit_ops(p, src, 0, p.units(), dst, false, [&](const auto& op) {
    using Op = std::decay_t<decltype(op)>;
    if constexpr (!std::is_same_v<typename Op::index_type, std::int32_t>) {
      // A piece of a plan with 32-bit indexes has 32-bit indexes too.
      throw std::logic_error("gather_batch: a 64-bit op from a plan with 32-bit indexes");
    } else {
      if (op.blocks() <= 0) return;
      const std::type_index key(typeid(Op));
      family* f = nullptr;
      for (auto& [k, v] : families_)
        if (k == key) f = v.get();
      if (!f) f = families_.emplace_back(key, std::make_unique<family_of<Op>>()).second.get();
      static_cast<family_of<Op>*>(f)->ops.push_back(op);
    }
  });
}

int gather_batch::launch(cudaStream_t stream) {
  int launches = 0;
  for (auto& [key, f] : families_) launches += f->launch(stream);
  for (const single& s : singles_) {
    enqueue_gather(s.p, s.src, 0, s.p.units(), s.dst, stream, true);
    ++launches;
  }
  singles_.clear();
  return launches;
}

bool gather_batch::empty() const {
  if (!singles_.empty()) return false;
  for (const auto& [key, f] : families_)
    if (!f->empty()) return false;
  return true;
}

}  // namespace stridecopy::detail
