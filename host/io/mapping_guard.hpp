// host/io/mapping_guard.hpp — reads of a mapped input file that survive the file being cut short
// under them (internal): the SIGBUS a read of a lost page raises becomes an error after the copy.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace stridecopy::detail {

/// A mapping of a whole file, from offset 0, registered while the guard lives. A read of a page the
/// file no longer backs (it was truncated after the mapping was made) raises SIGBUS, which would kill
/// the process. While any guard lives, a SIGBUS handler maps a page of zeros there instead, notes the
/// loss in the guard and lets the read go on; the copy ends normally, and its owner turns the loss
/// into an npy_error before the result is used (or a file is committed). Faults anywhere else go to
/// the handler that was installed before; the last guard to go puts that handler back.
class mapping_guard {
 public:
  /// Registers [begin, begin + bytes) of the open file `fd`, which the guard takes over (and closes);
  /// `name` is the file's name for messages. Null, leaving `fd` open, when every slot is taken or the
  /// handler cannot be installed: the caller then reads the file instead of mapping it.
  static std::unique_ptr<mapping_guard> make(const void* begin, std::size_t bytes, int fd, const std::string& name);
  ~mapping_guard();
  mapping_guard(const mapping_guard&) = delete;
  mapping_guard& operator=(const mapping_guard&) = delete;

  /// True once a read found a page the file no longer backs: that read saw zeros.
  [[nodiscard]] bool lost_pages() const noexcept;
  /// True when the file is now shorter than the mapping.
  [[nodiscard]] bool file_shrank() const noexcept;
  /// Throws npy_error naming the file when a read lost pages or, after a copy that failed (a write
  /// straight from the mapping reports EFAULT where a read would fault), when the file shrank.
  void check(bool after_failure = false) const;

 private:
  mapping_guard(int slot, int fd, std::size_t bytes, const std::string& name);
  int slot_;
  int fd_;
  std::size_t bytes_;
  std::string name_;
};

/// check() of the live guard whose mapping holds [p, p + bytes), if any: for code that sees only a
/// view of the mapping (save_npy), before it lets the copy's result out.
void check_mapped_reads(const void* p, std::size_t bytes, bool after_failure = false);

}  // namespace stridecopy::detail
