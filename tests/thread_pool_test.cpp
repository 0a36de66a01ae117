// tests/thread_pool_test.cpp — run_pieces (every piece once, from many callers, nested, throwing),
// the thread setting (affinity, OMP_NUM_THREADS, set_num_threads) seen by the threads that do the
// work, workers that sleep when idle, and a pool that works again in a forked child.
#include <gtest/gtest.h>

#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu/thread_pool.hpp"
#include "reference.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "test_util.hpp"

namespace sc = stridecopy;
namespace fs = std::filesystem;

namespace {

// The threads that ran pieces since the last reset (piece_observer).
std::mutex seen_mutex;
std::set<std::thread::id> seen;
void record_thread() {
  const std::lock_guard<std::mutex> lock(seen_mutex);
  seen.insert(std::this_thread::get_id());
}
struct observed {
  observed() {
    const std::lock_guard<std::mutex> lock(seen_mutex);
    seen.clear();
    sc::detail::set_piece_observer(record_thread);
  }
  ~observed() { sc::detail::set_piece_observer(nullptr); }
  std::set<std::thread::id> threads() const {
    const std::lock_guard<std::mutex> lock(seen_mutex);
    return seen;
  }
};

// Restores the process's thread setting when a test ends.
struct setting_guard {
  ~setting_guard() { sc::set_num_threads(0); }
};

// A 16 MiB reversed view (large enough for a team) and its destination.
struct large_copy {
  std::vector<std::byte> data = sc::test::random_bytes(std::size_t(16) << 20);
  sc::view v = sc::slice(sc::contiguous_view(data.data(), sc::dtype_of<float>(), {1024, 4096}), "[..., ::-1]");
  std::vector<std::byte> dst = std::vector<std::byte>(data.size());
};

struct worker_thread {
  std::string state;  // /proc's one-letter state
  std::uint64_t cpu_ticks = 0;
};
// The pool's workers as /proc sees them (threads named "stridecopy").
std::vector<worker_thread> pool_workers() {
  std::vector<worker_thread> out;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "stridecopy") continue;
    std::ifstream stat(task.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "pid (comm) "
    worker_thread w;
    std::string skip;
    fields >> w.state;
    for (int i = 0; i < 10; ++i) fields >> skip;  // ppid .. cmajflt
    std::uint64_t utime = 0, stime = 0;
    fields >> utime >> stime;
    w.cpu_ticks = utime + stime;
    out.push_back(w);
  }
  return out;
}

}  // namespace

TEST(ThreadPool, EveryPieceRunsOnce) {
  for (const int threads : {1, 2, 3, 8})
    for (const std::int64_t pieces : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> runs(static_cast<std::size_t>(pieces));
      sc::detail::run_pieces(pieces, threads, [&](std::int64_t i) { runs[std::size_t(i)].fetch_add(1); });
      for (std::int64_t i = 0; i < pieces; ++i) ASSERT_EQ(runs[std::size_t(i)].load(), 1) << threads << " " << i;
    }
}

TEST(ThreadPool, OneThreadMeansTheCallerAlone) {
  const observed o;
  sc::detail::run_pieces(64, 1, [](std::int64_t) {});
  EXPECT_EQ(o.threads(), std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(ThreadPool, TheTeamIsNoLargerThanAskedOrThanThePieces) {
  {
    const observed o;
    // Every piece waits until three have started, or a while: more than 3 threads cannot have run.
    std::atomic<int> started{0};
    sc::detail::run_pieces(64, 3, [&](std::int64_t) {
      ++started;
      for (int i = 0; i < 2000 && started.load() < 3; ++i) std::this_thread::sleep_for(std::chrono::microseconds(50));
    });
    EXPECT_LE(o.threads().size(), 3u);
    EXPECT_TRUE(o.threads().count(std::this_thread::get_id()));
  }
  {
    const observed o;
    sc::detail::run_pieces(2, 8, [](std::int64_t) { std::this_thread::sleep_for(std::chrono::milliseconds(2)); });
    EXPECT_LE(o.threads().size(), 2u);
  }
}

TEST(ThreadPool, ManyCallersAtOnceAndNestedCalls) {
  std::atomic<std::int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round)
        sc::detail::run_pieces(8, 3, [&](std::int64_t) {
          // A job inside a piece: its caller (this piece's thread) runs it, helped or not.
          sc::detail::run_pieces(4, 2, [&](std::int64_t) { total.fetch_add(1); });
        });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 50 * 8 * 4);
}

TEST(ThreadPool, AThrowingPieceStopsTheJobAndRethrows) {
  std::atomic<int> ran{0};
  EXPECT_THROW(sc::detail::run_pieces(1000, 3,
                                      [&](std::int64_t i) {
                                        ++ran;
                                        if (i == 5) throw std::runtime_error("piece 5");
                                      }),
               std::runtime_error);
  EXPECT_LT(ran.load(), 1000 + 1);
  // The pool still works.
  std::atomic<int> after{0};
  sc::detail::run_pieces(100, 3, [&](std::int64_t) { ++after; });
  EXPECT_EQ(after.load(), 100);
}

TEST(ThreadPool, StatsCountTeamJobsAndWorkerPieces) {
  const sc::detail::pool_stats before = sc::detail::get_pool_stats();
  sc::detail::run_pieces(64, 1, [](std::int64_t) {});  // no team
  EXPECT_EQ(sc::detail::get_pool_stats().team_jobs, before.team_jobs);
  std::atomic<int> by_caller{0};
  const auto me = std::this_thread::get_id();
  sc::detail::run_pieces(64, 2, [&](std::int64_t) {
    if (std::this_thread::get_id() == me) ++by_caller;
  });
  const sc::detail::pool_stats after = sc::detail::get_pool_stats();
  EXPECT_EQ(after.team_jobs, before.team_jobs + 1);
  EXPECT_EQ(after.worker_pieces - before.worker_pieces, 64 - by_caller.load());
  EXPECT_LE(after.caller_waits - before.caller_waits, 1);
  EXPECT_GE(after.caller_wait_ns, before.caller_wait_ns);
}

TEST(ThreadPool, NumThreadsParsesAsOpenMPDoes) {
  EXPECT_EQ(sc::detail::parse_num_threads(nullptr), 0);
  EXPECT_EQ(sc::detail::parse_num_threads(""), 0);
  EXPECT_EQ(sc::detail::parse_num_threads("4"), 4);
  EXPECT_EQ(sc::detail::parse_num_threads(" 3 "), 3);
  EXPECT_EQ(sc::detail::parse_num_threads("6,2,1"), 6);
  EXPECT_EQ(sc::detail::parse_num_threads("0"), 0);
  EXPECT_EQ(sc::detail::parse_num_threads("-2"), 0);
  EXPECT_EQ(sc::detail::parse_num_threads("two"), 0);
  EXPECT_EQ(sc::detail::parse_num_threads("4x"), 0);
  EXPECT_EQ(sc::detail::parse_num_threads("99999999999999999999"), 1024);
}

TEST(ThreadPool, TheDefaultFollowsTheAffinityMask) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  EXPECT_GE(sc::detail::default_threads(), 1);
  EXPECT_LE(sc::detail::default_threads(), CPU_COUNT(&mine));
  // A thread allowed one CPU gets a team of one, and runs a large copy alone.
  int first_cpu = 0;
  while (!CPU_ISSET(first_cpu, &mine)) ++first_cpu;
  int in_thread = -1, get_num = -1;
  std::size_t threads_seen = 0;
  large_copy c;
  std::thread t([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first_cpu, &one);
    if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0) return;
    in_thread = sc::detail::default_threads();
    get_num = sc::get_num_threads();
    const observed o;
    sc::copy(c.v, c.dst.data(), c.dst.size(), {}, {.how = sc::strategy::cpu});
    threads_seen = o.threads().size();
  });
  t.join();
  EXPECT_EQ(in_thread, 1);
  EXPECT_EQ(get_num, 1);
  EXPECT_EQ(threads_seen, 1u);
  EXPECT_EQ(c.dst, sc::test::reference_copy(c.v));
}

TEST(ThreadPool, OneThreadSetMeansOneThreadDoesTheWork) {
  const setting_guard restore;
  large_copy c;
  const auto expected = sc::test::reference_copy(c.v);
  sc::set_num_threads(1);
  EXPECT_EQ(sc::get_num_threads(), 1);
  {
    const observed o;
    sc::copy(c.v, c.dst.data(), c.dst.size(), {}, {.how = sc::strategy::cpu});
    EXPECT_EQ(o.threads(), std::set<std::thread::id>{std::this_thread::get_id()});
  }
  EXPECT_EQ(c.dst, expected);
  // A copy that asks overrides the setting: at most what it asks for, the caller among them.
  sc::set_num_threads(3);
  EXPECT_EQ(sc::get_num_threads(), 3);
  {
    const observed o;
    std::fill(c.dst.begin(), c.dst.end(), std::byte{0});
    sc::copy(c.v, c.dst.data(), c.dst.size(), {}, {.how = sc::strategy::cpu, .threads = 2});
    EXPECT_LE(o.threads().size(), 2u);
    EXPECT_TRUE(o.threads().count(std::this_thread::get_id()));
  }
  EXPECT_EQ(c.dst, expected);
  {
    const observed o;
    sc::copy_options one;
    one.threads = 1;
    std::fill(c.dst.begin(), c.dst.end(), std::byte{0});
    (void)sc::copy(c.v, c.dst.data(), c.dst.size(), sc::stream_ref{}, one);
    EXPECT_EQ(o.threads(), std::set<std::thread::id>{std::this_thread::get_id()});
  }
  EXPECT_EQ(c.dst, expected);
  sc::set_num_threads(0);
  EXPECT_EQ(sc::get_num_threads(), sc::detail::default_threads());
  EXPECT_THROW(sc::set_num_threads(-1), sc::invalid_argument);
  EXPECT_THROW(sc::set_num_threads(sc::max_cpu_threads + 1), sc::invalid_argument);
}

TEST(ThreadPool, WorkersSleepWhenIdle) {
  // Make sure the pool has workers, then check that none of them is running or burning CPU time.
  std::atomic<int> n{0};
  sc::detail::run_pieces(64, 3, [&](std::int64_t) {
    ++n;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  });
  ASSERT_EQ(n.load(), 64);
  std::vector<worker_thread> before = pool_workers();
  ASSERT_FALSE(before.empty());
  // Asleep within a few seconds of the job's end (a worker may still be on its way back to sleep).
  for (int i = 0; i < 100; ++i) {
    bool all_asleep = true;
    for (const auto& w : before) all_asleep = all_asleep && w.state == "S";
    if (all_asleep) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    before = pool_workers();
  }
  for (const auto& w : before) EXPECT_EQ(w.state, "S");
  // And they stay asleep: no CPU time over half a second (a spinning thread would take all of it).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::vector<worker_thread> after = pool_workers();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_LE(after[i].cpu_ticks, before[i].cpu_ticks + 1) << i;
}

TEST(ThreadPool, AForkedChildCopiesWithAPoolOfItsOwn) {
  // Workers exist in the parent; the child has none of them and must not wait for them.
  sc::detail::run_pieces(16, 2, [](std::int64_t) {});
  large_copy c;
  const auto expected = sc::test::reference_copy(c.v);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(30);  // a hang ends the child with SIGALRM, which the parent reports
    sc::copy(c.v, c.dst.data(), c.dst.size(), {}, {.how = sc::strategy::cpu, .threads = 2});
    std::atomic<int> n{0};
    sc::detail::run_pieces(100, 2, [&](std::int64_t) { ++n; });
    _exit(c.dst == expected && n.load() == 100 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child was ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
