// host/io/output_file.cpp — output_file: symbolic links followed by hand, the choice between a temporary
// and a direct write, commit by rename, and the async-signal-safe registry of named temporaries.
#include "io/output_file.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>  // renameat2
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "io/signal_slot.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy::detail {

namespace {

// ---- the registry of live named temporaries ------------------------------------------------------

// The handler claims a live slot before it reads the name, so a name is never read while it is
// rewritten (io/signal_slot.hpp).

constexpr std::string_view temp_prefix = ".stridecopy-";
constexpr std::size_t temp_random_chars = 6;
constexpr std::size_t temp_name_size = temp_prefix.size() + temp_random_chars;

struct temp_slot {
  std::atomic<int> state{slot_free};
  int dir_fd = -1;
  char name[temp_name_size + 1] = {};
};

// More live temporaries than this still work; only the extra ones lose the cleanup on a signal.
constexpr std::size_t slot_count = 64;
temp_slot slots[slot_count];

int register_temporary(int dir_fd, const std::string& name) noexcept {
  for (std::size_t i = 0; i < slot_count; ++i) {
    int expected = slot_free;
    if (!slots[i].state.compare_exchange_strong(expected, slot_busy, std::memory_order_acquire)) continue;
    slots[i].dir_fd = dir_fd;
    std::memcpy(slots[i].name, name.c_str(), name.size() + 1);
    slots[i].state.store(slot_live, std::memory_order_release);
    return int(i);
  }
  return -1;
}

void unregister_temporary(int& slot) noexcept {
  if (slot < 0) return;
  // Busy means a handler on another thread is unlinking this very name right now: wait for it, so
  // that the directory descriptor is not closed (and reused) under it.
  for (;;) {
    int expected = slot_live;
    if (slots[slot].state.compare_exchange_weak(expected, slot_free, std::memory_order_acq_rel)) break;
  }
  slot = -1;
}

// The signals the cleanup handles; their handlers run with all three blocked.
constexpr std::array<int, 3> cleanup_signals{SIGINT, SIGTERM, SIGHUP};
std::atomic<bool> cleanup_installed{false};
struct sigaction previous_actions[cleanup_signals.size()];

/// Blocks the cleanup signals in this thread from construction to destruction, where the cleanup is
/// installed: a temporary created and then registered must not be left behind by a signal in between.
class signals_blocked {
 public:
  signals_blocked() {
    if (!cleanup_installed.load(std::memory_order_acquire)) return;
    sigset_t set;
    sigemptyset(&set);
    for (const int sig : cleanup_signals) sigaddset(&set, sig);
    active_ = ::pthread_sigmask(SIG_BLOCK, &set, &old_) == 0;
  }
  ~signals_blocked() {
    if (active_) ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  signals_blocked(const signals_blocked&) = delete;
  signals_blocked& operator=(const signals_blocked&) = delete;

 private:
  sigset_t old_{};
  bool active_ = false;
};

void on_cleanup_signal(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  remove_temporaries_on_signal();
  std::size_t i = 0;
  while (i < cleanup_signals.size() && cleanup_signals[i] != sig) ++i;
  if (i < cleanup_signals.size()) {
    const struct sigaction& prev = previous_actions[i];
    // sa_handler and sa_sigaction share storage: a null one is the default action either way.
    if (prev.sa_handler == SIG_DFL) {
      // The signal is blocked while this handler runs, so the re-raised one is delivered, with the
      // default action, as soon as it returns.
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      sigemptyset(&dfl.sa_mask);
      ::sigaction(sig, &dfl, nullptr);
      ::raise(sig);
    } else if (prev.sa_flags & SA_SIGINFO) {
      prev.sa_sigaction(sig, info, context);
    } else if (prev.sa_handler != SIG_IGN) {
      prev.sa_handler(sig);
    }
  }
  errno = saved_errno;
}

// ---- helpers ---------------------------------------------------------------------------------------

/// `s` in double quotes, anything unprintable escaped, so that every message stays on one line.
std::string quote_path(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += ch;
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "\"";
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

/// Closes `fd` unless it is -1, keeping errno (cleanup paths report the error that got them there).
void close_quietly(int& fd) noexcept {
  if (fd < 0) return;
  const int saved = errno;
  ::close(fd);
  errno = saved;
  fd = -1;
}

/// A descriptor closed at the end of its scope unless released.
class unique_fd {
 public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
  ~unique_fd() { close_quietly(fd_); }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  void reset(int fd) noexcept {
    close_quietly(fd_);
    fd_ = fd;
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

/// "dir/name" as {"dir", "name"}; a bare name lies in "."; "/name" in "/".
std::pair<std::string, std::string> split_path(const std::string& p) {
  const auto slash = p.rfind('/');
  if (slash == std::string::npos) return {".", p};
  return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

/// A name that can only be a directory ("dir/", ".", "..").
bool names_a_directory(const std::string& name) { return name.empty() || name == "." || name == ".."; }

bool on_procfs(int dir_fd) {
  struct statfs fs {};
  return ::fstatfs(dir_fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

/// A fresh ".stridecopy-XXXXXX"; getrandom where it answers, else the clock, pid and a counter
/// (uniqueness comes from O_EXCL / EEXIST retries either way, the randomness only avoids collisions).
std::string random_temp_name() {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[temp_random_chars];
  if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != ssize_t(sizeof bytes)) {
    static std::atomic<unsigned long> counter{0};
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long x = static_cast<unsigned long>(ts.tv_nsec) ^ (static_cast<unsigned long>(::getpid()) << 20) ^
                      (counter.fetch_add(1) * 0x9E3779B97F4A7C15ul);
    for (auto& b : bytes) {
      b = static_cast<unsigned char>(x);
      x = x * 6364136223846793005ul + 1442695040888963407ul;
      b ^= static_cast<unsigned char>(x >> 56);
    }
  }
  std::string name(temp_prefix);
  for (const unsigned char b : bytes) name += alphabet[b % (sizeof alphabet - 1)];
  return name;
}

// Named temporaries get a bounded number of names to try; with 62^6 names a collision is rare already.
constexpr int temp_name_attempts = 100;

}  // namespace

// ---- output_file -----------------------------------------------------------------------------------

output_file::output_file(const std::filesystem::path& path, output_options options) { open(path, options); }

output_file::~output_file() { abandon(); }

void output_file::fail(const std::string& what, int err) const {
  std::string msg = ".npy file " + quote_path(path_.native());
  if (target_ != path_) msg += " (symbolic link to " + quote_path(target_.native()) + ")";
  msg += ": " + what;
  if (err == 0) throw npy_error(msg);
  throw file_error(msg + ": " + errno_text(err), err, path_.native());
}

void output_file::abandon() noexcept {
  // Unlinked before it leaves the registry, so that a signal in between cannot leave it behind.
  if (!temp_name_.empty() && dir_fd_ >= 0) ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
  unregister_temporary(slot_);
  temp_name_.clear();
  close_quietly(fd_);
  close_quietly(dir_fd_);
  truncate_pending_ = false;
  regular_ = false;
  expected_bytes_ = 0;
  had_target_ = false;
}

void output_file::open(const std::filesystem::path& path, output_options options) {
  abandon();
  // A constructor that throws runs no destructor: nothing may stay open.
  try {
    open_target(path, options);
  } catch (...) {
    abandon();
    throw;
  }
}

void output_file::open_target(const std::filesystem::path& path, const output_options& options) {
  path_ = path;
  target_ = path;
  const std::string& given = path.native();
  if (given.empty()) fail("cannot open", ENOENT);
  // The system calls would end the name at its first NUL and write another file.
  if (given.find('\0') != std::string::npos)
    throw invalid_argument(".npy file " + quote_path(given) + ": embedded null byte in the path");

  auto [dir, name] = split_path(given);
  if (names_a_directory(name)) fail("cannot open", EISDIR);
  unique_fd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) {
    const int err = errno;
    fail("cannot open its directory " + quote_path(dir), err);
  }

  // Symbolic links are followed here rather than by the kernel so that the temporary is made beside
  // the final target and renamed over it, leaving the links in place, dangling ones included.
  // Links inside /proc (/dev/stdout -> /proc/self/fd/1) are not paths at all: what lies there is
  // opened through the kernel and written directly.
  struct stat st {};
  bool exists = false;
  bool through_proc = false;
  // Linux's own limit for one path walk (MAXSYMLINKS).
  constexpr int max_links = 40;
  for (int links = 0;; ++links) {
    if (on_procfs(dir_fd.get())) {
      through_proc = true;
      break;
    }
    if (::fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      const int err = errno;
      if (err != ENOENT) fail("cannot stat " + quote_path(target_.native()), err);
      break;
    }
    if (!S_ISLNK(st.st_mode)) {
      exists = true;
      break;
    }
    if (links == max_links) fail("cannot follow its symbolic links", ELOOP);
    std::string link(256, '\0');
    for (;;) {
      const ssize_t n = ::readlinkat(dir_fd.get(), name.c_str(), link.data(), link.size());
      if (n < 0) {
        const int err = errno;
        fail("cannot read symbolic link " + quote_path(target_.native()), err);
      }
      if (std::size_t(n) < link.size()) {
        link.resize(std::size_t(n));
        break;
      }
      link.resize(link.size() * 2);
    }
    if (link.empty()) fail("symbolic link " + quote_path(target_.native()) + " is empty", ENOENT);
    const bool absolute = link.front() == '/';
    const std::string shown_dir = split_path(target_.native()).first;
    target_ = absolute || target_.native().find('/') == std::string::npos ? link : shown_dir + "/" + link;
    auto [link_dir, link_name] = split_path(link);
    if (names_a_directory(link_name)) fail("cannot open", EISDIR);
    const int next = ::openat(absolute ? AT_FDCWD : dir_fd.get(), link_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (next < 0) {
      const int err = errno;
      fail("cannot open the directory of " + quote_path(target_.native()), err);
    }
    dir_fd.reset(next);
    name = std::move(link_name);
  }
  dir_fd_ = dir_fd.release();
  name_ = std::move(name);

  if (through_proc) {
    open_direct(O_WRONLY | O_NOCTTY | O_CLOEXEC, "cannot open for writing");
    return;
  }
  if (!exists) {
    // A new file gets np.save's mode, 0666 less the umask (and the directory's default ACL).
    if (const int err = make_temporary(0666, options)) fail("cannot create a temporary file in its directory", err);
    return;
  }
  if (S_ISDIR(st.st_mode)) fail("cannot open", EISDIR);
  if (!S_ISREG(st.st_mode)) {
    // FIFOs and devices are written, never replaced: renaming over /dev/null would replace /dev/null.
    open_direct(O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW, "cannot open for writing");
    return;
  }

  // An existing regular file. A read-only one is refused, as np.save refuses it, although the
  // directory would allow replacing it.
  if (::faccessat(dir_fd_, name_.c_str(), W_OK, AT_EACCESS) != 0) {
    const int err = errno;
    fail("cannot open for writing", err);
  }
  had_target_ = true;
  target_at_open_ = st;
  const int direct_flags = O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW;
  // Several hard links: only a write into the inode itself reaches every name.
  if (st.st_nlink > 1) {
    open_direct(direct_flags, "cannot open for writing");
    return;
  }
  // In a sticky directory (/tmp) only the owner of the file or of the directory may replace it: the
  // rename at commit would fail after all the work, so the file is written in place.
  struct stat dir_st {};
  const uid_t euid = ::geteuid();
  if (::fstat(dir_fd_, &dir_st) == 0 && (dir_st.st_mode & S_ISVTX) && euid != 0 && st.st_uid != euid &&
      dir_st.st_uid != euid) {
    open_direct(direct_flags, "cannot open for writing");
    return;
  }
  // Owner-only until commit() copies the target's mode: the temporary holds the new content of a
  // file that may be private.
  const int err = make_temporary(0600, options);
  if (err == 0) return;
  if (err != EACCES && err != EPERM) fail("cannot create a temporary file in its directory", err);
  // The directory is not writable, the file is: write the file itself.
  open_direct(direct_flags, "cannot create a temporary file in its directory (" + errno_text(err) +
                                ") nor open the file itself for writing");
}

void output_file::open_direct(int flags, const std::string& what) {
  // Opening a FIFO waits for a reader, and a signal may interrupt that wait.
  int fd;
  do {
    fd = ::openat(dir_fd_, name_.c_str(), flags);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    fail(what, err);
  }
  fd_ = fd;
  method_ = output_method::direct;
  struct stat st {};
  // Regular files are truncated lazily, so that opening alone changes nothing.
  regular_ = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  truncate_pending_ = regular_;
}

int output_file::make_temporary(mode_t mode, const output_options& options) {
  // An O_TMPFILE file can only be given a name by linkat through /proc/self/fd (or AT_EMPTY_PATH,
  // which needs CAP_DAC_READ_SEARCH): without either the data could never be put in place.
  const bool can_link = ::faccessat(AT_FDCWD, "/proc/self/fd", X_OK, 0) == 0 || ::geteuid() == 0;
  if (options.allow_unnamed_temporary && can_link) {
    const int fd = ::openat(dir_fd_, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (fd >= 0) {
      fd_ = fd;
      method_ = output_method::unnamed_temporary;
      regular_ = true;
      return 0;
    }
    // Refused (EOPNOTSUPP, EISDIR on old kernels, EINVAL ...): a named one gets its own error below.
  }
  int err = EEXIST;
  for (int attempt = 0; attempt < temp_name_attempts && err == EEXIST; ++attempt) {
    std::string name = random_temp_name();
    signals_blocked blocked;
    const int fd =
        ::openat(dir_fd_, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
      err = errno;
      continue;
    }
    fd_ = fd;
    temp_name_ = std::move(name);
    slot_ = register_temporary(dir_fd_, temp_name_);
    method_ = output_method::named_temporary;
    regular_ = true;
    return 0;
  }
  return err;
}

void output_file::prepare_first_write() {
  if (fd_ < 0) fail("write on a file that is not open", 0);
  const bool reserve =
      regular_ && expected_bytes_ > 0 && expected_bytes_ <= std::size_t(std::numeric_limits<off_t>::max());
  // Any failure but ENOSPC (EOPNOTSUPP: the filesystem cannot) leaves plain writes to do the work.
  const auto reserve_or_fail = [&] {
    if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, 0, off_t(expected_bytes_)) == 0 || errno != ENOSPC) return;
    // The blocks the failed request did take past the end are given back: ext4 keeps them (the disk
    // stays full) until a truncation, to the same size included.
    struct stat st {};
    if (::fstat(fd_, &st) == 0) (void)::ftruncate(fd_, st.st_size);
    fail("not enough free space for " + std::to_string(expected_bytes_) + " bytes", ENOSPC);
  };
  if (truncate_pending_) {
    // Written in place: the space is asked for while the old content is still whole, so that a full
    // disk fails here and loses nothing.
    if (reserve) reserve_or_fail();
    if (::ftruncate(fd_, 0) != 0) {
      const int err = errno;
      fail("truncating failed", err);
    }
    truncate_pending_ = false;
  }
  if (reserve) {
    reserve_or_fail();  // in place: again, for what the truncation gave back
    expected_bytes_ = 0;
  }
}

void output_file::write(const void* data, std::size_t bytes) {
  const iovec one{const_cast<void*>(data), bytes};
  write_runs(&one, 1);
}

void output_file::write_runs(const iovec* runs, std::size_t count) {
  prepare_first_write();
  // Linux moves at most about 2 GiB per call and takes at most IOV_MAX runs; a call may also stop
  // early (a signal, a full disk): the rest is sent again from where it stopped.
  constexpr std::size_t max_call_bytes = std::size_t(1) << 30;
  constexpr std::size_t max_call_runs = 1024;  // IOV_MAX on Linux
  iovec batch[max_call_runs];
  std::size_t next = 0, done_in_next = 0;  // the first run not sent in full, and how much of it is
  while (next < count) {
    std::size_t n = 0, total = 0;
    for (std::size_t i = next; i < count && n < max_call_runs && total < max_call_bytes; ++i) {
      const std::size_t skip = i == next ? done_in_next : 0;
      const std::size_t len = std::min(runs[i].iov_len - skip, max_call_bytes - total);
      if (len == 0) continue;
      batch[n++] = {static_cast<char*>(runs[i].iov_base) + skip, len};
      total += len;
    }
    if (total == 0) break;  // only empty runs were left
    const ssize_t w = ::writev(fd_, batch, int(n));
    if (w < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      fail("write failed", err);
    }
    if (w == 0) fail("write failed", EIO);  // no progress and no error: do not spin
    // Step past what was written: whole runs, then part of one.
    std::size_t left = std::size_t(w);
    while (left > 0) {
      const std::size_t rest = runs[next].iov_len - done_in_next;
      if (left < rest) {
        done_in_next += left;
        left = 0;
      } else {
        left -= rest;
        ++next;
        done_in_next = 0;
      }
    }
  }
}

bool output_file::truncates_mapping_of(const void* begin, std::size_t bytes) const {
  if (fd_ < 0 || method_ != output_method::direct || !regular_ || bytes == 0) return false;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return true;
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return true;
  const auto lo = reinterpret_cast<std::uintptr_t>(begin);
  const std::uintptr_t hi = bytes > UINTPTR_MAX - lo ? UINTPTR_MAX : lo + bytes;
  bool found = false;
  char* line = nullptr;
  std::size_t capacity = 0;
  // "start-end perms offset major:minor inode [path]". Only the inode is compared: a device number
  // seen through stat and through the maps can differ (btrfs subvolumes); a false match costs a copy.
  while (!found && ::getline(&line, &capacity, maps) > 0) {
    unsigned long start = 0, end = 0, inode = 0;
    if (std::sscanf(line, "%lx-%lx %*s %*x %*x:%*x %lu", &start, &end, &inode) == 3)
      found = inode == static_cast<unsigned long>(st.st_ino) && start < hi && lo < end;
  }
  std::free(line);
  std::fclose(maps);
  return found;
}

void output_file::copy_metadata_to_temporary() {
  struct stat st {};
  const bool now = ::fstatat(dir_fd_, name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
  if (!now) {
    if (!had_target_) return;  // a new file keeps the mode it was created with
    st = target_at_open_;
  }
  // Owner first: a change of owner clears set-id bits. Where the owner may not be kept (not root,
  // not the owner), the group still may be (a group the writer belongs to); else the writer's stay.
  if (::fchown(fd_, st.st_uid, st.st_gid) != 0) {
    const int err = errno;
    if (err != EPERM) fail("cannot set the owner of the temporary file", err);
    if (::fchown(fd_, uid_t(-1), st.st_gid) != 0 && errno != EPERM) {
      const int err2 = errno;
      fail("cannot set the group of the temporary file", err2);
    }
  }
  // Set-user-ID and set-group-ID are not carried over: the kernel clears them too when an
  // unprivileged process writes a file, and new content should not inherit privileges.
  if (::fchmod(fd_, st.st_mode & 07777 & ~mode_t(S_ISUID | S_ISGID)) != 0) {
    const int err = errno;
    fail("cannot set the mode of the temporary file", err);
  }
}

void output_file::link_unnamed_temporary() {
  const std::string proc_path = "/proc/self/fd/" + std::to_string(fd_);
  int err = EEXIST;
  for (int attempt = 0; attempt < temp_name_attempts && err == EEXIST; ++attempt) {
    std::string name = random_temp_name();
    signals_blocked blocked;
    int rc = ::linkat(AT_FDCWD, proc_path.c_str(), dir_fd_, name.c_str(), AT_SYMLINK_FOLLOW);
    if (rc != 0 && errno != EEXIST) rc = ::linkat(fd_, "", dir_fd_, name.c_str(), AT_EMPTY_PATH);
    if (rc != 0) {
      err = errno;
      continue;
    }
    temp_name_ = std::move(name);
    slot_ = register_temporary(dir_fd_, temp_name_);
    return;
  }
  fail("cannot link the temporary file into its directory", err);
}

void output_file::commit() {
  if (fd_ < 0) fail("commit of a file that is not open", 0);
  try {
    if (method_ == output_method::direct) {
      if (truncate_pending_ && ::ftruncate(fd_, 0) != 0) {
        const int err = errno;
        fail("truncating failed", err);
      }
      truncate_pending_ = false;
    } else {
      copy_metadata_to_temporary();
      // An unnamed temporary gets its name only now, so it cannot replace the target by itself
      // (linkat does not overwrite); from here to the rename it is as a named one.
      if (method_ == output_method::unnamed_temporary) link_unnamed_temporary();
    }
    // close() reports errors of writes some filesystems (NFS) only send now.
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) {
      const int err = errno;
      fail("closing failed", err);
    }
    if (method_ != output_method::direct) {
      // Swapping the two names (RENAME_EXCHANGE) is as atomic as renaming over the target, and
      // cheaper: ext4 (auto_da_alloc) starts writing back a file renamed over an existing one, tens
      // of milliseconds for tens of megabytes, but not one exchanged with it. The old content then
      // lies under the temporary's name, which is removed (a signal in between removes it as well).
      bool exchanged = ::renameat2(dir_fd_, temp_name_.c_str(), dir_fd_, name_.c_str(), RENAME_EXCHANGE) == 0;
      struct stat replaced {};
      if (exchanged && ::fstatat(dir_fd_, temp_name_.c_str(), &replaced, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISDIR(replaced.st_mode)) {
        // A directory appeared at OUT since open(): a rename would refuse it, so swap back and fail.
        (void)::renameat2(dir_fd_, temp_name_.c_str(), dir_fd_, name_.c_str(), RENAME_EXCHANGE);
        fail("cannot rename the temporary file " + quote_path(temp_name_) + " into place", EISDIR);
      }
      if (exchanged) {
        (void)::unlinkat(dir_fd_, temp_name_.c_str(), 0);
      } else if (::renameat(dir_fd_, temp_name_.c_str(), dir_fd_, name_.c_str()) != 0) {
        // No target to exchange with (a new file), or a filesystem without exchanges: a rename.
        const int err = errno;
        fail("cannot rename the temporary file " + quote_path(temp_name_) + " into place", err);
      }
      unregister_temporary(slot_);
      temp_name_.clear();
    }
  } catch (...) {
    abandon();
    throw;
  }
  abandon();
}

// ---- signal cleanup --------------------------------------------------------------------------------

void remove_temporaries_on_signal() noexcept {
  const int saved_errno = errno;
  for (auto& slot : slots) {
    int expected = slot_live;
    if (!slot.state.compare_exchange_strong(expected, slot_busy, std::memory_order_acquire)) continue;
    ::unlinkat(slot.dir_fd, slot.name, 0);
    slot.state.store(slot_live, std::memory_order_release);
  }
  errno = saved_errno;
}

void install_signal_cleanup() {
  static std::mutex m;
  const std::lock_guard lock(m);
  if (cleanup_installed.load()) return;
  for (std::size_t i = 0; i < cleanup_signals.size(); ++i) {
    const int sig = cleanup_signals[i];
    struct sigaction prev {};
    if (::sigaction(sig, nullptr, &prev) != 0) {
      const int err = errno;
      throw error("cannot read the action of signal " + std::to_string(sig) + ": " + errno_text(err));
    }
    // nohup and background jobs ignore some of these: they stay ignored.
    if (prev.sa_handler == SIG_IGN) continue;
    previous_actions[i] = prev;
    struct sigaction act {};
    act.sa_sigaction = on_cleanup_signal;
    act.sa_flags = SA_SIGINFO | SA_RESTART | (prev.sa_flags & SA_ONSTACK);
    sigemptyset(&act.sa_mask);
    for (const int s : cleanup_signals) sigaddset(&act.sa_mask, s);
    if (::sigaction(sig, &act, nullptr) != 0) {
      const int err = errno;
      throw error("cannot install the cleanup handler for signal " + std::to_string(sig) + ": " + errno_text(err));
    }
  }
  cleanup_installed.store(true, std::memory_order_release);
}

}  // namespace stridecopy::detail
