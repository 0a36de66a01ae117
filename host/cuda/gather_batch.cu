// host/cuda/gather_batch.cu — gather_batch: the ops of many plans, grouped by kernel family and
// launched as batch_ops (kernels/batch.cuh), so that N small copies cost one launch per family.
#include <cuda_runtime.h>

#include <limits>
#include <type_traits>

#include "cuda/gather_launch.hpp"
#include "cuda/launch.cuh"
#include "cuda/ops.cuh"
#include "stridecopy/kernels/batch.cuh"

namespace stridecopy::detail {

namespace {

template <class Op>
struct family_of final : gather_batch::family {
  std::vector<Op> ops;

  bool empty() const override { return ops.empty(); }

  int launch(cudaStream_t stream) override {
    using batch = kernels::batch_op<Op>;
    using Index = typename Op::index_type;
    int launches = 0;
    std::size_t i = 0;
    while (i < ops.size()) {
      if (i + 1 == ops.size()) {  // the last op alone: its own kernel, no search
        launch_op(ops[i++], stream);
        ++launches;
        break;
      }
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
      if (b.count == 1)
        launch_op(b.ops[0], stream);
      else
        launch_op(b, stream);
      ++launches;
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
  visit_ops(p, src, 0, p.units(), dst, force_index64, [&](const auto& op) {
    using Op = std::decay_t<decltype(op)>;
    if (op.blocks() <= 0) return;
    const std::type_index key(typeid(Op));
    family* f = nullptr;
    for (auto& [k, v] : families_)
      if (k == key) f = v.get();
    if (!f) f = families_.emplace_back(key, std::make_unique<family_of<Op>>()).second.get();
    static_cast<family_of<Op>*>(f)->ops.push_back(op);
  });
}

int gather_batch::launch(cudaStream_t stream) {
  int launches = 0;
  for (auto& [key, f] : families_) launches += f->launch(stream);
  return launches;
}

bool gather_batch::empty() const {
  for (const auto& [key, f] : families_)
    if (!f->empty()) return false;
  return true;
}

}  // namespace stridecopy::detail
