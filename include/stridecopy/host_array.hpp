// stridecopy/host_array.hpp — host_array: an n-d array (bytes + dtype + layout) in an owned
// host_buffer; what to_host and load_npy return.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>

#include "stridecopy/dtype.hpp"
#include "stridecopy/host_buffer.hpp"
#include "stridecopy/layout.hpp"
#include "stridecopy/view.hpp"

namespace stridecopy {

/// Element order of an owned array.
enum class order : std::uint8_t { c, f };

/// An n-d array in owned host memory: what to_host and load_npy return.
class host_array {
 public:
  host_array() = default;
  /// Uninitialised array of `shape`, C order unless `o` says otherwise, in host memory of kind `k`.
  host_array(dtype type, std::span<const std::int64_t> shape, order o = order::c, memory_kind k = memory_kind::pinned);
  host_array(dtype type, std::initializer_list<std::int64_t> shape, order o = order::c,
             memory_kind k = memory_kind::pinned);

  [[nodiscard]] void* data() noexcept { return buffer_.data(); }
  [[nodiscard]] const void* data() const noexcept { return buffer_.data(); }
  [[nodiscard]] std::size_t bytes() const noexcept { return buffer_.size(); }
  [[nodiscard]] const dtype& type() const noexcept { return type_; }
  [[nodiscard]] const stridecopy::layout& layout() const noexcept { return layout_; }
  [[nodiscard]] std::span<const std::int64_t> shape() const { return layout_.extents(); }
  [[nodiscard]] std::int64_t size() const { return element_count(layout_); }
  [[nodiscard]] bool is_pinned() const noexcept { return buffer_.is_pinned(); }
  /// A view of the whole array, with the allocation's bounds recorded.
  [[nodiscard]] view as_view() const;
  /// The same, writable: a destination for copy.
  [[nodiscard]] mutable_view as_view();

 private:
  host_buffer buffer_;
  dtype type_{};
  stridecopy::layout layout_{};
};

}  // namespace stridecopy
