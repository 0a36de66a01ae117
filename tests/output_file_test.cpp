// tests/output_file_test.cpp — output_file against real files in a fresh directory: new and replaced files,
// symbolic links, kept mode and owner, hard links, FIFOs, devices, /proc links, long names, permissions, signals.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "io/output_file.hpp"
#include "stridecopy/error.hpp"

namespace sc = stridecopy;
namespace fs = std::filesystem;
using sc::detail::output_file;
using sc::detail::output_method;
using sc::detail::output_options;

namespace {

// ---- helpers -------------------------------------------------------------------------------------

constexpr output_options named_only{.allow_unnamed_temporary = false};
// The unprivileged identity root's tests switch to in a child ("nobody" on Debian), and a second one.
constexpr uid_t other_uid = 65534;
constexpr gid_t other_gid = 65534;
constexpr uid_t third_uid = 65533;
constexpr gid_t third_gid = 65533;

std::string random_string(std::size_t n) {
  static std::mt19937_64 gen(0x0F11E5EEDull);
  std::string s(n, '\0');
  for (auto& c : s) c = char(gen() & 0xff);
  return s;
}

/// A fresh directory under the system temp dir (mode 0755, so an unprivileged child can reach it),
/// removed with everything in it at the end of the test.
class temp_dir {
 public:
  temp_dir() {
    std::string templ = (fs::temp_directory_path() / "stridecopy_output_file_test_XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
    fs::permissions(path_, fs::perms(0755));
  }
  ~temp_dir() {
    std::error_code ec;
    // Subdirectories a test made unwritable must be writable again to be removed.
    for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_directory(ec) && !it->is_symlink(ec))
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  [[nodiscard]] const fs::path& path() const { return path_; }
  [[nodiscard]] fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

/// Names of everything in `dir`, sorted.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// The names in `dir` that are temporaries of output_file.
std::vector<std::string> temporaries(const fs::path& dir) {
  std::vector<std::string> t;
  for (const auto& n : entries(dir))
    if (n.rfind(".stridecopy-", 0) == 0) t.push_back(n);
  return t;
}

void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  if (!f.good()) throw std::runtime_error("cannot write " + p.string());
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct stat lstat_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) throw std::runtime_error("lstat " + p.string() + ": " + std::strerror(errno));
  return st;
}

mode_t current_umask() {
  const mode_t m = ::umask(022);
  ::umask(m);
  return m;
}

/// Writes `data` to `path` in pieces and commits; returns how it went there.
output_method save(const fs::path& path, std::string_view data, output_options options = {}) {
  output_file f(path, options);
  const output_method how = f.method();
  const std::size_t piece = std::max<std::size_t>(1, data.size() / 3 + 1);
  for (std::size_t at = 0; at < data.size(); at += piece) f.write(data.data() + at, std::min(piece, data.size() - at));
  f.commit();
  return how;
}

/// The message of the npy_error `fn` throws, or a text that fails every check of it.
std::string npy_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const sc::npy_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception: ") + e.what();
  }
  return "no exception";
}

bool unnamed_supported(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

void write_all_fd(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(std::size_t(n));
  }
}

std::string read_all_fd(int fd) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, std::size_t(n));
  }
}

struct identity {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
};

struct child_result {
  bool skipped = false;
  int status = 0;
  std::string output;  // empty when the child's checks passed
};

/// Runs `fn` in a forked child, as `who` where given (only root can switch); fn returns "" when its
/// checks pass, else what failed. An exception counts as a failure with its message.
child_result run_in_child(const std::function<std::string()>& fn, std::optional<identity> who = std::nullopt) {
  int p[2];
  if (::pipe(p) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(p[0]);
    if (who) {
      if (::setgroups(who->groups.size(), who->groups.data()) != 0 || ::setgid(who->gid) != 0 ||
          ::setuid(who->uid) != 0) {
        write_all_fd(p[1],
                     std::string("cannot switch to uid ") + std::to_string(who->uid) + ": " + std::strerror(errno));
        ::_exit(77);
      }
    }
    std::string r;
    try {
      r = fn();
    } catch (const std::exception& e) {
      r = std::string("exception: ") + e.what();
    }
    write_all_fd(p[1], r);
    ::_exit(r.empty() ? 0 : r.rfind("skip: ", 0) == 0 ? 77 : 1);
  }
  ::close(p[1]);
  child_result res;
  res.output = read_all_fd(p[0]);
  ::close(p[0]);
  ::waitpid(pid, &res.status, 0);
  res.skipped = WIFEXITED(res.status) && WEXITSTATUS(res.status) == 77;
  return res;
}

/// In a child of run_in_child: mounts a tmpfs of `bytes` bytes over `dir` in a mount namespace of
/// the child's own (a user namespace first where the child is not privileged). Returns "" or, where
/// this machine allows neither, a "skip: " reason.
std::string mount_small_tmpfs(const fs::path& dir, std::size_t bytes) {
  const auto write_proc = [](const char* file, const std::string& text) {
    const int fd = ::open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ::close(fd);
    return ok;
  };
  if (::unshare(CLONE_NEWNS) != 0) {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      return std::string("skip: no mount namespace: ") + std::strerror(errno);
    if (!write_proc("/proc/self/setgroups", "deny") ||
        !write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
      return "skip: cannot map this user into a user namespace";
  }
  // Private, so that the mount stays in this namespace whatever the parent's propagation.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return std::string("skip: cannot make the mounts private: ") + std::strerror(errno);
  const std::string options = "size=" + std::to_string(bytes);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0)
    return std::string("skip: cannot mount a tmpfs: ") + std::strerror(errno);
  return "";
}

std::uint64_t free_bytes(const fs::path& dir) {
  struct statvfs sv {};
  return ::statvfs(dir.c_str(), &sv) == 0 ? std::uint64_t(sv.f_bfree) * sv.f_frsize : 0;
}

#define EXPECT_CHILD_PASSED(r)                                                        \
  do {                                                                                \
    if ((r).skipped) GTEST_SKIP() << (r).output;                                      \
    EXPECT_TRUE(WIFEXITED((r).status) && WEXITSTATUS((r).status) == 0) << (r).output; \
  } while (0)

bool is_root() { return ::geteuid() == 0; }

std::size_t open_descriptors() {
  return std::size_t(std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

// ---- new and replaced files ---------------------------------------------------------------------------

class OutputFileBoth : public ::testing::TestWithParam<bool> {
 protected:
  [[nodiscard]] output_options options() const { return GetParam() ? output_options{} : named_only; }
  [[nodiscard]] output_method expected(const fs::path& dir) const {
    return GetParam() && unnamed_supported(dir) ? output_method::unnamed_temporary : output_method::named_temporary;
  }
};

INSTANTIATE_TEST_SUITE_P(Temporaries, OutputFileBoth, ::testing::Values(true, false),
                         [](const auto& param_info) { return param_info.param ? "unnamed" : "named"; });

TEST_P(OutputFileBoth, NewFileAppearsOnlyAtCommitWithTheDefaultMode) {
  temp_dir dir;
  const fs::path out = dir / "out.npy";
  const std::string data = random_string(100000);
  output_file f(out, options());
  EXPECT_EQ(f.method(), expected(dir.path()));
  f.write(data.data(), data.size());
  // Before commit OUT does not exist; a named temporary is the only entry.
  EXPECT_FALSE(fs::exists(fs::symlink_status(out)));
  const auto temps = temporaries(dir.path());
  if (f.method() == output_method::named_temporary) {
    ASSERT_EQ(temps.size(), 1u);
    EXPECT_EQ(temps[0].size(), std::string(".stridecopy-XXXXXX").size()) << temps[0];
    EXPECT_EQ(lstat_of(dir / temps[0]).st_mode & 07777, 0666 & ~current_umask());
  } else {
    EXPECT_TRUE(temps.empty());
  }
  f.commit();
  EXPECT_FALSE(f.is_open());
  EXPECT_EQ(read_file(out), data);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"out.npy"});
  EXPECT_EQ(lstat_of(out).st_mode & 07777, 0666 & ~current_umask());
}

TEST_P(OutputFileBoth, ExistingFileIsReplacedAtCommitOnly) {
  temp_dir dir;
  const fs::path out = dir / "out.npy";
  write_file(out, "old contents");
  const ino_t old_ino = lstat_of(out).st_ino;
  const std::string data = random_string(1 << 20);
  output_file f(out, options());
  EXPECT_EQ(f.method(), expected(dir.path()));
  f.write(data.data(), data.size());
  EXPECT_EQ(read_file(out), "old contents");
  if (f.method() == output_method::named_temporary) {
    const auto temps = temporaries(dir.path());
    ASSERT_EQ(temps.size(), 1u);
    // Private while it is written: the old file may be private too.
    EXPECT_EQ(lstat_of(dir / temps[0]).st_mode & 07777, 0600u);
  }
  f.commit();
  EXPECT_EQ(read_file(out), data);
  EXPECT_NE(lstat_of(out).st_ino, old_ino);  // replaced, not rewritten
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"out.npy"});
}

TEST_P(OutputFileBoth, EmptyOutputIsAnEmptyFile) {
  temp_dir dir;
  write_file(dir / "out.npy", "old contents");
  output_file f(dir / "out.npy", options());
  f.commit();
  EXPECT_EQ(read_file(dir / "out.npy"), "");
}

TEST_P(OutputFileBoth, ModeIsKept) {
  temp_dir dir;
  for (const mode_t mode : {0600u, 0640u, 0604u, 0755u, 0444u, 01644u}) {
    const fs::path out = dir / "out.npy";
    write_file(out, "old");
    ASSERT_EQ(::chmod(out.c_str(), mode), 0);
    if (is_root() || (mode & 0200)) {  // else refused, see ReadOnlyFileIsRefused
      save(out, "new contents", options());
      EXPECT_EQ(read_file(out), "new contents");
      EXPECT_EQ(lstat_of(out).st_mode & 07777, mode) << std::oct << mode;
    }
    fs::remove(out);
  }
}

TEST_P(OutputFileBoth, SetIdBitsAreNotCarriedOver) {
  temp_dir dir;
  const fs::path out = dir / "out.npy";
  write_file(out, "old");
  ASSERT_EQ(::chmod(out.c_str(), 06755), 0);
  save(out, "new", options());
  EXPECT_EQ(lstat_of(out).st_mode & 07777, 0755u);
}

TEST_P(OutputFileBoth, OwnerAndGroupAreKept) {
  if (!is_root()) GTEST_SKIP() << "only root can make a file owned by someone else";
  temp_dir dir;
  const fs::path out = dir / "out.npy";
  write_file(out, "old");
  ASSERT_EQ(::chown(out.c_str(), 4321, 8765), 0);
  ASSERT_EQ(::chmod(out.c_str(), 0640), 0);
  save(out, "new contents", options());
  const struct stat st = lstat_of(out);
  EXPECT_EQ(st.st_uid, 4321u);
  EXPECT_EQ(st.st_gid, 8765u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(read_file(out), "new contents");
}

TEST_P(OutputFileBoth, ForeignOwnerIsLostButGroupAndModeAreKept) {
  // Not root, not the owner: fchown to the old owner is refused; the group (one the writer is in)
  // and the mode are still set, the owner becomes the writer.
  if (!is_root()) GTEST_SKIP() << "needs root to set up a file of another owner and to switch uid";
  temp_dir dir;
  fs::permissions(dir.path(), fs::perms(0777));
  const fs::path out = dir / "out.npy";
  write_file(out, "old");
  ASSERT_EQ(::chown(out.c_str(), 0, third_gid), 0);
  ASSERT_EQ(::chmod(out.c_str(), 0664), 0);
  const output_options opts = options();
  const auto r = run_in_child(
      [&]() -> std::string {
        save(out, "new contents", opts);
        return "";
      },
      identity{other_uid, other_gid, {third_gid}});
  EXPECT_CHILD_PASSED(r);
  const struct stat st = lstat_of(out);
  EXPECT_EQ(st.st_uid, other_uid);
  EXPECT_EQ(st.st_gid, third_gid);
  EXPECT_EQ(st.st_mode & 07777, 0664u);
  EXPECT_EQ(read_file(out), "new contents");
}

TEST_P(OutputFileBoth, AbandonedBeforeCommitLeavesEverythingAsItWas) {
  temp_dir dir;
  write_file(dir / "keep.npy", "old contents");
  const ino_t ino = lstat_of(dir / "keep.npy").st_ino;
  const std::string data = random_string(300000);
  {
    output_file f(dir / "keep.npy", options());
    f.write(data.data(), data.size());
  }
  {
    output_file f(dir / "new.npy", options());
    f.write(data.data(), data.size());
  }
  {
    output_file f(dir / "reopened.npy", options());
    f.write(data.data(), data.size());
    f.open(dir / "other.npy", options());  // the first one is abandoned
  }
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"keep.npy"});
  EXPECT_EQ(read_file(dir / "keep.npy"), "old contents");
  EXPECT_EQ(lstat_of(dir / "keep.npy").st_ino, ino);
}

TEST_P(OutputFileBoth, WriteFailureThenAbandonLeavesEverythingAsItWas) {
  // A file size limit makes write() fail with EFBIG part way (SIGXFSZ ignored).
  temp_dir dir;
  const fs::path out = dir / "big.npy";
  write_file(out, "old contents");
  const output_options opts = options();
  const auto r = run_in_child([&]() -> std::string {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit small{4096, 4096};
    if (::setrlimit(RLIMIT_FSIZE, &small) != 0) return "setrlimit failed";
    const std::string data = random_string(1 << 20);
    const std::string msg = npy_error_of([&] {
      output_file f(out, opts);
      f.write(data.data(), data.size());
      f.commit();
    });
    if (msg.find("\"" + out.string() + "\"") == std::string::npos) return "path not named: " + msg;
    if (msg.find("write failed: File too large") == std::string::npos) return "wrong message: " + msg;
    return "";
  });
  EXPECT_CHILD_PASSED(r);
  EXPECT_EQ(read_file(out), "old contents");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"big.npy"});
}

TEST_P(OutputFileBoth, FailedRenameRemovesTheTemporary) {
  // OUT turns into a non-empty directory between open and commit: the rename fails, nothing is left.
  temp_dir dir;
  const fs::path out = dir / "out.npy";
  output_file f(out, options());
  f.write("data", 4);
  fs::create_directory(out);
  write_file(out / "inside", "x");
  const std::string msg = npy_error_of([&] { f.commit(); });
  EXPECT_NE(msg.find("cannot rename the temporary file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"" + out.string() + "\""), std::string::npos) << msg;
  EXPECT_FALSE(f.is_open());
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"out.npy"});
  EXPECT_EQ(entries(out), std::vector<std::string>{"inside"});
}

TEST_P(OutputFileBoth, LongBasenamesFit) {
  // The temporary's name is short and fixed, so any name OUT can have works, the longest included.
  temp_dir dir;
  for (const std::size_t len : {251u, 255u}) {
    const std::string name = std::string(len - 4, 'n') + ".npy";
    const fs::path out = dir / name;
    const std::string data = random_string(5000);
    save(out, data, options());
    EXPECT_EQ(read_file(out), data) << len;
    save(out, "second", options());  // over an existing file of that name
    EXPECT_EQ(read_file(out), "second") << len;
    EXPECT_EQ(entries(dir.path()), std::vector<std::string>{name});
    fs::remove(out);
  }
  // One past the limit is OUT's own error, named as such.
  const std::string msg = npy_error_of([&] { save(dir / std::string(256, 'n'), "x", options()); });
  EXPECT_NE(msg.find("File name too long"), std::string::npos) << msg;
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST_P(OutputFileBoth, ManyAtOnce) {
  // More live temporaries than the signal registry holds still work.
  temp_dir dir;
  std::vector<std::unique_ptr<output_file>> files;
  for (int i = 0; i < 100; ++i) {
    std::string name = "f";  // appended, not "f" + ...: a false GCC 12 -Wrestrict warning
    name += std::to_string(i);
    files.push_back(std::make_unique<output_file>(dir / name, options()));
    files.back()->write(&i, sizeof i);
  }
  for (auto& f : files) f->commit();
  EXPECT_EQ(entries(dir.path()).size(), 100u);
  EXPECT_TRUE(temporaries(dir.path()).empty());
  int v = 0;
  const std::string s = read_file(dir / "f42");
  ASSERT_EQ(s.size(), sizeof v);
  std::memcpy(&v, s.data(), sizeof v);
  EXPECT_EQ(v, 42);
}

// ---- symbolic links ----------------------------------------------------------------------------------

TEST_P(OutputFileBoth, RelativeSymlinkIsFollowedAndStays) {
  temp_dir dir;
  fs::create_directory(dir / "data");
  write_file(dir / "data" / "real.npy", "old");
  ASSERT_EQ(::chmod((dir / "data" / "real.npy").c_str(), 0600), 0);
  fs::create_symlink("data/real.npy", dir / "link.npy");
  const std::string data = random_string(70000);
  output_file f(dir / "link.npy", options());
  EXPECT_EQ(f.target(), dir / "data" / "real.npy");
  f.write(data.data(), data.size());
  if (f.method() == output_method::named_temporary) {
    // Beside the final target, so that a rename can put it there.
    EXPECT_EQ(temporaries(dir / "data").size(), 1u);
    EXPECT_TRUE(temporaries(dir.path()).empty());
  }
  f.commit();
  EXPECT_TRUE(fs::is_symlink(dir / "link.npy"));
  EXPECT_EQ(fs::read_symlink(dir / "link.npy"), "data/real.npy");
  EXPECT_EQ(read_file(dir / "data" / "real.npy"), data);
  EXPECT_EQ(lstat_of(dir / "data" / "real.npy").st_mode & 07777, 0600u);
  EXPECT_EQ(entries(dir.path()), (std::vector<std::string>{"data", "link.npy"}));
  EXPECT_EQ(entries(dir / "data"), std::vector<std::string>{"real.npy"});
}

TEST_P(OutputFileBoth, RelativeSymlinkWithDotDotIsResolvedFromTheLinksDirectory) {
  temp_dir dir;
  fs::create_directories(dir / "a" / "b");
  fs::create_symlink("../target.npy", dir / "a" / "b" / "link.npy");
  save(dir / "a" / "b" / "link.npy", "via dot-dot", options());
  EXPECT_EQ(read_file(dir / "a" / "target.npy"), "via dot-dot");
  EXPECT_TRUE(fs::is_symlink(dir / "a" / "b" / "link.npy"));
}

TEST_P(OutputFileBoth, AbsoluteSymlinkIsFollowedAndStays) {
  temp_dir dir;
  temp_dir other;
  write_file(other / "real.npy", "old");
  fs::create_symlink(other / "real.npy", dir / "link.npy");
  output_file f(dir / "link.npy", options());
  EXPECT_EQ(f.target(), other / "real.npy");
  f.write("new", 3);
  f.commit();
  EXPECT_EQ(fs::read_symlink(dir / "link.npy"), other / "real.npy");
  EXPECT_EQ(read_file(other / "real.npy"), "new");
  EXPECT_EQ(entries(other.path()), std::vector<std::string>{"real.npy"});
}

TEST_P(OutputFileBoth, SymlinkChainIsFollowedToTheEnd) {
  // link1 -> (relative) sub/link2 -> (absolute) other/link3 -> (relative) real.npy
  temp_dir dir;
  temp_dir other;
  fs::create_directory(dir / "sub");
  write_file(other / "real.npy", "old");
  fs::create_symlink("real.npy", other / "link3");
  fs::create_symlink(other / "link3", dir / "sub" / "link2");
  fs::create_symlink("sub/link2", dir / "link1");
  output_file f(dir / "link1", options());
  EXPECT_EQ(f.target(), other / "real.npy");
  f.write("chained", 7);
  f.commit();
  EXPECT_EQ(read_file(other / "real.npy"), "chained");
  EXPECT_TRUE(fs::is_symlink(dir / "link1"));
  EXPECT_TRUE(fs::is_symlink(dir / "sub" / "link2"));
  EXPECT_TRUE(fs::is_symlink(other / "link3"));
  EXPECT_EQ(entries(other.path()), (std::vector<std::string>{"link3", "real.npy"}));
}

TEST_P(OutputFileBoth, DanglingSymlinkCreatesItsTarget) {
  temp_dir dir;
  fs::create_directory(dir / "data");
  fs::create_symlink("data/missing.npy", dir / "rel.npy");
  fs::create_symlink(dir / "data" / "abs_missing.npy", dir / "abs.npy");
  fs::create_symlink("rel.npy", dir / "chain.npy");  // chain.npy -> rel.npy -> data/missing.npy
  save(dir / "chain.npy", "through a chain", options());
  save(dir / "abs.npy", "absolute", options());
  EXPECT_EQ(read_file(dir / "data" / "missing.npy"), "through a chain");
  EXPECT_EQ(read_file(dir / "data" / "abs_missing.npy"), "absolute");
  EXPECT_EQ(lstat_of(dir / "data" / "missing.npy").st_mode & 07777, 0666 & ~current_umask());
  for (const char* link : {"rel.npy", "abs.npy", "chain.npy"}) EXPECT_TRUE(fs::is_symlink(dir / link)) << link;
  EXPECT_EQ(entries(dir / "data"), (std::vector<std::string>{"abs_missing.npy", "missing.npy"}));
}

TEST(OutputFile, SymlinkErrorsNameThePath) {
  temp_dir dir;
  const std::size_t descriptors = open_descriptors();
  fs::create_symlink("loop_b", dir / "loop_a");
  fs::create_symlink("loop_a", dir / "loop_b");
  std::string msg = npy_error_of([&] { output_file f(dir / "loop_a"); });
  EXPECT_NE(msg.find("\"" + (dir / "loop_a").string() + "\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("Too many levels of symbolic links"), std::string::npos) << msg;

  fs::create_directory(dir / "d");
  fs::create_symlink("d", dir / "to_dir");
  msg = npy_error_of([&] { output_file f(dir / "to_dir"); });
  EXPECT_NE(msg.find("Is a directory"), std::string::npos) << msg;

  fs::create_symlink("nowhere/x.npy", dir / "no_dir");
  msg = npy_error_of([&] { output_file f(dir / "no_dir"); });
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nowhere/x.npy"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(open_descriptors(), descriptors);
}

// ---- hard links --------------------------------------------------------------------------------------

TEST(OutputFile, HardLinkedFileIsWrittenInPlace) {
  temp_dir dir;
  write_file(dir / "a.npy", "old contents, longer than the new ones");
  fs::create_hard_link(dir / "a.npy", dir / "b.npy");
  const ino_t ino = lstat_of(dir / "a.npy").st_ino;
  output_file f(dir / "a.npy");
  EXPECT_EQ(f.method(), output_method::direct);
  f.write("new", 3);
  f.commit();
  EXPECT_EQ(read_file(dir / "a.npy"), "new");
  EXPECT_EQ(read_file(dir / "b.npy"), "new");
  EXPECT_EQ(lstat_of(dir / "a.npy").st_ino, ino);
  EXPECT_EQ(lstat_of(dir / "a.npy").st_nlink, 2u);
  EXPECT_EQ(entries(dir.path()), (std::vector<std::string>{"a.npy", "b.npy"}));
}

TEST(OutputFile, ExpectedBytesAreReservedAtTheFirstWrite) {
  // Written in place (a second link), so that the file can be watched while it is written: nothing
  // is reserved at open() or by expect_bytes(), all of it at the first write, the size untouched.
  temp_dir dir;
  write_file(dir / "a.npy", "old");
  fs::create_hard_link(dir / "a.npy", dir / "b.npy");
  constexpr std::size_t expected = std::size_t(4) << 20;
  output_file f(dir / "a.npy");
  ASSERT_EQ(f.method(), output_method::direct);
  f.expect_bytes(expected);
  EXPECT_EQ(read_file(dir / "b.npy"), "old");
  EXPECT_LT(std::size_t(lstat_of(dir / "b.npy").st_blocks) * 512, expected);
  f.write("new", 3);
  const struct stat st = lstat_of(dir / "b.npy");
  if (std::size_t(st.st_blocks) * 512 < expected) GTEST_SKIP() << "this filesystem does not take fallocate";
  EXPECT_EQ(st.st_size, 3);
  f.commit();
  EXPECT_EQ(read_file(dir / "b.npy"), "new");
}

TEST(OutputFile, FullDiskIsReportedBeforeAnythingIsLost) {
  // A tmpfs of 256 KiB and 1 MiB to write: written in place (a second link), the old content is
  // still whole and nothing stays reserved; through a temporary, no temporary stays behind.
  temp_dir dir;
  const auto r = run_in_child([&]() -> std::string {
    if (std::string m = mount_small_tmpfs(dir.path(), std::size_t(256) << 10); !m.empty()) return m;
    const std::string old = random_string(64 << 10);
    write_file(dir / "a.npy", old);
    fs::create_hard_link(dir / "a.npy", dir / "b.npy");
    const std::string data = random_string(1 << 20);
    const std::uint64_t free_before = free_bytes(dir.path());
    for (const char* name : {"a.npy", "new.npy"}) {
      const fs::path out = dir / name;
      const std::string msg = npy_error_of([&] {
        output_file f(out);
        if (out == dir / "a.npy" && f.method() != output_method::direct) throw std::logic_error("not in place");
        f.expect_bytes(data.size());
        f.write(data.data(), data.size());
        f.commit();
      });
      if (msg.find("\"" + out.string() + "\"") == std::string::npos)
        return std::string(name) + ": path not named: " + msg;
      if (msg.find("not enough free space for 1048576 bytes: No space left on device") == std::string::npos)
        return std::string(name) + ": wrong message: " + msg;
      if (read_file(dir / "b.npy") != old) return std::string(name) + ": the old content is lost";
      if (entries(dir.path()) != std::vector<std::string>{"a.npy", "b.npy"})
        return std::string(name) + ": entries changed";
      if (free_bytes(dir.path()) != free_before) return std::string(name) + ": space stays taken";
    }
    return "";
  });
  EXPECT_CHILD_PASSED(r);
}

TEST(OutputFile, TruncatesMappingOfOnlyAFileWrittenInPlace) {
  temp_dir dir;
  write_file(dir / "a.npy", std::string(1 << 16, 'a'));
  write_file(dir / "other", std::string(1 << 16, 'o'));
  const auto map = [](const fs::path& p) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    void* m = ::mmap(nullptr, 1 << 16, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    return static_cast<const char*>(m);
  };
  const char* a = map(dir / "a.npy");
  const char* other = map(dir / "other");
  ASSERT_NE(a, MAP_FAILED);
  ASSERT_NE(other, MAP_FAILED);
  const std::string heap(1 << 16, 'h');
  {
    output_file replaced(dir / "a.npy");  // one link: a temporary, renamed over it
    EXPECT_NE(replaced.method(), output_method::direct);
    EXPECT_FALSE(replaced.truncates_mapping_of(a, 1 << 16));
  }
  fs::create_hard_link(dir / "a.npy", dir / "b.npy");
  output_file in_place(dir / "a.npy");
  ASSERT_EQ(in_place.method(), output_method::direct);
  EXPECT_TRUE(in_place.truncates_mapping_of(a, 1 << 16));
  EXPECT_TRUE(in_place.truncates_mapping_of(a + 4095, 1));  // any byte of it
  const auto before_a = reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(a) - 100);
  EXPECT_TRUE(in_place.truncates_mapping_of(before_a, 101));
  EXPECT_FALSE(in_place.truncates_mapping_of(before_a, 100));  // ends where the mapping starts
  EXPECT_FALSE(in_place.truncates_mapping_of(a + (1 << 16), 10));
  EXPECT_FALSE(in_place.truncates_mapping_of(other, 1 << 16));
  EXPECT_FALSE(in_place.truncates_mapping_of(heap.data(), heap.size()));
  EXPECT_FALSE(in_place.truncates_mapping_of(a, 0));
  ::munmap(const_cast<char*>(a), 1 << 16);
  ::munmap(const_cast<char*>(other), 1 << 16);
}

TEST(OutputFile, DirectWriteAbandonedBeforeWritingLeavesTheFile) {
  temp_dir dir;
  write_file(dir / "a.npy", "old contents");
  fs::create_hard_link(dir / "a.npy", dir / "b.npy");
  { output_file f(dir / "a.npy"); }
  EXPECT_EQ(read_file(dir / "b.npy"), "old contents");
  // Documented: after the first write the file holds exactly what was written.
  {
    output_file f(dir / "a.npy");
    f.write("part", 4);
  }
  EXPECT_EQ(read_file(dir / "b.npy"), "part");
  // A direct commit with nothing written is an empty file, as with a temporary.
  {
    output_file f(dir / "a.npy");
    f.commit();
  }
  EXPECT_EQ(read_file(dir / "b.npy"), "");
}

// ---- FIFOs, devices, /proc ---------------------------------------------------------------------------

TEST(OutputFile, FifoIsWrittenNotReplaced) {
  temp_dir dir;
  const fs::path fifo = dir / "pipe.npy";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string data = random_string(8 << 20);  // far more than the pipe buffer
  std::string got;
  std::thread reader([&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    got = read_all_fd(fd);
    ::close(fd);
  });
  try {
    output_file f(fifo);  // blocks until the reader opens
    EXPECT_EQ(f.method(), output_method::direct);
    f.write(data.data(), data.size());
    f.commit();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    ::close(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));  // lets a waiting reader go
  }
  reader.join();
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  EXPECT_TRUE(S_ISFIFO(lstat_of(fifo).st_mode));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"pipe.npy"});
}

/// Writes 16 MiB of random data with `write_data` into a slowly read FIFO under SIGALRM without
/// SA_RESTART every 200 us, so that writes return early (partial) or with EINTR; every byte must
/// still arrive once, in order.
void expect_interrupted_writes_resumed(const std::function<void(output_file&, std::string&)>& write_data) {
  temp_dir dir;
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto r = run_in_child([&]() -> std::string {
    static std::atomic<int> alarms{0};
    struct sigaction act {};
    act.sa_handler = [](int) { alarms.fetch_add(1, std::memory_order_relaxed); };
    sigemptyset(&act.sa_mask);
    act.sa_flags = 0;
    if (::sigaction(SIGALRM, &act, nullptr) != 0) return "sigaction failed";
    std::string data = random_string(16 << 20);
    std::string got;
    std::thread reader([&] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGALRM);
      ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
      const int fd = ::open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
      char buf[4096];
      for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got.append(buf, std::size_t(n));
        if (got.size() % (1 << 20) < 4096) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      ::close(fd);
    });
    itimerval t{{0, 200}, {0, 200}};
    ::setitimer(ITIMER_REAL, &t, nullptr);
    std::string err;
    try {
      output_file f(fifo);
      write_data(f, data);
      f.commit();
    } catch (const std::exception& e) {
      err = e.what();
    }
    itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    // A reader still waiting in open() for a writer that failed is let go.
    if (!err.empty()) ::close(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    reader.join();
    if (!err.empty()) return err;
    if (alarms.load() == 0) return "no signal arrived during the write";
    if (got != data) return "the reader got " + std::to_string(got.size()) + " bytes, not the data";
    return "";
  });
  EXPECT_CHILD_PASSED(r);
}

TEST(OutputFile, InterruptedWritesAreResumed) {
  expect_interrupted_writes_resumed([](output_file& f, std::string& data) { f.write(data.data(), data.size()); });
}

/// Runs over `data` of awkward sizes (empty ones included), more than one writev takes at once.
std::vector<iovec> runs_over(std::string& data, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<iovec> runs;
  for (std::size_t at = 0; at < data.size();) {
    const std::size_t n = std::min<std::size_t>(data.size() - at, rng() % 4 == 0 ? 0 : 1 + rng() % 9000);
    runs.push_back({data.data() + at, n});
    at += n;
  }
  return runs;
}

TEST(OutputFile, WriteRunsEqualsWritingEachRun) {
  temp_dir dir;
  std::string data = random_string(std::size_t(8) << 20);
  const std::vector<iovec> runs = runs_over(data, 1);
  ASSERT_GT(runs.size(), 2048u);  // several calls' worth of runs
  output_file f(dir / "r.npy");
  f.write_runs(runs.data(), 0);  // nothing at all
  f.write_runs(runs.data(), runs.size());
  f.write_runs(runs.data(), 3);  // and again, after the rest
  f.commit();
  std::string want = data;
  for (std::size_t i = 0; i < 3; ++i) want.append(static_cast<const char*>(runs[i].iov_base), runs[i].iov_len);
  EXPECT_EQ(read_file(dir / "r.npy"), want);
}

TEST(OutputFile, InterruptedWriteRunsAreResumed) {
  // Partial writev calls end anywhere in a run; the next call must start exactly there.
  expect_interrupted_writes_resumed([](output_file& f, std::string& data) {
    const std::vector<iovec> runs = runs_over(data, 3);
    f.write_runs(runs.data(), runs.size());
  });
}

TEST(OutputFile, WriteRunsFailureAfterAPartialWriteKeepsItsBytes) {
  // A file size limit in the middle of a run: writev stops there (a partial write), the next call
  // fails with EFBIG and the error names it. A file written in place keeps what arrived: exactly the
  // bytes before the limit.
  temp_dir dir;
  write_file(dir / "a.npy", "old");
  fs::create_hard_link(dir / "a.npy", dir / "b.npy");
  std::string data = random_string(std::size_t(3) << 20);
  const std::vector<iovec> runs = runs_over(data, 2);
  constexpr std::size_t limit = (std::size_t(2) << 20) + 12345;
  const auto r = run_in_child([&]() -> std::string {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit lim{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return "setrlimit failed";
    output_file f(dir / "a.npy");
    if (f.method() != output_method::direct) return "not written in place";
    try {
      f.write_runs(runs.data(), runs.size());
    } catch (const sc::npy_error& e) {
      if (std::string(e.what()).find("File too large") == std::string::npos) return std::string("message: ") + e.what();
      return "";
    }
    return "no error past the size limit";
  });
  EXPECT_CHILD_PASSED(r);
  EXPECT_EQ(read_file(dir / "b.npy"), data.substr(0, limit));
}

TEST(OutputFile, DevNullIsWrittenNotReplaced) {
  const struct stat before = lstat_of("/dev/null");
  ASSERT_TRUE(S_ISCHR(before.st_mode));
  const std::string data = random_string(4 << 20);
  {
    output_file f("/dev/null");
    EXPECT_EQ(f.method(), output_method::direct);
    for (int i = 0; i < 16; ++i) f.write(data.data(), data.size());
    f.commit();
  }
  const struct stat after = lstat_of("/dev/null");
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_dev, before.st_dev);
  EXPECT_EQ(after.st_rdev, before.st_rdev);
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(after.st_uid, before.st_uid);
  EXPECT_TRUE(temporaries("/dev").empty());
}

TEST(OutputFile, SymlinkToDevNullStays) {
  temp_dir dir;
  fs::create_symlink("/dev/null", dir / "sink.npy");
  const ino_t ino = lstat_of("/dev/null").st_ino;
  save(dir / "sink.npy", "discarded");
  EXPECT_TRUE(fs::is_symlink(dir / "sink.npy"));
  EXPECT_EQ(lstat_of("/dev/null").st_ino, ino);
  EXPECT_TRUE(S_ISCHR(lstat_of("/dev/null").st_mode));
}

TEST(OutputFile, WriteErrorOfADeviceNamesThePath) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  const std::string msg = npy_error_of([] { save("/dev/full", "bytes"); });
  EXPECT_NE(msg.find(".npy file \"/dev/full\": write failed: No space left on device"), std::string::npos) << msg;
}

TEST(OutputFile, ProcFdOfAPipeIsWritten) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const std::string data = random_string(40000);
  std::string got;
  std::thread reader([&] { got = read_all_fd(p[0]); });
  try {
    output_file f("/proc/self/fd/" + std::to_string(p[1]));
    EXPECT_EQ(f.method(), output_method::direct);
    f.write(data.data(), data.size());
    f.commit();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  ::close(p[1]);
  reader.join();
  ::close(p[0]);
  EXPECT_TRUE(got == data);
}

TEST(OutputFile, ProcFdOfARegularFileIsRewrittenInPlace) {
  // As `prog -o /dev/stdout > out.npy`: the shell's file itself gets the bytes, truncated first.
  temp_dir dir;
  write_file(dir / "out.npy", "old contents, longer than the new ones");
  const ino_t ino = lstat_of(dir / "out.npy").st_ino;
  const int fd = ::open((dir / "out.npy").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  save("/proc/self/fd/" + std::to_string(fd), "new");
  ::close(fd);
  EXPECT_EQ(read_file(dir / "out.npy"), "new");
  EXPECT_EQ(lstat_of(dir / "out.npy").st_ino, ino);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"out.npy"});
}

TEST(OutputFile, DevStdoutIsWrittenThrough) {
  if (!fs::is_symlink(fs::symlink_status("/dev/stdout"))) GTEST_SKIP() << "/dev/stdout is not a symbolic link here";
  temp_dir dir;
  write_file(dir / "shell_redirect.npy", "old contents");
  const ino_t ino = lstat_of(dir / "shell_redirect.npy").st_ino;
  const fs::path redirect = dir / "shell_redirect.npy";
  const std::string data = random_string(30000);
  const auto r = run_in_child([&]() -> std::string {
    const int fd = ::open(redirect.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0) return "cannot redirect stdout";
    save("/dev/stdout", data);
    return "";
  });
  EXPECT_CHILD_PASSED(r);
  EXPECT_TRUE(read_file(redirect) == data);
  EXPECT_EQ(lstat_of(redirect).st_ino, ino);
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status("/dev/stdout")));
}

// ---- permissions -------------------------------------------------------------------------------------

TEST(OutputFile, UnwritableDirectoryWithWritableFileIsWrittenInPlace) {
  temp_dir dir;
  const fs::path sub = dir / "locked";
  fs::create_directory(sub);
  const fs::path out = sub / "out.npy";
  write_file(out, "old contents, longer than the new ones");
  const ino_t ino = lstat_of(out).st_ino;
  const std::string data = random_string(100000);
  const auto check = [&]() -> std::string {
    output_file f(out);
    if (f.method() != output_method::direct) return "not a direct write";
    f.write(data.data(), data.size());
    f.commit();
    // A new file cannot be made there at all.
    const std::string msg = npy_error_of([&] { output_file g(sub / "new.npy"); });
    if (msg.find("cannot create a temporary file in its directory: Permission denied") == std::string::npos ||
        msg.find("\"" + (sub / "new.npy").string() + "\"") == std::string::npos)
      return "wrong error for a new file: " + msg;
    return "";
  };
  if (is_root()) {
    // Root writes any directory: the case needs an unprivileged child owning only the file.
    ASSERT_EQ(::chown(out.c_str(), other_uid, other_gid), 0);
    ASSERT_EQ(::chmod(sub.c_str(), 0755), 0);
    const auto r = run_in_child(check, identity{other_uid, other_gid, {}});
    EXPECT_CHILD_PASSED(r);
  } else {
    ASSERT_EQ(::chmod(sub.c_str(), 0555), 0);
    EXPECT_EQ(check(), "");
  }
  EXPECT_TRUE(read_file(out) == data);
  EXPECT_EQ(lstat_of(out).st_ino, ino);
  EXPECT_EQ(entries(sub), std::vector<std::string>{"out.npy"});
}

TEST(OutputFile, ReadOnlyFileIsRefused) {
  // np.save cannot open a file without write permission; neither does this, although the directory
  // would allow a rename over it.
  temp_dir dir;
  fs::permissions(dir.path(), fs::perms(0777));
  const fs::path out = dir / "ro.npy";
  write_file(out, "old contents");
  ASSERT_EQ(::chmod(out.c_str(), 0444), 0);
  const auto check = [&]() -> std::string {
    const std::string msg = npy_error_of([&] { save(out, "new"); });
    std::string want = "\"";  // appended, not "\"" + ...: a false GCC 12 -Wrestrict warning
    want += out.string();
    want += "\": cannot open for writing: Permission denied";
    if (msg.find(want) == std::string::npos) return "wrong error: " + msg;
    return "";
  };
  if (is_root()) {
    ASSERT_EQ(::chown(out.c_str(), other_uid, other_gid), 0);
    const auto r = run_in_child(check, identity{other_uid, other_gid, {}});
    EXPECT_CHILD_PASSED(r);
  } else {
    EXPECT_EQ(check(), "");
  }
  EXPECT_EQ(read_file(out), "old contents");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"ro.npy"});
}

TEST(OutputFile, ForeignFileInStickyDirectoryIsWrittenInPlace) {
  // In a sticky directory (like /tmp) the rename over another user's file would be refused.
  if (!is_root()) GTEST_SKIP() << "needs root to set up another user's file and to switch uid";
  temp_dir dir;
  fs::permissions(dir.path(), fs::perms(01777));
  const fs::path out = dir / "shared.npy";
  write_file(out, "old contents");
  ASSERT_EQ(::chown(out.c_str(), third_uid, third_gid), 0);
  ASSERT_EQ(::chmod(out.c_str(), 0666), 0);
  const ino_t ino = lstat_of(out).st_ino;
  const auto r = run_in_child(
      [&]() -> std::string {
        output_file f(out);
        if (f.method() != output_method::direct) return "not a direct write";
        f.write("new", 3);
        f.commit();
        return "";
      },
      identity{other_uid, other_gid, {}});
  EXPECT_CHILD_PASSED(r);
  EXPECT_EQ(read_file(out), "new");
  EXPECT_EQ(lstat_of(out).st_ino, ino);
  EXPECT_EQ(lstat_of(out).st_uid, third_uid);
}

// ---- other errors ------------------------------------------------------------------------------------

TEST(OutputFile, ErrorsNameThePathOnOneLine) {
  temp_dir dir;
  const std::size_t descriptors = open_descriptors();
  fs::create_directory(dir / "d");
  struct error_case {
    fs::path path;
    std::string text;
  };
  const error_case cases[] = {
      {dir / "d", "\": cannot open: Is a directory"},
      {dir.path().string() + "/", "/\": cannot open: Is a directory"},
      {dir / "d" / "..", "..\": cannot open: Is a directory"},
      {dir / "missing" / "x.npy",
       "cannot open its directory \"" + (dir / "missing").string() + "\": No such file or directory"},
      // Control characters and quotes are escaped: the message stays one line.
      {dir / "no\ndir\"" / "x.npy", "no\\x0adir\\x22\": No such file or directory"},
  };
  for (const auto& c : cases) {
    const std::string msg = npy_error_of([&] { output_file f(c.path); });
    EXPECT_EQ(msg.rfind(".npy file \"", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.text), std::string::npos) << msg << " lacks " << c.text;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_NE(npy_error_of([] { output_file f(""); }).find("No such file or directory"), std::string::npos);
  output_file closed;
  EXPECT_NE(npy_error_of([&] { closed.write("x", 1); }).find("not open"), std::string::npos);
  EXPECT_NE(npy_error_of([&] { closed.commit(); }).find("not open"), std::string::npos);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"d"});
  EXPECT_EQ(open_descriptors(), descriptors);  // a constructor that throws leaks nothing
}

TEST(OutputFile, MoreThanTwoGiBInOneCall) {
  // One write() call moves at most about 2 GiB on Linux; the loop must go on. The pages are never
  // touched (/dev/null does not read them), so this costs address space only.
  constexpr std::size_t size = (std::size_t(5) << 30) / 2;
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) GTEST_SKIP() << "cannot reserve 2.5 GiB of address space";
  output_file f("/dev/null");
  EXPECT_NO_THROW(f.write(p, size));
  f.commit();
  ::munmap(p, size);
}

// ---- signals -----------------------------------------------------------------------------------------

/// A child that opens `out`, writes a first piece, reports its method through a pipe, and then
/// keeps writing until it is killed (or gives up after 30 s, exiting 3). `setup` runs first.
pid_t start_writer(const fs::path& out, output_options options, const std::function<void()>& setup, int& ready_fd) {
  int p[2];
  if (::pipe(p) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(p[0]);
    try {
      setup();
      output_file f(out, options);
      const std::string piece(1 << 20, 'x');
      f.write(piece.data(), piece.size());
      const char m = char('0' + int(f.method()));
      write_all_fd(p[1], std::string_view(&m, 1));
      for (int i = 0; i < 15000; ++i) {
        f.write(piece.data(), 4096);
        ::usleep(2000);
      }
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(3);
  }
  ::close(p[1]);
  ready_fd = p[0];
  return pid;
}

struct killed_writer {
  output_method method;
  std::vector<std::string> during;  // the directory while the temporary existed
  int status;
};

killed_writer kill_writer(const fs::path& out, output_options options, int sig, const std::function<void()>& setup) {
  int ready = -1;
  const pid_t pid = start_writer(out, options, setup, ready);
  char m = 0;
  killed_writer k{};
  const bool got = ::read(ready, &m, 1) == 1;
  ::close(ready);
  k.during = entries(out.parent_path());
  ::kill(pid, sig);
  ::waitpid(pid, &k.status, 0);
  if (!got) throw std::runtime_error("the writer died before its first write");
  k.method = output_method(m - '0');
  return k;
}

class OutputFileSignal : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Signals, OutputFileSignal, ::testing::Values(SIGTERM, SIGINT, SIGHUP),
                         [](const auto& param_info) { return std::string(sigabbrev_np(param_info.param)); });

TEST_P(OutputFileSignal, NamedTemporaryIsRemovedAndTheSignalStillKills) {
  const int sig = GetParam();
  temp_dir dir;
  write_file(dir / "out.npy", "old contents");
  const auto before = entries(dir.path());
  const auto k = kill_writer(dir / "out.npy", named_only, sig, [] {
    ::signal(SIGINT, SIG_DFL);  // a test runner may start children with SIGINT ignored
    ::signal(SIGHUP, SIG_DFL);
    sc::detail::install_signal_cleanup();
  });
  EXPECT_EQ(k.method, output_method::named_temporary);
  EXPECT_EQ(temporaries(dir.path()).size(), 0u);
  EXPECT_EQ(k.during.size(), before.size() + 1);  // the temporary existed when the signal came
  EXPECT_TRUE(WIFSIGNALED(k.status) && WTERMSIG(k.status) == sig) << "status " << k.status;
  EXPECT_EQ(entries(dir.path()), before);
  EXPECT_EQ(read_file(dir / "out.npy"), "old contents");
}

TEST(OutputFileSignals, WithoutTheCleanupANamedTemporaryStays) {
  // The cleanup is opt-in: the library installs no handler of its own.
  temp_dir dir;
  const auto k = kill_writer(dir / "out.npy", named_only, SIGTERM, [] {});
  EXPECT_TRUE(WIFSIGNALED(k.status) && WTERMSIG(k.status) == SIGTERM);
  EXPECT_EQ(temporaries(dir.path()).size(), 1u);
}

TEST(OutputFileSignals, UnnamedTemporaryLeavesNothingEvenOnSigkill) {
  temp_dir dir;
  if (!unnamed_supported(dir.path())) GTEST_SKIP() << "this filesystem refuses O_TMPFILE";
  write_file(dir / "out.npy", "old contents");
  const auto before = entries(dir.path());
  const auto k = kill_writer(dir / "out.npy", {}, SIGKILL, [] {});
  EXPECT_EQ(k.method, output_method::unnamed_temporary);
  EXPECT_EQ(k.during, before);
  EXPECT_TRUE(WIFSIGNALED(k.status) && WTERMSIG(k.status) == SIGKILL);
  EXPECT_EQ(entries(dir.path()), before);
  EXPECT_EQ(read_file(dir / "out.npy"), "old contents");
}

int chained_fd = -1;

TEST(OutputFileSignals, PreviousHandlerIsCalledAfterTheCleanup) {
  temp_dir dir;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const auto k = kill_writer(dir / "out.npy", named_only, SIGTERM, [&] {
    ::close(p[0]);
    chained_fd = p[1];
    struct sigaction act {};
    act.sa_handler = [](int) {
      const char c = 'H';
      (void)::write(chained_fd, &c, 1);
      ::_exit(42);
    };
    sigemptyset(&act.sa_mask);
    ::sigaction(SIGTERM, &act, nullptr);
    sc::detail::install_signal_cleanup();
    sc::detail::install_signal_cleanup();  // a second call changes nothing
  });
  ::close(p[1]);
  EXPECT_EQ(read_all_fd(p[0]), "H");
  ::close(p[0]);
  EXPECT_TRUE(WIFEXITED(k.status) && WEXITSTATUS(k.status) == 42) << "status " << k.status;
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(OutputFileSignals, PreviousSiginfoHandlerGetsItsArguments) {
  temp_dir dir;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const auto k = kill_writer(dir / "out.npy", named_only, SIGINT, [&] {
    ::close(p[0]);
    chained_fd = p[1];
    struct sigaction act {};
    act.sa_sigaction = [](int sig, siginfo_t* info, void*) {
      const char c = sig == SIGINT && info && info->si_signo == SIGINT && info->si_pid == ::getppid() ? 'I' : '?';
      (void)::write(chained_fd, &c, 1);
      ::_exit(43);
    };
    act.sa_flags = SA_SIGINFO;
    sigemptyset(&act.sa_mask);
    ::sigaction(SIGINT, &act, nullptr);
    sc::detail::install_signal_cleanup();
  });
  ::close(p[1]);
  EXPECT_EQ(read_all_fd(p[0]), "I");
  ::close(p[0]);
  EXPECT_TRUE(WIFEXITED(k.status) && WEXITSTATUS(k.status) == 43) << "status " << k.status;
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(OutputFileSignals, IgnoredSignalStaysIgnored) {
  const auto r = run_in_child([]() -> std::string {
    ::signal(SIGHUP, SIG_IGN);
    sc::detail::install_signal_cleanup();
    struct sigaction now {};
    ::sigaction(SIGHUP, nullptr, &now);
    if ((now.sa_flags & SA_SIGINFO) || now.sa_handler != SIG_IGN) return "SIGHUP is no longer ignored";
    ::raise(SIGHUP);
    return "";
  });
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.output;
}

TEST(OutputFileSignals, RemovedTemporaryMakesCommitFail) {
  // What a program's own handler gets when it calls remove_temporaries_on_signal() and goes on.
  temp_dir dir;
  write_file(dir / "out.npy", "old contents");
  output_file f(dir / "out.npy", named_only);
  f.write("new", 3);
  ASSERT_EQ(temporaries(dir.path()).size(), 1u);
  sc::detail::remove_temporaries_on_signal();
  EXPECT_TRUE(temporaries(dir.path()).empty());
  const std::string msg = npy_error_of([&] { f.commit(); });
  EXPECT_NE(msg.find("cannot rename the temporary file"), std::string::npos) << msg;
  EXPECT_EQ(read_file(dir / "out.npy"), "old contents");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"out.npy"});
}

}  // namespace
