// stridecopy/view.hpp — a strided view of memory: data pointer, element type, layout, memory kind.
// `data` points at logical element (0, ..., 0); strides may be negative or zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>

#include "stridecopy/dtype.hpp"
#include "stridecopy/layout.hpp"

namespace stridecopy {

/// Where bytes live. The one vocabulary for views, destinations, buffers and plans.
enum class memory_kind : std::uint8_t {
  pageable,  ///< ordinary host memory
  pinned,    ///< page-locked host memory (cudaHostAlloc, cudaHostRegister): the copy engines reach it
  device,    ///< device memory (cudaMalloc, cudaMallocAsync, managed memory)
};

/// "pageable host", "pinned host" or "device", for messages.
const char* to_string(memory_kind k);
/// True for pageable and pinned host memory.
constexpr bool is_host(memory_kind k) { return k != memory_kind::device; }

/// The bytes of one allocation; a view that knows its allocation is checked against it.
struct byte_range {
  const void* base = nullptr;
  std::size_t bytes = 0;
};

struct view {
  const void* data = nullptr;
  dtype type{};
  stridecopy::layout layout{};
  memory_kind memory = memory_kind::pageable;
  /// When set, make_plan rejects a view that reads outside these bytes; slicing keeps it. A plan
  /// made from such a view runs on any allocation of that size (copy_async's `src` is its base).
  std::optional<byte_range> allocation{};

  [[nodiscard]] int rank() const { return layout.rank; }
  [[nodiscard]] std::span<const std::int64_t> shape() const { return layout.extents(); }
  [[nodiscard]] std::span<const std::int64_t> strides() const { return layout.strides(); }
  /// The pointer the view was built from: its allocation's base when it records one, else `data`.
  [[nodiscard]] const void* base() const { return allocation ? allocation->base : data; }
};

/// A view that may be written through: one made from a pointer to writable memory. It is a view
/// (it converts to one wherever a source is read), slicing, permuting or flipping it gives a
/// mutable_view again, and a copy's destination must be one; a view made from a pointer to const
/// never becomes one.
struct mutable_view : view {
  mutable_view() = default;
  /// The writable pointer (the same address as `data`).
  [[nodiscard]] void* mutable_data() const { return const_cast<void*>(data); }
  [[nodiscard]] void* mutable_base() const { return const_cast<void*>(base()); }

 private:
  explicit mutable_view(const view& v) : view(v) {}
  friend mutable_view assume_writable(const view& made_from_writable_memory);
};

/// The view as a mutable_view, on its maker's word that its memory is writable: what const_cast is
/// to a pointer (for a view that came from elsewhere, e.g. a writable buffer a binding received).
mutable_view assume_writable(const view& made_from_writable_memory);

/// A view of `data` with the given shape and element strides (C order when `strides` is empty).
view make_view(const void* data, dtype type, std::span<const std::int64_t> shape,
               std::span<const std::int64_t> strides = {}, memory_kind memory = memory_kind::pageable);
view make_view(const void* data, dtype type, std::initializer_list<std::int64_t> shape,
               std::initializer_list<std::int64_t> strides = {}, memory_kind memory = memory_kind::pageable);

/// A C-contiguous view over a whole allocation of `shape`, with the allocation's bounds recorded.
/// `data` may be null: the view then describes a layout only, for plans that run on any allocation.
view contiguous_view(const void* data, dtype type, std::span<const std::int64_t> shape,
                     memory_kind memory = memory_kind::pageable);
view contiguous_view(const void* data, dtype type, std::initializer_list<std::int64_t> shape,
                     memory_kind memory = memory_kind::pageable);

/// The same over writable memory: a mutable_view, which a copy may write. A null pointer describes a
/// layout only (a plan's destination); a view made from a pointer to const is never writable.
mutable_view make_view(void* data, dtype type, std::span<const std::int64_t> shape,
                       std::span<const std::int64_t> strides = {}, memory_kind memory = memory_kind::pageable);
mutable_view make_view(void* data, dtype type, std::initializer_list<std::int64_t> shape,
                       std::initializer_list<std::int64_t> strides = {}, memory_kind memory = memory_kind::pageable);
mutable_view make_view(std::nullptr_t, dtype type, std::span<const std::int64_t> shape,
                       std::span<const std::int64_t> strides = {}, memory_kind memory = memory_kind::pageable);
mutable_view contiguous_view(void* data, dtype type, std::span<const std::int64_t> shape,
                             memory_kind memory = memory_kind::pageable);
mutable_view contiguous_view(void* data, dtype type, std::initializer_list<std::int64_t> shape,
                             memory_kind memory = memory_kind::pageable);
mutable_view contiguous_view(std::nullptr_t, dtype type, std::span<const std::int64_t> shape,
                             memory_kind memory = memory_kind::pageable);
mutable_view contiguous_view(std::nullptr_t, dtype type, std::initializer_list<std::int64_t> shape,
                             memory_kind memory = memory_kind::pageable);

}  // namespace stridecopy
