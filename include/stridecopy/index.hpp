// stridecopy/index.hpp — NumPy basic indexing as layout algebra: slice(v, "[:, ::-1]"), permute, flip.
// No data is touched: each returns a view of the same memory with a new pointer, shape and strides.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "stridecopy/view.hpp"

namespace stridecopy {

/// One item of a parsed NumPy index expression.
struct index_item {
  enum class kind { integer, slice, ellipsis, new_axis };
  kind what = kind::slice;
  /// integer: the index. slice: start/stop/step, each present or absent (`has_*`).
  /// Values outside int64 are clamped to it (a slice bound; Python's slice.indices clamps anyway)
  /// or flagged with `overflow` (an integer index, which is then always out of range).
  std::int64_t value = 0, start = 0, stop = 0, step = 1;
  bool has_start = false, has_stop = false, has_step = false, overflow = false;
  /// Character offset of the item in the index string, for messages.
  std::size_t position = 0;
};

/// Parses "[:, ::-1, :, :]", "..., 1, ::2", "None, 0", "" (brackets optional, any whitespace,
/// one trailing comma; "" and "()" are the empty tuple, "[]" is refused as Python refuses a[]).
/// Throws invalid_index quoting the string and the offending position.
std::vector<index_item> parse_index(std::string_view numpy_index);

/// Applies NumPy basic indexing with NumPy's exact semantics (Python's slice.indices clamping,
/// negative integers wrap, None adds an extent-1 axis). Throws invalid_index on step 0, two
/// ellipses, too many indices, an integer out of range, or a result of more than max_rank dims.
view slice(const view& v, std::string_view numpy_index);
view slice(const view& v, std::span<const index_item> items, std::string_view text_for_messages = {});

/// NumPy's transpose(axes): axes is a permutation of 0..rank-1 (negative axes wrap).
view permute(const view& v, std::span<const int> axes);
view permute(const view& v, std::initializer_list<int> axes);
/// NumPy's flip(v, axis): reverses one axis (negative axis wraps).
view flip(const view& v, int axis);
/// NumPy's broadcast_to(v, shape): v's dims aligned to the trailing dims of `shape`, each of extent
/// 1 (stride 0) or equal to shape's; missing leading dims are added with stride 0. Throws
/// invalid_view when the shapes do not broadcast, with NumPy's words.
view broadcast_to(const view& v, std::span<const std::int64_t> shape);

// The same on a mutable_view give a mutable_view (a broadcast view writes elements more than once,
// so it is never one).
mutable_view slice(const mutable_view& v, std::string_view numpy_index);
mutable_view slice(const mutable_view& v, std::span<const index_item> items, std::string_view text_for_messages = {});
mutable_view permute(const mutable_view& v, std::span<const int> axes);
mutable_view permute(const mutable_view& v, std::initializer_list<int> axes);
mutable_view flip(const mutable_view& v, int axis);

}  // namespace stridecopy
