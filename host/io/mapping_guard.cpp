// host/io/mapping_guard.cpp — mapping_guard: the registry of guarded input mappings and the SIGBUS
// handler that turns a read of a truncated file's lost page into zeros and a recorded loss.
#include "io/mapping_guard.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>

#include "core/text.hpp"
#include "io/signal_slot.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy::detail {

namespace {

// The handler reads a live slot's bounds and sets its loss flag (io/signal_slot.hpp).
static_assert(std::atomic<std::uintptr_t>::is_always_lock_free);

struct guard_slot {
  std::atomic<int> state{slot_free};
  std::atomic<std::uintptr_t> begin{0}, end{0};
  std::atomic<bool> lost{false};
  std::atomic<const mapping_guard*> owner{nullptr};  // read by check_mapped_reads, never by the handler
};

// Mappings open at once beyond this are read into memory instead (mapped_npy's fallback).
constexpr std::size_t slot_count = 256;
std::array<guard_slot, slot_count> slots;

// Installed while at least one guard lives; `previous` is what it replaced, restored by the last.
std::mutex install_mutex;
std::size_t live_guards = 0;
struct sigaction previous {};
std::uintptr_t page_bytes = 4096;

void to_previous(int sig, siginfo_t* info, void* context) {
  // sa_handler and sa_sigaction share storage: a null one is the default action either way.
  if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction != nullptr) {
    previous.sa_sigaction(sig, info, context);
    return;
  }
  if (previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN) {
    // A fault cannot be ignored: returning re-runs the faulting instruction, which now meets the
    // default action (the process dies of SIGBUS, as it would have without us).
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(sig, &dfl, nullptr);
    return;
  }
  previous.sa_handler(sig);
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  // BUS_ADRERR: the address is mapped but nothing backs it, which is what a truncated file leaves.
  if (info != nullptr && info->si_code == BUS_ADRERR) {
    const auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
    for (guard_slot& s : slots) {
      if (s.state.load(std::memory_order_acquire) != slot_live) continue;
      if (address < s.begin.load(std::memory_order_relaxed) || address >= s.end.load(std::memory_order_relaxed))
        continue;
      // A private page of zeros over the lost one (mmap is a plain system call on Linux); the read
      // that faulted runs again and reads it.
      void* page = reinterpret_cast<void*>(address & ~(page_bytes - 1));
      if (::mmap(page, page_bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
        s.lost.store(true, std::memory_order_relaxed);
        errno = saved_errno;
        return;
      }
      break;
    }
  }
  to_previous(sig, info, context);
  errno = saved_errno;
}

bool is_ours(const struct sigaction& a) { return (a.sa_flags & SA_SIGINFO) && a.sa_sigaction == on_sigbus; }

/// Installs the handler for the first guard. False when sigaction refuses.
bool add_guard() {
  const std::lock_guard<std::mutex> lock(install_mutex);
  if (live_guards == 0) {
    struct sigaction current {};
    if (::sigaction(SIGBUS, nullptr, &current) != 0) return false;
    if (!is_ours(current)) {
      page_bytes = std::uintptr_t(::sysconf(_SC_PAGESIZE));
      previous = current;
      struct sigaction act {};
      act.sa_sigaction = on_sigbus;
      act.sa_flags = SA_SIGINFO | SA_ONSTACK;
      sigemptyset(&act.sa_mask);
      if (::sigaction(SIGBUS, &act, nullptr) != 0) return false;
    }
  }
  ++live_guards;
  return true;
}

void remove_guard() noexcept {
  const std::lock_guard<std::mutex> lock(install_mutex);
  if (--live_guards != 0) return;
  // Someone who installed a handler of their own since keeps it.
  struct sigaction current {};
  if (::sigaction(SIGBUS, nullptr, &current) == 0 && is_ours(current)) (void)::sigaction(SIGBUS, &previous, nullptr);
}

}  // namespace

std::unique_ptr<mapping_guard> mapping_guard::make(const void* begin, std::size_t bytes, int fd,
                                                   const std::string& name) {
  for (std::size_t i = 0; i < slot_count; ++i) {
    int expected = slot_free;
    if (!slots[i].state.compare_exchange_strong(expected, slot_busy, std::memory_order_acquire)) continue;
    if (!add_guard()) {
      slots[i].state.store(slot_free, std::memory_order_release);
      return nullptr;
    }
    std::unique_ptr<mapping_guard> g;
    try {
      g.reset(new mapping_guard(int(i), fd, bytes, name));
    } catch (const std::bad_alloc&) {
      slots[i].state.store(slot_free, std::memory_order_release);
      remove_guard();
      return nullptr;
    }
    const auto first = reinterpret_cast<std::uintptr_t>(begin);
    slots[i].begin.store(first, std::memory_order_relaxed);
    slots[i].end.store(first + bytes, std::memory_order_relaxed);
    slots[i].lost.store(false, std::memory_order_relaxed);
    slots[i].owner.store(g.get(), std::memory_order_relaxed);
    slots[i].state.store(slot_live, std::memory_order_release);
    return g;
  }
  return nullptr;
}

mapping_guard::mapping_guard(int slot, int fd, std::size_t bytes, const std::string& name)
    : slot_(slot), fd_(fd), bytes_(bytes), name_(name) {}

mapping_guard::~mapping_guard() {
  slots[std::size_t(slot_)].owner.store(nullptr, std::memory_order_relaxed);
  slots[std::size_t(slot_)].state.store(slot_free, std::memory_order_release);
  remove_guard();
  ::close(fd_);
}

bool mapping_guard::lost_pages() const noexcept {
  return slots[std::size_t(slot_)].lost.load(std::memory_order_relaxed);
}

bool mapping_guard::file_shrank() const noexcept {
  struct stat st {};
  return ::fstat(fd_, &st) == 0 && std::uintmax_t(st.st_size) < std::uintmax_t(bytes_);
}

void mapping_guard::check(bool after_failure) const {
  if (!lost_pages() && !(after_failure && file_shrank())) return;
  std::string what = ".npy file " + quoted(name_, '"', 4096) + ": truncated while it was being read (it held " +
                     std::to_string(bytes_) + " bytes";
  struct stat st {};
  if (::fstat(fd_, &st) == 0) what += ", now " + std::to_string(st.st_size);
  throw npy_error(what + "); what was read from it is incomplete");
}

void check_mapped_reads(const void* p, std::size_t bytes, bool after_failure) {
  const auto first = reinterpret_cast<std::uintptr_t>(p);
  for (guard_slot& s : slots) {
    if (s.state.load(std::memory_order_acquire) != slot_live) continue;
    if (first + bytes <= s.begin.load(std::memory_order_relaxed) || first >= s.end.load(std::memory_order_relaxed))
      continue;
    if (const mapping_guard* g = s.owner.load(std::memory_order_relaxed)) g->check(after_failure);
  }
}

}  // namespace stridecopy::detail
