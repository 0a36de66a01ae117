// tests/sim/src/state.hpp — the simulator's internal state (not installed): devices with their memory
// arenas, streams run by worker threads, operations with happens-before clocks, events, allocations
// with the accesses made to them, capture sequences and graphs, and the reports.
#pragma once

#include <cuda_runtime_api.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace stridecopy_sim::detail {

// ---- happens-before clocks: one entry per timeline (a stream, or a graph's launches)

using vclock = std::vector<std::uint64_t>;
void join(vclock& into, const vclock& other);
inline std::uint64_t at(const vclock& c, int timeline) {
  return timeline >= 0 && std::size_t(timeline) < c.size() ? c[std::size_t(timeline)] : 0;
}
/// True when the operation (timeline, seq) happens before everything that knows clock c.
inline bool ordered_before(int timeline, std::uint64_t seq, const vclock& c) { return seq <= at(c, timeline); }

struct allocation;

/// One access an operation made to a tracked allocation, kept for the checks of later operations.
struct access_record {
  std::uintptr_t lo = 0, hi = 0;  ///< bytes [lo, hi)
  bool write = false;
  int timeline = -1;
  std::uint64_t seq = 0;
  std::shared_ptr<const std::string> what;  ///< the operation, for reports
};

/// What an operation touched while it ran, flushed into the allocations' records when it ends.
struct touched {
  std::shared_ptr<allocation> alloc;
  std::uintptr_t read_lo = ~std::uintptr_t(0), read_hi = 0, write_lo = ~std::uintptr_t(0), write_hi = 0;
};

struct op;
using op_ptr = std::shared_ptr<op>;

/// Work queued on a stream: a copy, a kernel, a host function, a marker (event record, wait), ...
/// Its clock is made when it starts, from what it follows: host code's knowledge when it was
/// enqueued, the stream's previous operation and the operations it waits for, as they ended.
struct op {
  std::shared_ptr<const std::string> what;
  int timeline = -1;
  std::uint64_t seq = 0;
  vclock known;               ///< what host code had observed when it was enqueued
  op_ptr previous;            ///< the stream's operation before it (until it starts)
  std::vector<op_ptr> after;  ///< must have completed before it starts (beyond stream order)
  vclock clock;               ///< what happens before it (its own entry included), from its start
  /// What happens before the work that follows it: its clock, and for a host function also what
  /// host code had observed when it returned (host code may have synchronised with it).
  vclock end_clock;
  std::function<void(op&)> run;
  bool host_function = false;  ///< runs user code: CUDA calls inside are reported
  int device = 0;
  bool done = false;              ///< under the lock
  double finished_ms = 0;         ///< when it completed (event timing)
  std::vector<touched> accesses;  ///< filled by the worker while it runs
};

struct capture;
struct device_state;

struct stream {
  enum class kind { legacy, per_thread, created };
  kind type = kind::created;
  int device = 0;
  unsigned flags = 0;  ///< cudaStreamNonBlocking or default
  int priority = 0;
  unsigned long long uid = 0;  ///< cudaStreamGetId: never reused
  std::uintptr_t handle = 0;
  int timeline = -1;
  std::uint64_t seq = 0;
  op_ptr last;  ///< the last operation enqueued
  std::deque<op_ptr> queue;
  bool destroyed = false;
  bool worker_started = false;
  std::condition_variable wake;
  std::mt19937_64 rng;  ///< this stream's delays
  // Capture: the sequence this stream takes part in, and the nodes its next work depends on.
  std::shared_ptr<capture> cap;
  std::vector<std::size_t> frontier;
  /// Freed on this stream (cudaFreeAsync), the free not yet run: a later cudaMallocAsync on this
  /// stream may take the block at once, since stream order puts it after the free.
  std::vector<std::shared_ptr<allocation>> freed_in_order;
  bool blocking() const { return type == kind::legacy || !(flags & cudaStreamNonBlocking); }
};

struct event {
  int device = 0;
  unsigned flags = 0;
  std::uintptr_t handle = 0;
  bool destroyed = false;
  bool recorded = false;
  op_ptr marker;  ///< the record's marker operation
  // The last record happened in a capture sequence: the nodes it stands for.
  std::shared_ptr<capture> cap;
  std::vector<std::size_t> nodes;
};

// ---- memory

struct allocation {
  enum class kind { device, pinned, registered };
  kind type = kind::device;
  std::uint64_t uid = 0;
  int device = 0;
  std::uintptr_t begin = 0;
  std::size_t size = 0;
  std::size_t offset = 0, reserved = 0;  ///< device: the arena bytes it holds, red zone included
  const char* how = "";                  ///< the call that made it
  unsigned flags = 0;
  bool live = true;          ///< false once freed
  bool installed = false;    ///< device: its address is the one kernels and copies find
  bool block_taken = false;  ///< device: a later stream-ordered allocation owns its arena block
  int alloc_timeline = -1;   ///< stream-ordered: the allocation's operation
  std::uint64_t alloc_seq = 0;
  std::shared_ptr<const std::string> freed_by;
  std::vector<access_record> records;
  std::string describe() const;
};

/// A device's memory: a range of addresses host code cannot touch (PROT_NONE), and the shadow that
/// simulated device work reads and writes at the same offsets.
struct arena {
  std::uintptr_t base = 0;
  unsigned char* shadow = nullptr;
  std::size_t size = 0;
  std::map<std::size_t, std::size_t> free;  ///< offset -> length, coalesced
  std::size_t used = 0;
  bool contains(std::uintptr_t a) const { return a >= base && a - base < size; }
};

struct device_state {
  int ordinal = 0;
  arena mem;
  std::shared_ptr<stream> legacy;
  std::mutex host_functions;  ///< CUDA may serialise host functions of one device: the simulator does
};

// ---- capture and graphs

struct graph_node {
  std::shared_ptr<const std::string> what;
  std::function<void(op&)> run;
  std::vector<std::size_t> deps;
  bool host_function = false;
};

struct user_object {
  std::uintptr_t handle = 0;
  void* ptr = nullptr;
  cudaHostFn_t destroy = nullptr;
  unsigned refs = 0;
  bool destroyed = false;
};

struct graph {
  std::uintptr_t handle = 0;
  int device = 0;
  bool destroyed = false;
  bool capturing = false;  ///< still being built by a capture sequence
  std::vector<graph_node> nodes;
  std::vector<std::pair<std::shared_ptr<user_object>, unsigned>> retained;
};

struct graph_exec {
  std::uintptr_t handle = 0;
  int device = 0;
  bool destroyed = false;
  std::vector<graph_node> nodes;
  std::vector<std::pair<std::shared_ptr<user_object>, unsigned>> retained;
  op_ptr last_launch;
  std::uint64_t launches = 0;
};

struct capture {
  std::shared_ptr<graph> g;
  std::shared_ptr<stream> origin;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::thread::id thread;
  unsigned long long id = 0;
  bool invalidated = false;
  std::vector<std::shared_ptr<stream>> members;
};

// ---- the process-wide state

struct settings {
  std::uint64_t seed = 1;
  unsigned max_delay_us = 100;
  int devices = 1;
  std::size_t device_memory = std::size_t(4) << 30;
  bool halt = false;
};

struct fault {
  std::string api;  ///< "" for any call
  long remaining = 0;
  cudaError_t error = cudaErrorUnknown;
};

struct state {
  std::mutex m;
  std::condition_variable done;  ///< notified whenever an operation completes
  settings config;
  std::vector<std::unique_ptr<device_state>> devices;
  std::vector<std::shared_ptr<stream>> streams;  ///< by handle index; destroyed ones stay
  std::vector<std::shared_ptr<event>> events;
  std::vector<std::shared_ptr<graph>> graphs;
  std::vector<std::shared_ptr<graph_exec>> execs;
  std::vector<std::shared_ptr<user_object>> user_objects;
  std::vector<std::shared_ptr<capture>> captures;  ///< active ones
  int timelines = 0;
  unsigned long long next_stream_uid = 1, next_capture_id = 1;
  std::uint64_t next_alloc_uid = 1;
  vclock observed;  ///< what host code has seen complete (synchronisations), as one clock
  std::map<std::uintptr_t, std::shared_ptr<allocation>> device_allocs;        ///< installed, by begin
  std::multimap<std::uintptr_t, std::shared_ptr<allocation>> pending_allocs;  ///< stream-ordered, not yet run
  std::deque<std::shared_ptr<allocation>> freed;  ///< the last device allocations freed, newest last
  std::map<std::uintptr_t, std::shared_ptr<allocation>> host_allocs;  ///< pinned and registered
  std::vector<fault> faults;
  std::map<std::string, long> calls;
  long total_calls = 0;
  std::vector<std::string> reports;  ///< not yet taken by a test
  long reports_made = 0;
  std::size_t pending_ops = 0;  ///< enqueued, not yet completed
};

state& g();
/// Reads the environment once, maps the arenas, installs the fault handler. Idempotent.
void initialise();

// ---- per host thread

struct thread_state {
  int device = 0;
  cudaError_t last_error = cudaSuccess;
  bool in_host_function = false;
  cudaStreamCaptureMode capture_mode = cudaStreamCaptureModeGlobal;
  std::vector<std::shared_ptr<stream>> per_thread;  ///< cudaStreamPerThread, by device
  op* running = nullptr;                            ///< the operation this worker runs
};
thread_state& self();

// ---- reports: what CUDA leaves undefined or forbids

/// Prints the report (and remembers it for take_reports); the process exits nonzero at the end
/// unless a test took it. STRIDECOPY_SIM_HALT=1 aborts at the first one.
void report(const std::string& what);
/// Reports at most once per distinct key (floods of one race stay readable).
void report_once(const std::string& key, const std::string& what);

// ---- API entry

/// Every API call: counts it, refuses it inside host functions, applies fault injection.
/// Returns cudaSuccess or the error to return.
cudaError_t enter(const char* api);
/// The error an injected fault of `api` returns unless told: what that kind of call fails with.
cudaError_t default_fault_error(const std::string& api);
/// Records e as the thread's last error (unless it is success or not-ready) and returns it.
cudaError_t fail(cudaError_t e);

// ---- handles

std::uintptr_t make_handle(std::uintptr_t base, std::size_t index);
inline constexpr std::uintptr_t stream_base = 0x5c0000000000, event_base = 0x5e0000000000, graph_base = 0x600000000000,
                                exec_base = 0x620000000000, user_object_base = 0x640000000000;

/// The stream behind a handle (0 and cudaStreamLegacy: the current device's legacy stream;
/// cudaStreamPerThread: this thread's); nullptr with the error to return otherwise. Under the lock.
std::shared_ptr<stream> find_stream(cudaStream_t h, cudaError_t& error, const char* api);
std::shared_ptr<event> find_event(cudaEvent_t h, cudaError_t& error, const char* api);
device_state& current_device();
std::string describe(const stream& s);

// ---- streams and operations (under the lock)

std::shared_ptr<stream> new_stream(int device, stream::kind type, unsigned flags, int priority);
op_ptr make_op(std::string what, int device, std::function<void(op&)> run, bool host_function = false);
/// Queues o on s with s's stream order, the legacy stream's implicit synchronisation and what host
/// code has observed. The stream must not be capturing.
void enqueue(stream& s, const op_ptr& o);
/// Queues work on s, or adds it to s's capture sequence; refuses the legacy stream while a blocking
/// stream of its device captures (cudaErrorStreamCaptureImplicit).
cudaError_t submit(stream& s, const op_ptr& o);
/// Makes o's clock as it starts (its dependencies have ended). Under the lock.
void start_clock(op& o);
/// Waits until o completed; then host code has observed it. Releases the lock while waiting.
void wait_for(std::unique_lock<std::mutex>& lock, const op_ptr& o);
/// The operations a synchronisation of s waits for (the legacy stream: also the blocking streams').
std::vector<op_ptr> sync_targets(stream& s);
void observe(const vclock& c);
/// Ends a capture sequence with an error (what CUDA calls an invalidated capture).
void invalidate_capture(capture& c);
/// Nonzero when host code on this thread may not make "potentially unsafe" calls because of a
/// capture in progress (CUDA's capture modes); the error to return then.
cudaError_t unsafe_call_check(const char* api);
/// Runs an operation's payload on this thread (a worker) with the bookkeeping around it.
void execute(op& o);
/// Runs user code as CUDA runs host functions: one at a time per device, CUDA calls reported.
template <class F>
void as_host_function(int device, F&& f) {
  const std::lock_guard<std::mutex> serial(g().devices[std::size_t(device)]->host_functions);
  thread_state& t = self();
  t.in_host_function = true;
  f();
  t.in_host_function = false;
}

// ---- memory (memory.cpp); under the lock unless said otherwise

/// The allocation holding [p, p + n): installed device allocations, then pending stream-ordered
/// ones (when `pending`), then pinned and registered host memory; nullptr when none holds it all.
std::shared_ptr<allocation> find_allocation(const void* p, std::size_t n, bool pending);
/// Which device arena holds address a, or -1.
int arena_of(std::uintptr_t a);
/// Where simulated device work reads and writes the byte at device address a.
unsigned char* shadow_of(std::uintptr_t a);
/// The arena bytes an allocation of n bytes takes: rounded up to the allocation granule, plus a red
/// zone that belongs to no allocation.
std::size_t device_block_bytes(std::size_t n);
/// Reserves n bytes of device memory on `device` (nullptr when the arena is full).
std::shared_ptr<allocation> reserve_device(int device, std::size_t n, const char* how);
/// The device allocation's address becomes the one kernels and copies find; poisoned as uninitialised.
void install(const std::shared_ptr<allocation>& a);
/// Ends an allocation: its accesses must happen before `by` (reported otherwise), its bytes are
/// poisoned and returned. Device memory only.
void release_device(const std::shared_ptr<allocation>& a, const op& by);
/// A device allocation freed recently that held address a (for the words of a report), or nullptr.
std::shared_ptr<allocation> recently_freed(std::uintptr_t a);
/// Checks and keeps the accesses o made (its clock against earlier ones, liveness, allocation order).
void flush_accesses(op& o);
/// Resolves the access of a copy or memset (any thread): the bytes to read or write, recorded in o.
/// Device memory outside any live allocation is reported and yields nullptr.
unsigned char* touch(op& o, const void* p, std::size_t n, bool write, const char* role);

}  // namespace stridecopy_sim::detail
