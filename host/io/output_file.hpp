// host/io/output_file.hpp — the file an output is written to: a temporary beside OUT's final target that
// commit() renames over it, or OUT itself where replacing it would be wrong or impossible (internal).
#pragma once

#include <sys/stat.h>
#include <sys/uio.h>

#include <cstddef>
#include <filesystem>
#include <string>

namespace stridecopy::detail {

/// How an output_file reaches its target; open() decides from what OUT is (docs/output-files.md).
enum class output_method {
  /// An O_TMPFILE file in the target's directory: no name until commit() links it and renames it
  /// over the target, so a process that dies on the way leaves nothing behind.
  unnamed_temporary,
  /// ".stridecopy-XXXXXX" in the target's directory, renamed over the target by commit(); used where
  /// O_TMPFILE is refused. install_signal_cleanup() removes it when SIGINT, SIGTERM or SIGHUP end the
  /// process (as it removes an unnamed one in the moment between its link and its rename).
  named_temporary,
  /// The target itself, opened without O_CREAT: FIFOs, devices, anything reached through /proc
  /// (/dev/stdout), regular files with several hard links, and regular files in a directory where no
  /// temporary can be made or the rename would be refused. Not atomic.
  direct,
};

struct output_options {
  /// False skips O_TMPFILE and makes a named temporary straight away. Only tests need it (they check
  /// the named fallback where the filesystem would have taken O_TMPFILE).
  bool allow_unnamed_temporary = true;
};

/// One output file, from open() to commit(). Nothing of OUT changes before commit() succeeds, except
/// for method() == direct, where a regular file is truncated by the first write() (or by commit()
/// when nothing was written) and the bytes go straight into it.
///
/// Destroyed (or reopened) without a successful commit():
///  - a temporary is closed and removed: OUT and its directory are as they were;
///  - direct, regular file: if write() was never called, the file is untouched; otherwise it stays
///    truncated and holds exactly the bytes written so far (a short .npy that np.load rejects);
///  - direct, anything else (FIFO, device): the descriptor is closed; what was written was consumed.
/// A commit() that throws has already cleaned up the same way.
///
/// Not thread-safe: one thread at a time per object. Neither copyable nor movable (the signal
/// cleanup registry refers to the temporary's directory descriptor, which the object owns).
class output_file {
 public:
  output_file() = default;
  /// Same as open(path, options).
  explicit output_file(const std::filesystem::path& path, output_options options = {});
  ~output_file();
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;

  /// Resolves OUT (following symbolic links, chains and dangling ones included, to the final target;
  /// links into /proc are left to the kernel) and opens what the bytes go to. A file already open is
  /// abandoned first, as by the destructor. Throws npy_error naming the path when OUT is a directory,
  /// an existing regular file without write permission (refused as np.save refuses it, although a
  /// rename could replace it), or cannot be reached; nothing stays open then. Opening a FIFO blocks
  /// until a reader opens it, as np.save does.
  void open(const std::filesystem::path& path, output_options options = {});

  /// Says that the file will hold `bytes` bytes in all. A regular file gets them reserved on disk at
  /// the first write (fallocate, keeping its size, as np.save does): ext4 then takes the page-cache
  /// writes without reserving blocks page by page (60 MB: 17.6 -> 15.7 ms, medians of 21), and a
  /// full disk is reported before any data is written (in place: before the truncation, so the old
  /// content stays whole). Filesystems without fallocate just write.
  void expect_bytes(std::size_t bytes) noexcept { expected_bytes_ = bytes; }

  /// Appends all `bytes` bytes; partial writes and EINTR are retried. Throws npy_error (errno text).
  void write(const void* data, std::size_t bytes);
  /// Appends the `count` runs of `runs` in order, as write() would one after another, in few calls
  /// (writev: the kernel copies each run from where it lies, with no gather in between).
  void write_runs(const iovec* runs, std::size_t count);

  /// Makes the written bytes OUT's content: for a temporary, copies the target's owner, group and
  /// permission bits onto it (where the target still exists, else the ones it had at open()),
  /// closes it (checking the result) and renames it over the target; for a direct write, closes it.
  /// Where the owner may not be set (neither root nor the owner), the group (if the writer is in it)
  /// and the permission bits still are, and the file belongs to the writer. Set-user-ID and
  /// set-group-ID bits are dropped; extended attributes and ACL entries are not copied.
  /// No fsync (np.save does not either). Afterwards the object is closed.
  void commit();

  /// True when this output is a regular file written in place (truncated at the first write) and
  /// [begin, begin + bytes) of this process's memory may lie in a mapping of it (np.load(path,
  /// mmap_mode="r") saved back over a file with two links): the truncation would take those pages
  /// away under the copy. Mappings are matched by inode in /proc/self/maps; where that cannot be
  /// read, the answer is true.
  [[nodiscard]] bool truncates_mapping_of(const void* begin, std::size_t bytes) const;

  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  /// Meaningful after a successful open().
  [[nodiscard]] output_method method() const noexcept { return method_; }
  /// The final target that commit() replaces or that is written: OUT with its symbolic links
  /// followed, spelt relative to OUT where the links were relative.
  [[nodiscard]] const std::filesystem::path& target() const noexcept { return target_; }

 private:
  void open_target(const std::filesystem::path& path, const output_options& options);
  void abandon() noexcept;
  [[noreturn]] void fail(const std::string& what, int err) const;
  void open_direct(int flags, const std::string& what);
  /// 0, or the errno of the failure (the caller decides between an error and a direct write).
  int make_temporary(mode_t mode, const output_options& options);
  void copy_metadata_to_temporary();
  void link_unnamed_temporary();

  std::filesystem::path path_;    // OUT as given, for messages
  std::filesystem::path target_;  // OUT with its links followed
  int dir_fd_ = -1;               // O_PATH descriptor of the target's directory
  std::string name_;              // the target's name in that directory
  int fd_ = -1;                   // what write() writes to
  output_method method_ = output_method::direct;
  std::string temp_name_;  // a named temporary's name; for an unnamed one, set during commit()
  int slot_ = -1;          // its entry in the signal cleanup registry, -1 when none
  void prepare_first_write();
  bool truncate_pending_ = false;   // direct write into a regular file that is not truncated yet
  bool regular_ = false;            // what write() writes to is a regular file
  std::size_t expected_bytes_ = 0;  // expect_bytes(), until the first write reserves them
  bool had_target_ = false;         // the target existed as a regular file at open()
  struct stat target_at_open_ {};
};

/// Opt-in, for programs (the CLI), never called by the library itself: on SIGINT, SIGTERM and SIGHUP,
/// removes every live named temporary, then passes the signal on: to the handler installed before
/// (which is called with the same arguments), or, where that was the default action, by restoring
/// the default and re-raising, so the process still dies of the signal (a shell reports 128+sig).
/// A signal that was ignored stays ignored. Calling it again does nothing. Throws stridecopy::error
/// when sigaction fails.
void install_signal_cleanup();

/// Unlinks every live named temporary. Async-signal-safe (it only loads atomics and calls unlinkat),
/// for programs with signal handlers of their own. Writes in progress then fail at commit().
void remove_temporaries_on_signal() noexcept;

}  // namespace stridecopy::detail
