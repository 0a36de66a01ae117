// host/cpu/thread_pool.cpp — run_pieces over a lazily grown pool of sleeping workers, and the thread
// setting (affinity mask, OMP_NUM_THREADS, set_thread_setting).
#include "cpu/thread_pool.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

namespace stridecopy::detail {

namespace {

constexpr int max_team = 1024;

std::atomic<int> setting{0};
std::atomic<piece_observer> observer{nullptr};
std::atomic<std::int64_t> team_jobs{0}, worker_pieces{0}, caller_waits{0}, caller_wait_ns{0};

/// One run_pieces call. Shared by the caller and the workers that joined it: a worker that wakes after
/// the job has ended still holds it, but finds no piece left and never calls `body`.
struct job {
  job(std::int64_t n, piece_fn b, int s) : pieces(n), body(b), seats(s) {}
  const std::int64_t pieces;
  const piece_fn body;
  int seats;  ///< workers that may still join; guarded by the pool's mutex
  std::atomic<std::int64_t> next{0};
  std::atomic<std::int64_t> finished{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr error;
};

/// Runs piece i of j (skipped once a piece has thrown) and counts it.
void run_one(job& j, std::int64_t i) {
  if (!j.failed.load(std::memory_order_relaxed)) {
    try {
      if (const piece_observer o = observer.load(std::memory_order_acquire)) o();
      j.body(i);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(j.error_mutex);
      if (!j.error) j.error = std::current_exception();
      j.failed.store(true, std::memory_order_relaxed);
    }
  }
  // Release: the piece's writes are visible to whoever sees the count.
  if (j.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == j.pieces) j.finished.notify_all();
}

/// Takes pieces until none is left: the same loop for the caller and the workers.
void work_on(job& j) {
  for (std::int64_t i; (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.pieces;) run_one(j, i);
}

// A worker that has run this long offers its CPU between two pieces, holding none (sched_yield
// returns at once when nothing else waits for that CPU). Otherwise, on a busy CPU, the scheduler
// takes it away in the middle of a piece, and the caller, out of pieces, waits a whole time slice of
// the other task for that one. Beside a busy process pinned to the other CPU, 64 MiB copies (::2,
// NCHW -> NHWC, [:, ::-1]) ran 0.74-1.44x as fast as on one thread without the yield, 1.11-1.45x
// with it (medians of 15, two runs each). 50 us keeps the syscall under 2% of a worker's time.
constexpr auto yield_after = std::chrono::microseconds(50);

/// A worker's loop over j's pieces.
void work_as_worker(job& j) {
  auto since = std::chrono::steady_clock::now();
  for (std::int64_t i; (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.pieces;) {
    // Counted before the piece is: the caller's acquire of the finished count then sees it.
    worker_pieces.fetch_add(1, std::memory_order_relaxed);
    run_one(j, i);
    if (const auto now = std::chrono::steady_clock::now(); now - since > yield_after) {
      std::this_thread::yield();
      since = std::chrono::steady_clock::now();
    }
  }
}

struct pool {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<job>> queue;  ///< jobs with seats left, oldest first
  int workers = 0;
};

// Never destroyed: detached workers sleep on it until the process ends. A forked child has none of
// the parent's threads, so it gets a pool of its own (the old one, its mutex held across the fork,
// is left alone).
pool* the_pool = nullptr;

void worker_main(pool* p) {
  std::unique_lock<std::mutex> lock(p->mutex);
  for (;;) {
    p->wake.wait(lock, [p] { return !p->queue.empty(); });
    std::shared_ptr<job> j = p->queue.front();
    if (--j->seats == 0) p->queue.pop_front();
    lock.unlock();
    work_as_worker(*j);
    j.reset();
    lock.lock();
  }
}

pool& get_pool() {
  static const bool registered = [] {
    the_pool = new pool;
    pthread_atfork([] { the_pool->mutex.lock(); }, [] { the_pool->mutex.unlock(); }, [] { the_pool = new pool; });
    return true;
  }();
  (void)registered;
  return *the_pool;
}

/// A worker more, with every asynchronous signal blocked (they are the application's threads' to
/// take). The faults a worker's own reads raise stay open: a blocked SIGBUS from a read of a mapped
/// file cut short under it would kill the process instead of reaching the handler that
/// io/mapping_guard installs. False when the system has no thread to give: the caller's pieces then
/// run on the threads there are.
bool spawn_worker(pool& p) {
  sigset_t all, old;
  sigfillset(&all);
  for (const int fault : {SIGBUS, SIGSEGV, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) sigdelset(&all, fault);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  bool ok = true;
  try {
    std::thread t(worker_main, &p);
    pthread_setname_np(t.native_handle(), "stridecopy");
    t.detach();
  } catch (...) {
    ok = false;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

int affinity_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  // More CPUs than a cpu_set_t holds: ask with larger sets.
  for (int cpus = 2 * CPU_SETSIZE; errno == EINVAL && cpus <= (1 << 20); cpus *= 2) {
    cpu_set_t* s = CPU_ALLOC(cpus);
    if (!s) break;
    const std::size_t size = CPU_ALLOC_SIZE(cpus);
    const int n = sched_getaffinity(0, size, s) == 0 ? CPU_COUNT_S(size, s) : 0;
    CPU_FREE(s);
    if (n > 0) return n;
  }
  return int(std::thread::hardware_concurrency());
}

}  // namespace

void run_pieces(std::int64_t pieces, int threads, piece_fn body) {
  if (pieces <= 0) return;
  const int team = int(std::min<std::int64_t>(std::clamp(threads, 1, max_team), pieces));
  if (team == 1) {
    for (std::int64_t i = 0; i < pieces; ++i) {
      if (const piece_observer o = observer.load(std::memory_order_acquire)) o();
      body(i);
    }
    return;
  }
  team_jobs.fetch_add(1, std::memory_order_relaxed);
  const auto j = std::make_shared<job>(pieces, body, team - 1);
  // The caller's first piece is its own before any worker wakes: it always takes part.
  const std::int64_t first = j->next.fetch_add(1, std::memory_order_relaxed);
  pool& p = get_pool();
  {
    const std::lock_guard<std::mutex> lock(p.mutex);
    while (p.workers < team - 1 && spawn_worker(p)) ++p.workers;
    p.queue.push_back(j);
  }
  for (int k = 1; k < team; ++k) p.wake.notify_one();
  run_one(*j, first);
  work_on(*j);
  {
    // Every piece is taken: a worker that wakes now has nothing to join.
    const std::lock_guard<std::mutex> lock(p.mutex);
    const auto it = std::find(p.queue.begin(), p.queue.end(), j);
    if (it != p.queue.end()) p.queue.erase(it);
  }
  // Only pieces that a thread is running are waited for, asleep.
  if (std::int64_t f = j->finished.load(std::memory_order_acquire); f != pieces) {
    const auto start = std::chrono::steady_clock::now();
    for (; f != pieces; f = j->finished.load(std::memory_order_acquire)) j->finished.wait(f, std::memory_order_acquire);
    caller_waits.fetch_add(1, std::memory_order_relaxed);
    caller_wait_ns.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count(),
        std::memory_order_relaxed);
  }
  if (j->error) std::rethrow_exception(j->error);
}

int parse_num_threads(const char* text) noexcept {
  if (!text) return 0;
  while (*text == ' ' || *text == '\t') ++text;
  long n = 0;
  const char* c = text;
  for (; *c >= '0' && *c <= '9'; ++c) n = std::min<long>(n * 10 + (*c - '0'), max_team);
  if (c == text) return 0;
  while (*c == ' ' || *c == '\t') ++c;
  if (*c != '\0' && *c != ',') return 0;
  return int(n);
}

int default_threads() {
  static const int from_environment = parse_num_threads(std::getenv("OMP_NUM_THREADS"));
  int n = std::clamp(affinity_cpus(), 1, max_team);
  if (from_environment > 0) n = std::min(n, from_environment);
  return n;
}

int cpu_threads(int requested) {
  if (requested > 0) return std::min(requested, max_team);
  const int s = setting.load(std::memory_order_relaxed);
  return s > 0 ? s : default_threads();
}

void set_thread_setting(int threads) noexcept { setting.store(threads, std::memory_order_relaxed); }
int thread_setting() noexcept { return setting.load(std::memory_order_relaxed); }

pool_stats get_pool_stats() noexcept {
  pool_stats s;
  s.team_jobs = team_jobs.load(std::memory_order_relaxed);
  s.worker_pieces = worker_pieces.load(std::memory_order_relaxed);
  s.caller_waits = caller_waits.load(std::memory_order_relaxed);
  s.caller_wait_ns = caller_wait_ns.load(std::memory_order_relaxed);
  return s;
}

void set_piece_observer(piece_observer o) noexcept { observer.store(o, std::memory_order_release); }

}  // namespace stridecopy::detail
