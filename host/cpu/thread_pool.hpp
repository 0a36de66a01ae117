// host/cpu/thread_pool.hpp — the CPU executor's threads: a job cut into pieces that the calling thread
// and sleeping pool workers take one at a time, and the thread setting that bounds the team.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace stridecopy::detail {

/// A reference to a callable taking a piece index; it owns nothing, so the callable must outlive the
/// run_pieces call it is given to (a lambda on the caller's stack does).
class piece_fn {
 public:
  // Implicit: passed as a lambda. Never chosen over the copy constructor (the requires clause), which
  // clang-tidy 14's forwarding-reference check does not see.
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, piece_fn>) piece_fn(F&& f)
  noexcept  // NOLINT(google-explicit-constructor,bugprone-forwarding-reference-overload)
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, std::int64_t i) { (*static_cast<std::remove_reference_t<F>*>(o))(i); }) {}
  void operator()(std::int64_t i) const { call_(object_, i); }

 private:
  void* object_;
  void (*call_)(void*, std::int64_t);
};

/// Runs body(i) once for each i in [0, pieces) and returns when all have run. The calling thread takes
/// pieces itself; up to min(threads, pieces) - 1 pool workers are woken to take pieces too, each as it
/// becomes free, so a worker that starts late or loses its core holds back at most the one piece it
/// is running, never a share of the job. Workers sleep while there is nothing to take (no spinning).
/// Safe from several threads at once and from inside a piece (the nested job's caller runs it). If a
/// piece throws, the pieces not yet started are skipped and the first exception is rethrown once the
/// started ones have finished.
void run_pieces(std::int64_t pieces, int threads, piece_fn body);

/// The thread bound of a CPU copy: `requested` when it is > 0, else the process's setting
/// (set_thread_setting), else default_threads().
int cpu_threads(int requested = 0);

/// The default team bound: the CPUs in the calling thread's affinity mask (sched_getaffinity), at
/// most OMP_NUM_THREADS when that is set to a positive number (its first value for a list).
int default_threads();

/// The process-wide thread setting; 0 restores the default. Not checked here (the front door is).
void set_thread_setting(int threads) noexcept;
int thread_setting() noexcept;

/// OMP_NUM_THREADS as the default reads it: the first entry of a comma-separated list, or 0 when the
/// text is absent, empty or not a positive number.
int parse_num_threads(const char* text) noexcept;

/// What the pool has done since the process started, for benchmarks and tests: jobs run with a team
/// (more than one thread allowed and more than one piece), pieces run by workers, and the jobs whose
/// caller, out of pieces, had to wait for pieces that workers were still running, with the total of
/// those waits.
struct pool_stats {
  std::int64_t team_jobs = 0;
  std::int64_t worker_pieces = 0;
  std::int64_t caller_waits = 0;
  std::int64_t caller_wait_ns = 0;
};
pool_stats get_pool_stats() noexcept;

/// Test seam: when set, called on the thread that runs a piece, just before it runs it.
using piece_observer = void (*)();
void set_piece_observer(piece_observer observer) noexcept;

}  // namespace stridecopy::detail
