// tests/sim/src/api_graph.cpp — stream capture and graphs: capture sequences that streams join by
// waiting for captured events and must rejoin before the end, what CUDA forbids while capturing, graph
// launches that run their nodes in a random order the dependencies allow, and user objects.
#include <algorithm>
#include <thread>

#include "state.hpp"

using namespace stridecopy_sim::detail;

namespace {

template <class T>
std::shared_ptr<T> find_handle(const std::vector<std::shared_ptr<T>>& table, std::uintptr_t base, const void* h,
                               const char* api, const char* what, cudaError_t& error) {
  const auto v = reinterpret_cast<std::uintptr_t>(h);
  const std::uintptr_t i = (v - base) / 16;
  if (v < base || (v - base) % 16 != 0 || i >= table.size()) {
    report(std::string(api) + " was given a value that is not a " + what + " handle");
    error = fail(cudaErrorInvalidResourceHandle);
    return nullptr;
  }
  auto p = table[i];
  if (p->destroyed) {
    report(std::string(api) + " was given a " + what + " that was destroyed");
    error = fail(cudaErrorInvalidResourceHandle);
    return nullptr;
  }
  return p;
}

using retained_list = std::vector<std::pair<std::shared_ptr<user_object>, unsigned>>;

/// Drops references; returns the destructors that became due, to be run without the lock.
std::vector<std::pair<cudaHostFn_t, void*>> drop(const std::shared_ptr<user_object>& u, unsigned count) {
  std::vector<std::pair<cudaHostFn_t, void*>> due;
  if (count > u->refs) {
    report("a user object's references are released " + std::to_string(count) + " times, but it holds " +
           std::to_string(u->refs));
    count = u->refs;
  }
  u->refs -= count;
  if (u->refs == 0 && !u->destroyed) {
    u->destroyed = true;
    due.emplace_back(u->destroy, u->ptr);
  }
  return due;
}

std::vector<std::pair<cudaHostFn_t, void*>> drop_all(retained_list& list) {
  std::vector<std::pair<cudaHostFn_t, void*>> due;
  for (auto& [u, count] : list) {
    auto d = drop(u, count);
    due.insert(due.end(), d.begin(), d.end());
  }
  list.clear();
  return due;
}

/// User-object destructors may make no CUDA call, as host functions may not.
void run_destructors(const std::vector<std::pair<cudaHostFn_t, void*>>& due) {
  thread_state& t = self();
  const bool was = t.in_host_function;
  t.in_host_function = true;
  for (const auto& [fn, p] : due) fn(p);
  t.in_host_function = was;
}

/// Every node of `nodes`, once, each after its dependencies, the next chosen at random among those
/// ready: a graph launch here takes one of the orders a GPU may run it in.
void run_graph(op& o, const std::vector<graph_node>& nodes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> waiting(nodes.size());
  std::vector<std::vector<std::size_t>> users(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    waiting[i] = nodes[i].deps.size();
    for (std::size_t d : nodes[i].deps) users[d].push_back(i);
  }
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (waiting[i] == 0) ready.push_back(i);
  while (!ready.empty()) {
    const std::size_t pick = std::uniform_int_distribution<std::size_t>(0, ready.size() - 1)(rng);
    const std::size_t n = ready[pick];
    ready.erase(ready.begin() + std::ptrdiff_t(pick));
    const graph_node& node = nodes[n];
    if (node.host_function) {
      as_host_function(o.device, [&] { node.run(o); });
    } else if (node.run) {
      node.run(o);
    }
    for (std::size_t u : users[n])
      if (--waiting[u] == 0) ready.push_back(u);
  }
}

}  // namespace

extern "C" {

cudaError_t cudaStreamBeginCapture(cudaStream_t sh, cudaStreamCaptureMode mode) {
  if (cudaError_t e = enter("cudaStreamBeginCapture")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, "cudaStreamBeginCapture");
  if (!s) return error;
  if (s->type == stream::kind::legacy) return fail(cudaErrorStreamCaptureUnsupported);
  if (s->cap) return fail(cudaErrorIllegalState);
  if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
      mode != cudaStreamCaptureModeRelaxed)
    return fail(cudaErrorInvalidValue);
  auto c = std::make_shared<capture>();
  c->g = std::make_shared<graph>();
  c->g->device = s->device;
  c->g->capturing = true;
  c->g->handle = make_handle(graph_base, g().graphs.size());  // cudaStreamGetCaptureInfo hands it out
  g().graphs.push_back(c->g);
  c->origin = s;
  c->mode = mode;
  c->thread = std::this_thread::get_id();
  c->id = g().next_capture_id++;
  c->members.push_back(s);
  s->cap = c;
  s->frontier.clear();
  g().captures.push_back(c);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t sh, cudaGraph_t* out) {
  if (cudaError_t e = enter("cudaStreamEndCapture")) return e;
  if (!out) return fail(cudaErrorInvalidValue);
  std::unique_lock<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, "cudaStreamEndCapture");
  if (!s) return error;
  *out = nullptr;
  if (!s->cap) return fail(cudaErrorIllegalState);
  const std::shared_ptr<capture> c = s->cap;
  if (c->origin != s) return fail(cudaErrorStreamCaptureUnmatched);
  if (c->mode != cudaStreamCaptureModeRelaxed && c->thread != std::this_thread::get_id())
    return fail(cudaErrorStreamCaptureWrongThread);
  // Every stream that joined must have rejoined the origin: its last work is an ancestor of the
  // origin's.
  bool unjoined = false;
  if (!c->invalidated) {
    const auto& nodes = c->g->nodes;
    std::vector<char> reached(nodes.size(), 0);
    std::vector<std::size_t> todo(s->frontier.begin(), s->frontier.end());
    while (!todo.empty()) {
      const std::size_t n = todo.back();
      todo.pop_back();
      if (reached[n]) continue;
      reached[n] = 1;
      todo.insert(todo.end(), nodes[n].deps.begin(), nodes[n].deps.end());
    }
    for (const auto& m : c->members)
      if (m != s)
        for (std::size_t n : m->frontier) unjoined = unjoined || !reached[n];
  }
  for (const auto& m : c->members) {
    m->cap = nullptr;
    m->frontier.clear();
  }
  std::erase(g().captures, c);
  std::shared_ptr<graph> result = std::move(c->g);  // events recorded in the sequence now see it ended
  result->capturing = false;
  if (c->invalidated || unjoined) {
    // The graph is discarded, and with it what it retained.
    result->destroyed = true;
    auto due = drop_all(result->retained);
    lock.unlock();
    run_destructors(due);
    return fail(c->invalidated ? cudaErrorStreamCaptureInvalidated : cudaErrorStreamCaptureUnjoined);
  }
  *out = reinterpret_cast<cudaGraph_t>(result->handle);
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t sh, cudaStreamCaptureStatus* status) {
  if (cudaError_t e = enter("cudaStreamIsCapturing")) return e;
  if (!status) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, "cudaStreamIsCapturing");
  if (!s) return error;
  if (s->type == stream::kind::legacy)
    for (const auto& c : g().captures)
      for (const auto& m : c->members)
        if (m->device == s->device && m->blocking()) return fail(cudaErrorStreamCaptureImplicit);
  *status = !s->cap               ? cudaStreamCaptureStatusNone
            : s->cap->invalidated ? cudaStreamCaptureStatusInvalidated
                                  : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaStreamGetCaptureInfo(cudaStream_t sh, cudaStreamCaptureStatus* status, unsigned long long* id,
                                     cudaGraph_t* graph_out, const cudaGraphNode_t** deps,
                                     const cudaGraphEdgeData** edges, size_t* count) {
  if (cudaError_t e = enter("cudaStreamGetCaptureInfo")) return e;
  if (!status) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, "cudaStreamGetCaptureInfo");
  if (!s) return error;
  *status = !s->cap               ? cudaStreamCaptureStatusNone
            : s->cap->invalidated ? cudaStreamCaptureStatusInvalidated
                                  : cudaStreamCaptureStatusActive;
  if (id && s->cap) *id = s->cap->id;
  if (graph_out) *graph_out = s->cap && s->cap->g ? reinterpret_cast<cudaGraph_t>(s->cap->g->handle) : nullptr;
  if (deps) *deps = nullptr;
  if (edges) *edges = nullptr;
  if (count) *count = 0;
  return cudaSuccess;
}

cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode) {
  if (cudaError_t e = enter("cudaThreadExchangeStreamCaptureMode")) return e;
  if (!mode) return fail(cudaErrorInvalidValue);
  std::swap(*mode, self().capture_mode);
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* out, cudaGraph_t gh, unsigned long long flags) {
  if (cudaError_t e = enter("cudaGraphInstantiate")) return e;
  if (!out || (flags & ~(unsigned long long)(cudaGraphInstantiateFlagAutoFreeOnLaunch |
                                             cudaGraphInstantiateFlagUseNodePriority)))
    return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto gr = find_handle(g().graphs, graph_base, gh, "cudaGraphInstantiate", "graph", error);
  if (!gr) return error;
  if (gr->capturing) return fail(cudaErrorInvalidValue);
  auto x = std::make_shared<graph_exec>();
  x->device = gr->device;
  x->nodes = gr->nodes;
  for (const auto& [u, count] : gr->retained) {  // the executable holds references of its own
    u->refs += count;
    x->retained.emplace_back(u, count);
  }
  x->handle = make_handle(exec_base, g().execs.size());
  g().execs.push_back(x);
  *out = reinterpret_cast<cudaGraphExec_t>(x->handle);
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* out, cudaGraph_t gh, unsigned long long flags) {
  return cudaGraphInstantiateWithFlags(out, gh, flags);
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t xh, cudaStream_t sh) {
  if (cudaError_t e = enter("cudaGraphLaunch")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto x = find_handle(g().execs, exec_base, xh, "cudaGraphLaunch", "graph exec", error);
  if (!x) return error;
  auto s = find_stream(sh, error, "cudaGraphLaunch");
  if (!s) return error;
  if (s->cap) {  // child graphs are not simulated
    invalidate_capture(*s->cap);
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  const std::uint64_t seed = s->rng();
  auto o = make_op("launch " + std::to_string(x->launches + 1) + " of a graph of " + std::to_string(x->nodes.size()) +
                       " nodes on " + describe(*s),
                   s->device, [x, seed](op& self_op) { run_graph(self_op, x->nodes, seed); });
  // A graph never runs concurrently with itself: each launch follows the previous one.
  if (x->last_launch) o->after.push_back(x->last_launch);
  if (cudaError_t e = submit(*s, o)) return e;
  x->last_launch = o;
  ++x->launches;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t xh) {
  if (cudaError_t e = enter("cudaGraphExecDestroy")) return e;
  std::unique_lock<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto x = find_handle(g().execs, exec_base, xh, "cudaGraphExecDestroy", "graph exec", error);
  if (!x) return error;
  x->destroyed = true;
  if (x->last_launch && !x->last_launch->done) {
    // Pending launches still hold the executable's references: they go when the last one is done.
    std::thread([x] {
      std::unique_lock<std::mutex> inner(g().m);
      g().done.wait(inner, [&] { return x->last_launch->done; });
      auto due = drop_all(x->retained);
      inner.unlock();
      run_destructors(due);
    }).detach();
    return cudaSuccess;
  }
  auto due = drop_all(x->retained);
  lock.unlock();
  run_destructors(due);
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t gh) {
  if (cudaError_t e = enter("cudaGraphDestroy")) return e;
  std::unique_lock<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto gr = find_handle(g().graphs, graph_base, gh, "cudaGraphDestroy", "graph", error);
  if (!gr) return error;
  gr->destroyed = true;
  auto due = drop_all(gr->retained);
  lock.unlock();
  run_destructors(due);
  return cudaSuccess;
}

cudaError_t cudaUserObjectCreate(cudaUserObject_t* out, void* ptr, cudaHostFn_t destroy, unsigned int initial,
                                 unsigned int flags) {
  if (cudaError_t e = enter("cudaUserObjectCreate")) return e;
  // CUDA requires cudaUserObjectNoDestructorSync: destructors run without waiting for anything.
  if (!out || !destroy || initial == 0 || flags != cudaUserObjectNoDestructorSync) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  auto u = std::make_shared<user_object>();
  u->ptr = ptr;
  u->destroy = destroy;
  u->refs = initial;
  u->handle = make_handle(user_object_base, g().user_objects.size());
  g().user_objects.push_back(u);
  *out = reinterpret_cast<cudaUserObject_t>(u->handle);
  return cudaSuccess;
}

cudaError_t cudaUserObjectRetain(cudaUserObject_t uh, unsigned int count) {
  if (cudaError_t e = enter("cudaUserObjectRetain")) return e;
  if (count == 0) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto u = find_handle(g().user_objects, user_object_base, uh, "cudaUserObjectRetain", "user object", error);
  if (!u) return error;
  u->refs += count;
  return cudaSuccess;
}

cudaError_t cudaUserObjectRelease(cudaUserObject_t uh, unsigned int count) {
  if (cudaError_t e = enter("cudaUserObjectRelease")) return e;
  if (count == 0) return fail(cudaErrorInvalidValue);
  std::unique_lock<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto u = find_handle(g().user_objects, user_object_base, uh, "cudaUserObjectRelease", "user object", error);
  if (!u) return error;
  auto due = drop(u, count);
  lock.unlock();
  run_destructors(due);
  return cudaSuccess;
}

cudaError_t cudaGraphRetainUserObject(cudaGraph_t gh, cudaUserObject_t uh, unsigned int count, unsigned int flags) {
  if (cudaError_t e = enter("cudaGraphRetainUserObject")) return e;
  if (count == 0 || (flags & ~unsigned(cudaGraphUserObjectMove))) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto gr = find_handle(g().graphs, graph_base, gh, "cudaGraphRetainUserObject", "graph", error);
  if (!gr) return error;
  auto u = find_handle(g().user_objects, user_object_base, uh, "cudaGraphRetainUserObject", "user object", error);
  if (!u) return error;
  if (!(flags & cudaGraphUserObjectMove)) u->refs += count;  // move: the caller's references pass to the graph
  gr->retained.emplace_back(u, count);
  return cudaSuccess;
}

cudaError_t cudaGraphReleaseUserObject(cudaGraph_t gh, cudaUserObject_t uh, unsigned int count) {
  if (cudaError_t e = enter("cudaGraphReleaseUserObject")) return e;
  if (count == 0) return fail(cudaErrorInvalidValue);
  std::unique_lock<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto gr = find_handle(g().graphs, graph_base, gh, "cudaGraphReleaseUserObject", "graph", error);
  if (!gr) return error;
  auto u = find_handle(g().user_objects, user_object_base, uh, "cudaGraphReleaseUserObject", "user object", error);
  if (!u) return error;
  std::vector<std::pair<cudaHostFn_t, void*>> due;
  for (auto it = gr->retained.begin(); it != gr->retained.end(); ++it)
    if (it->first == u) {
      const unsigned n = std::min(count, it->second);
      it->second -= n;
      due = drop(u, n);
      if (it->second == 0) gr->retained.erase(it);
      break;
    }
  lock.unlock();
  run_destructors(due);
  return cudaSuccess;
}

}  // extern "C"
