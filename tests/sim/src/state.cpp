// tests/sim/src/state.cpp — the simulator's engine: settings from the environment, reports, API
// entry (counting, fault injection, calls from host functions), handles, and streams as FIFOs run
// by worker threads with random delays, CUDA's legacy-stream synchronisation and happens-before clocks.
#include "state.hpp"

#include <execinfo.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string_view>

namespace stridecopy_sim::detail {

void join(vclock& into, const vclock& other) {
  if (into.size() < other.size()) into.resize(other.size(), 0);
  for (std::size_t i = 0; i < other.size(); ++i) into[i] = std::max(into[i], other[i]);
}

state& g() {
  static state* s = new state;  // never destroyed: worker threads may outlive static teardown
  return *s;
}

thread_state& self() {
  static thread_local thread_state t;
  return t;
}

namespace {

const auto start_time = std::chrono::steady_clock::now();

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_time).count();
}

/// The exit status of a process the simulator reported on (sanitizer-like).
constexpr int report_exit_status = 66;

std::uint64_t env_number(const char* name, std::uint64_t fallback, std::uint64_t lo, std::uint64_t hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  errno = 0;
  const unsigned long long x = std::strtoull(v, &end, 0);
  if (errno || *end || x < lo || x > hi) {
    std::fprintf(stderr, "stridecopy-sim: %s=\"%s\" is not a number from %llu to %llu\n", name, v,
                 static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi));
    std::_Exit(2);
  }
  return x;
}

/// STRIDECOPY_SIM_FAIL=api:n[:error][,api:n[:error]...]: the nth call of api (from the start) fails.
void parse_faults(const char* spec, std::vector<fault>& out) {
  std::string s(spec);
  std::size_t at = 0;
  while (at < s.size()) {
    const std::size_t comma = std::min(s.find(',', at), s.size());
    const std::string item = s.substr(at, comma - at);
    at = comma + 1;
    const std::size_t c1 = item.find(':');
    if (c1 == std::string::npos) {
      std::fprintf(stderr, "stridecopy-sim: STRIDECOPY_SIM_FAIL item \"%s\" is not api:n[:error]\n", item.c_str());
      std::_Exit(2);
    }
    fault f;
    f.api = item.substr(0, c1) == "*" ? "" : item.substr(0, c1);
    const std::size_t c2 = item.find(':', c1 + 1);
    f.remaining = std::strtol(item.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1).c_str(),
                              nullptr, 10);
    f.error = c2 == std::string::npos ? default_fault_error(f.api)
                                      : cudaError_t(std::strtol(item.substr(c2 + 1).c_str(), nullptr, 10));
    if (f.remaining < 1) {
      std::fprintf(stderr, "stridecopy-sim: STRIDECOPY_SIM_FAIL item \"%s\": n must be >= 1\n", item.c_str());
      std::_Exit(2);
    }
    out.push_back(f);
  }
}

void at_exit() {
  long untaken = 0;
  {
    std::lock_guard<std::mutex> lock(g().m);
    untaken = long(g().reports.size());
  }
  if (untaken == 0) return;
  std::fflush(nullptr);
  std::fprintf(stderr, "stridecopy-sim: %ld report(s) above; exit status %d (replay with STRIDECOPY_SIM_SEED=%llu)\n",
               untaken, report_exit_status, static_cast<unsigned long long>(g().config.seed));
  std::fflush(stderr);
  std::_Exit(report_exit_status);
}

struct sigaction previous_segv {};

/// Host code touched a device address: on a GPU that is a fault or garbage; here it is a report
/// and the end of the process (the address range is mapped without access).
void on_segv(int sig, siginfo_t* info, void* context) {
  const auto a = reinterpret_cast<std::uintptr_t>(info->si_addr);
  const int device = arena_of(a);
  if (device < 0) {
    // Not ours: let the previous handler (or the default action) have it.
    sigaction(SIGSEGV, &previous_segv, nullptr);
    if (previous_segv.sa_flags & SA_SIGINFO) {
      if (previous_segv.sa_sigaction) previous_segv.sa_sigaction(sig, info, context);
    } else if (previous_segv.sa_handler != SIG_DFL && previous_segv.sa_handler != SIG_IGN) {
      previous_segv.sa_handler(sig);
    }
    return;
  }
  char text[256];
  const int n = std::snprintf(text, sizeof text,
                              "stridecopy-sim: host code accessed device memory at %p (device %d): device memory is "
                              "only for kernels and copies (seed %llu)\n",
                              info->si_addr, device, static_cast<unsigned long long>(g().config.seed));
  if (n > 0) (void)!::write(2, text, std::size_t(n));
  void* frames[48];
  const int depth = ::backtrace(frames, 48);
  ::backtrace_symbols_fd(frames, depth, 2);
  std::_Exit(report_exit_status);
}

void map_arena(arena& a, std::size_t bytes) {
  void* dev = ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  void* shadow = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (dev == MAP_FAILED || shadow == MAP_FAILED) {
    std::fprintf(stderr, "stridecopy-sim: cannot reserve %zu bytes of address space for a device\n", bytes);
    std::_Exit(2);
  }
  a.base = reinterpret_cast<std::uintptr_t>(dev);
  a.shadow = static_cast<unsigned char*>(shadow);
  a.size = bytes;
  a.free.emplace(0, bytes);
}

}  // namespace

void initialise() {
  static std::once_flag once;
  std::call_once(once, [] {
    state& st = g();
    settings& c = st.config;
    c.seed = env_number("STRIDECOPY_SIM_SEED", 1, 0, ~std::uint64_t(0));
    c.max_delay_us = unsigned(env_number("STRIDECOPY_SIM_DELAY_US", 100, 0, 10'000'000));
    c.devices = int(env_number("STRIDECOPY_SIM_DEVICES", 1, 1, 8));
    c.device_memory = std::size_t(env_number("STRIDECOPY_SIM_DEVICE_MEMORY", std::uint64_t(4) << 30,
                                             std::uint64_t(1) << 20, std::uint64_t(1) << 40));
    c.device_memory = (c.device_memory + 4095) / 4096 * 4096;
    c.halt = env_number("STRIDECOPY_SIM_HALT", 0, 0, 1) != 0;
    if (const char* f = std::getenv("STRIDECOPY_SIM_FAIL"); f && *f) parse_faults(f, st.faults);
    for (int d = 0; d < c.devices; ++d) {
      auto dev = std::make_unique<device_state>();
      dev->ordinal = d;
      map_arena(dev->mem, c.device_memory);
      st.devices.push_back(std::move(dev));
    }
    {
      std::lock_guard<std::mutex> lock(st.m);
      for (int d = 0; d < c.devices; ++d)
        st.devices[std::size_t(d)]->legacy = new_stream(d, stream::kind::legacy, 0, 0);
    }
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
    std::atexit(at_exit);
  });
}

// ---- reports

void report(const std::string& what) {
  const std::string line = "stridecopy-sim: " + what + " (seed " + std::to_string(g().config.seed) + ")";
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  if (g().config.halt) {
    void* frames[48];
    const int depth = ::backtrace(frames, 48);
    ::backtrace_symbols_fd(frames, depth, 2);
    std::abort();
  }
  g().reports.push_back(line);
  ++g().reports_made;
}

void report_once(const std::string& key, const std::string& what) {
  static std::set<std::string>* seen = new std::set<std::string>;
  if (seen->insert(key).second) report(what);
}

// ---- API entry

cudaError_t default_fault_error(const std::string& api) {
  if (api.find("Malloc") != std::string::npos || api.find("HostAlloc") != std::string::npos ||
      api.find("Create") != std::string::npos)
    return cudaErrorMemoryAllocation;
  if (api.find("Launch") != std::string::npos) return cudaErrorLaunchOutOfResources;
  return cudaErrorUnknown;
}

cudaError_t fail(cudaError_t e) {
  if (e != cudaSuccess && e != cudaErrorNotReady) self().last_error = e;
  return e;
}

cudaError_t enter(const char* api) {
  initialise();
  thread_state& t = self();
  state& st = g();
  std::lock_guard<std::mutex> lock(st.m);
  if (t.in_host_function) {
    report(std::string(api) +
           " called inside a host function or user-object destructor, which may make no CUDA call "
           "(cudaLaunchHostFunc, cudaUserObjectCreate)");
    return fail(cudaErrorNotPermitted);
  }
  if (t.running) return cudaSuccess;  // the simulator's own threads are not counted
  ++st.calls[api];
  ++st.total_calls;
  for (auto it = st.faults.begin(); it != st.faults.end(); ++it) {
    if (!it->api.empty() && it->api != api) continue;
    if (--it->remaining > 0) continue;
    const cudaError_t e = it->error;
    st.faults.erase(it);
    return fail(e);
  }
  return cudaSuccess;
}

// ---- handles

std::uintptr_t make_handle(std::uintptr_t base, std::size_t index) { return base + std::uintptr_t(index) * 16; }

namespace {

/// The table index a handle value names, or -1.
template <class T>
long index_of(std::uintptr_t v, std::uintptr_t base, const std::vector<std::shared_ptr<T>>& table) {
  if (v < base || (v - base) % 16 != 0) return -1;
  const std::uintptr_t i = (v - base) / 16;
  return i < table.size() ? long(i) : -1;
}

std::string hex(std::uintptr_t v) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

}  // namespace

device_state& current_device() { return *g().devices[std::size_t(self().device)]; }

std::string describe(const stream& s) {
  switch (s.type) {
    case stream::kind::legacy: return "the legacy default stream of device " + std::to_string(s.device);
    case stream::kind::per_thread: return "a per-thread default stream of device " + std::to_string(s.device);
    default:
      return "stream " + hex(s.handle) + " (id " + std::to_string(s.uid) + ", device " + std::to_string(s.device) + ")";
  }
}

std::shared_ptr<stream> find_stream(cudaStream_t h, cudaError_t& error, const char* api) {
  state& st = g();
  const auto v = reinterpret_cast<std::uintptr_t>(h);
  if (v == 0 || v == reinterpret_cast<std::uintptr_t>(cudaStreamLegacy)) return current_device().legacy;
  if (v == reinterpret_cast<std::uintptr_t>(cudaStreamPerThread)) {
    auto& mine = self().per_thread;
    if (mine.size() < st.devices.size()) mine.resize(st.devices.size());
    auto& s = mine[std::size_t(self().device)];
    if (!s) s = new_stream(self().device, stream::kind::per_thread, 0, 0);
    return s;
  }
  const long i = index_of(v, stream_base, st.streams);
  if (i < 0 || !st.streams[std::size_t(i)] || st.streams[std::size_t(i)]->type != stream::kind::created) {
    report(std::string(api) + " was given " + hex(v) + ", which is not a stream handle");
    error = fail(cudaErrorInvalidResourceHandle);
    return nullptr;
  }
  auto s = st.streams[std::size_t(i)];
  if (s->destroyed) {
    report(std::string(api) + " was given " + describe(*s) + ", which was destroyed");
    error = fail(cudaErrorInvalidResourceHandle);
    return nullptr;
  }
  return s;
}

std::shared_ptr<event> find_event(cudaEvent_t h, cudaError_t& error, const char* api) {
  state& st = g();
  const auto v = reinterpret_cast<std::uintptr_t>(h);
  const long i = index_of(v, event_base, st.events);
  if (i < 0) {
    report(std::string(api) + " was given " + hex(v) + ", which is not an event handle");
    error = fail(cudaErrorInvalidResourceHandle);
    return nullptr;
  }
  auto e = st.events[std::size_t(i)];
  if (e->destroyed) {
    report(std::string(api) + " was given event " + hex(v) + ", which was destroyed");
    error = fail(cudaErrorInvalidResourceHandle);
    return nullptr;
  }
  return e;
}

// ---- streams and operations

namespace {

void worker(std::shared_ptr<stream> s) {
  state& st = g();
  std::unique_lock<std::mutex> lock(st.m);
  for (;;) {
    s->wake.wait(lock, [&] { return !s->queue.empty() || s->destroyed; });
    if (s->queue.empty()) return;  // destroyed, and every operation it held has run
    const op_ptr o = s->queue.front();
    st.done.wait(
        lock, [&] { return std::all_of(o->after.begin(), o->after.end(), [](const op_ptr& a) { return a->done; }); });
    start_clock(*o);
    unsigned delay = 0;
    if (st.config.max_delay_us > 0 && (s->rng() & 1))
      delay = unsigned(std::uniform_int_distribution<unsigned>(1, st.config.max_delay_us)(s->rng));
    lock.unlock();
    if (delay) std::this_thread::sleep_for(std::chrono::microseconds(delay));
    execute(*o);
    lock.lock();
    flush_accesses(*o);
    o->end_clock = o->clock;
    if (o->host_function) join(o->end_clock, st.observed);
    o->done = true;
    o->finished_ms = now_ms();
    o->run = nullptr;  // what the payload holds goes with it, in stream order
    s->queue.pop_front();
    --st.pending_ops;
    st.done.notify_all();
  }
}

}  // namespace

std::shared_ptr<stream> new_stream(int device, stream::kind type, unsigned flags, int priority) {
  state& st = g();
  auto s = std::make_shared<stream>();
  s->type = type;
  s->device = device;
  s->flags = flags;
  s->priority = priority;
  s->uid = st.next_stream_uid++;
  s->handle = make_handle(stream_base, st.streams.size());
  s->timeline = st.timelines++;
  s->rng.seed(st.config.seed * 0x9E3779B97F4A7C15ull + s->uid);
  st.streams.push_back(s);
  return s;
}

op_ptr make_op(std::string what, int device, std::function<void(op&)> run, bool host_function) {
  auto o = std::make_shared<op>();
  o->what = std::make_shared<const std::string>(std::move(what));
  o->device = device;
  o->run = std::move(run);
  o->host_function = host_function;
  return o;
}

void enqueue(stream& s, const op_ptr& o) {
  state& st = g();
  o->known = st.observed;
  o->previous = s.last;
  const auto add_after = [&](const std::shared_ptr<stream>& other) {
    if (other && other.get() != &s && other->last) o->after.push_back(other->last);
  };
  // The legacy stream waits for the blocking streams of its device, and they wait for it.
  if (s.type == stream::kind::legacy) {
    for (const auto& other : st.streams)
      if (other->device == s.device && other->blocking() && !other->cap) add_after(other);
  } else if (s.blocking()) {
    add_after(st.devices[std::size_t(s.device)]->legacy);
  }
  o->timeline = s.timeline;
  o->seq = ++s.seq;
  o->device = s.device;
  s.last = o;
  s.queue.push_back(o);
  ++st.pending_ops;
  if (!s.worker_started) {
    s.worker_started = true;
    std::thread(worker, st.streams[(s.handle - stream_base) / 16]).detach();
  }
  s.wake.notify_one();
}

void start_clock(op& o) {
  vclock c = std::move(o.known);
  if (o.previous) join(c, o.previous->end_clock);
  for (const op_ptr& a : o.after) join(c, a->end_clock);
  if (c.size() <= std::size_t(o.timeline)) c.resize(std::size_t(o.timeline) + 1, 0);
  c[std::size_t(o.timeline)] = o.seq;
  o.clock = std::move(c);
  o.previous = nullptr;
  o.after.clear();
}

cudaError_t submit(stream& s, const op_ptr& o) {
  state& st = g();
  if (s.cap) {
    capture& c = *s.cap;
    if (c.invalidated) return fail(cudaErrorStreamCaptureInvalidated);
    graph_node n;
    n.what = o->what;
    n.run = o->run;
    n.deps = s.frontier;
    n.host_function = o->host_function;
    c.g->nodes.push_back(std::move(n));
    s.frontier = {c.g->nodes.size() - 1};
    return cudaSuccess;
  }
  if (s.type == stream::kind::legacy) {
    // The legacy stream would synchronise with a capturing blocking stream: CUDA forbids it, and
    // the capture is lost.
    bool conflict = false;
    for (const auto& c : st.captures)
      for (const auto& m : c->members)
        if (m->device == s.device && m->blocking() && !c->invalidated) {
          invalidate_capture(*c);
          conflict = true;
        }
    if (conflict) return fail(cudaErrorStreamCaptureImplicit);
  }
  enqueue(s, o);
  return cudaSuccess;
}

void observe(const vclock& c) { join(g().observed, c); }

void wait_for(std::unique_lock<std::mutex>& lock, const op_ptr& o) {
  if (!o) return;
  g().done.wait(lock, [&] { return o->done; });
  observe(o->end_clock);
}

std::vector<op_ptr> sync_targets(stream& s) {
  std::vector<op_ptr> out;
  if (s.last) out.push_back(s.last);
  if (s.type == stream::kind::legacy)
    for (const auto& other : g().streams)
      if (other->device == s.device && other->blocking() && other->last && !other->cap) out.push_back(other->last);
  return out;
}

void invalidate_capture(capture& c) { c.invalidated = true; }

cudaError_t unsafe_call_check(const char* api) {
  state& st = g();
  const auto me = std::this_thread::get_id();
  const cudaStreamCaptureMode mode = self().capture_mode;
  if (mode == cudaStreamCaptureModeRelaxed) return cudaSuccess;
  bool prohibited = false;
  for (const auto& c : st.captures) {
    if (c->invalidated) continue;
    const bool mine = c->thread == me && c->mode != cudaStreamCaptureModeRelaxed;
    const bool others =
        mode == cudaStreamCaptureModeGlobal && c->thread != me && c->mode == cudaStreamCaptureModeGlobal;
    if (mine || others) {
      invalidate_capture(*c);
      prohibited = true;
    }
  }
  if (!prohibited) return cudaSuccess;
  (void)api;
  return fail(cudaErrorStreamCaptureUnsupported);
}

void execute(op& o) {
  thread_state& t = self();
  t.running = &o;
  if (o.host_function) {
    as_host_function(o.device, [&] { o.run(o); });
  } else if (o.run) {
    o.run(o);
  }
  t.running = nullptr;
}

}  // namespace stridecopy_sim::detail
