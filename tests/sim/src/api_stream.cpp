// tests/sim/src/api_stream.cpp — streams, events and host functions: creation and destruction (a
// destroyed handle is reported wherever it is used again), synchronisation and queries, event
// records and waits (also across devices, and into and out of capture sequences).
#include <algorithm>
#include <string>

#include "state.hpp"

using namespace stridecopy_sim::detail;

namespace {

std::string hex(std::uintptr_t v) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

/// An event last recorded in a capture sequence that is still going: CUDA forbids waiting for it
/// from host code.
bool in_active_capture(const event& e) { return e.cap && !e.cap->invalidated && e.cap->g && e.recorded; }

/// A call about one stream: entered, under the lock, with the stream found.
template <class F>
cudaError_t on_stream(const char* api, cudaStream_t h, F&& f) {
  if (cudaError_t e = enter(api)) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(h, error, api);
  if (!s) return error;
  return f(*s);
}

cudaError_t create_stream(cudaStream_t* out, unsigned flags, int priority, const char* api) {
  if (cudaError_t e = enter(api)) return e;
  if (!out || (flags & ~unsigned(cudaStreamNonBlocking))) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  auto s = new_stream(self().device, stream::kind::created, flags, std::clamp(priority, -5, 0));
  *out = reinterpret_cast<cudaStream_t>(s->handle);
  return cudaSuccess;
}

}  // namespace

extern "C" {

cudaError_t cudaStreamCreate(cudaStream_t* s) { return create_stream(s, 0, 0, "cudaStreamCreate"); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int flags) {
  return create_stream(s, flags, 0, "cudaStreamCreateWithFlags");
}

cudaError_t cudaStreamCreateWithPriority(cudaStream_t* s, unsigned int flags, int priority) {
  return create_stream(s, flags, priority, "cudaStreamCreateWithPriority");
}

cudaError_t cudaStreamDestroy(cudaStream_t h) {
  if (cudaError_t e = enter("cudaStreamDestroy")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  const auto v = reinterpret_cast<std::uintptr_t>(h);
  if (v == 0 || h == cudaStreamLegacy || h == cudaStreamPerThread) return fail(cudaErrorInvalidResourceHandle);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(h, error, "cudaStreamDestroy");
  if (!s) return error;
  if (s->cap) invalidate_capture(*s->cap);
  // Work still queued runs to the end; the handle is dead at once.
  s->destroyed = true;
  s->wake.notify_all();
  return cudaSuccess;
}

cudaError_t cudaStreamGetFlags(cudaStream_t h, unsigned int* flags) {
  return on_stream("cudaStreamGetFlags", h, [&](stream& s) {
    if (!flags) return fail(cudaErrorInvalidValue);
    *flags = s.flags;
    return cudaSuccess;
  });
}

cudaError_t cudaStreamGetPriority(cudaStream_t h, int* priority) {
  return on_stream("cudaStreamGetPriority", h, [&](stream& s) {
    if (!priority) return fail(cudaErrorInvalidValue);
    *priority = s.priority;
    return cudaSuccess;
  });
}

cudaError_t cudaStreamGetId(cudaStream_t h, unsigned long long* id) {
  return on_stream("cudaStreamGetId", h, [&](stream& s) {
    if (!id) return fail(cudaErrorInvalidValue);
    *id = s.uid;
    return cudaSuccess;
  });
}

cudaError_t cudaStreamGetDevice(cudaStream_t h, int* device) {
  return on_stream("cudaStreamGetDevice", h, [&](stream& s) {
    if (!device) return fail(cudaErrorInvalidValue);
    *device = s.device;
    return cudaSuccess;
  });
}

cudaError_t cudaStreamSynchronize(cudaStream_t h) {
  if (cudaError_t e = enter("cudaStreamSynchronize")) return e;
  std::unique_lock<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(h, error, "cudaStreamSynchronize");
  if (!s) return error;
  if (s->cap) {  // synchronising a capturing stream ends its capture sequence in failure
    invalidate_capture(*s->cap);
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  if (s->type == stream::kind::legacy)
    if (cudaError_t e = unsafe_call_check("cudaStreamSynchronize")) return e;
  for (const op_ptr& o : sync_targets(*s)) wait_for(lock, o);
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t h) {
  if (cudaError_t e = enter("cudaStreamQuery")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(h, error, "cudaStreamQuery");
  if (!s) return error;
  if (s->cap) {
    invalidate_capture(*s->cap);
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  const auto targets = sync_targets(*s);
  for (const op_ptr& o : targets)
    if (!o->done) return cudaErrorNotReady;
  for (const op_ptr& o : targets) observe(o->end_clock);
  return cudaSuccess;
}

cudaError_t cudaLaunchHostFunc(cudaStream_t h, cudaHostFn_t fn, void* data) {
  if (cudaError_t e = enter("cudaLaunchHostFunc")) return e;
  if (!fn) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(h, error, "cudaLaunchHostFunc");
  if (!s) return error;
  return submit(*s, make_op(
                        "host function", s->device, [fn, data](op&) { fn(data); }, true));
}

// ---- events

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* out, unsigned int flags) {
  if (cudaError_t e = enter("cudaEventCreateWithFlags")) return e;
  constexpr unsigned known = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
  if (!out || (flags & ~known) || ((flags & cudaEventInterprocess) && !(flags & cudaEventDisableTiming)))
    return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  auto ev = std::make_shared<event>();
  ev->device = self().device;
  ev->flags = flags;
  ev->handle = make_handle(event_base, g().events.size());
  g().events.push_back(ev);
  *out = reinterpret_cast<cudaEvent_t>(ev->handle);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* out) { return cudaEventCreateWithFlags(out, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t h) {
  if (cudaError_t e = enter("cudaEventDestroy")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto ev = find_event(h, error, "cudaEventDestroy");
  if (!ev) return error;
  ev->destroyed = true;  // a pending record still completes; waits already queued still wait for it
  return cudaSuccess;
}

cudaError_t cudaEventRecordWithFlags(cudaEvent_t eh, cudaStream_t sh, unsigned int flags) {
  if (cudaError_t e = enter("cudaEventRecord")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto ev = find_event(eh, error, "cudaEventRecord");
  if (!ev) return error;
  auto s = find_stream(sh, error, "cudaEventRecord");
  if (!s) return error;
  if (flags & ~unsigned(cudaEventRecordExternal)) return fail(cudaErrorInvalidValue);
  if (ev->device != s->device) {
    report("cudaEventRecord: event " + hex(ev->handle) + " of device " + std::to_string(ev->device) + " recorded on " +
           describe(*s) + " (an event and its stream must be on the same device)");
    return fail(cudaErrorInvalidResourceHandle);
  }
  if (s->cap) {
    if (s->cap->invalidated) return fail(cudaErrorStreamCaptureInvalidated);
    ev->recorded = true;
    ev->cap = s->cap;
    ev->nodes = s->frontier;
    ev->marker = nullptr;
    return cudaSuccess;
  }
  auto marker = make_op("the record of event " + hex(ev->handle), s->device, nullptr);
  if (cudaError_t e = submit(*s, marker)) return e;
  ev->recorded = true;
  ev->cap = nullptr;
  ev->nodes.clear();
  ev->marker = marker;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) { return cudaEventRecordWithFlags(e, s, 0); }

cudaError_t cudaEventQuery(cudaEvent_t h) {
  if (cudaError_t e = enter("cudaEventQuery")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto ev = find_event(h, error, "cudaEventQuery");
  if (!ev) return error;
  if (in_active_capture(*ev)) return fail(cudaErrorCapturedEvent);
  if (!ev->marker) return cudaSuccess;  // never recorded: an empty set of work
  if (!ev->marker->done) return cudaErrorNotReady;
  observe(ev->marker->end_clock);
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t h) {
  if (cudaError_t e = enter("cudaEventSynchronize")) return e;
  std::unique_lock<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto ev = find_event(h, error, "cudaEventSynchronize");
  if (!ev) return error;
  if (in_active_capture(*ev)) return fail(cudaErrorCapturedEvent);
  wait_for(lock, ev->marker);
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (cudaError_t e = enter("cudaEventElapsedTime")) return e;
  if (!ms) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto a = find_event(start, error, "cudaEventElapsedTime");
  if (!a) return error;
  auto b = find_event(end, error, "cudaEventElapsedTime");
  if (!b) return error;
  if ((a->flags | b->flags) & cudaEventDisableTiming) return fail(cudaErrorInvalidResourceHandle);
  if (!a->marker || !b->marker) return fail(cudaErrorInvalidResourceHandle);
  if (!a->marker->done || !b->marker->done) return cudaErrorNotReady;
  *ms = float(b->marker->finished_ms - a->marker->finished_ms);
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t sh, cudaEvent_t eh, unsigned int flags) {
  if (cudaError_t e = enter("cudaStreamWaitEvent")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, "cudaStreamWaitEvent");
  if (!s) return error;
  auto ev = find_event(eh, error, "cudaStreamWaitEvent");
  if (!ev) return error;
  if (flags & ~unsigned(cudaEventWaitExternal)) return fail(cudaErrorInvalidValue);
  if (ev->cap) {
    capture& c = *ev->cap;
    if (!c.g) {  // recorded in a capture sequence that has ended: its work exists only in a graph
      report("cudaStreamWaitEvent: event " + hex(ev->handle) +
             " was last recorded in a capture sequence that has ended; there is no work to wait for");
      return fail(cudaErrorStreamCaptureIsolation);
    }
    if (c.invalidated) return fail(cudaErrorStreamCaptureInvalidated);
    if (s->cap && s->cap.get() != &c) {  // two capture sequences may not merge
      invalidate_capture(*s->cap);
      invalidate_capture(c);
      return fail(cudaErrorStreamCaptureMerge);
    }
    if (!s->cap) {
      if (s->type == stream::kind::legacy) {
        invalidate_capture(c);
        return fail(cudaErrorStreamCaptureImplicit);
      }
      s->cap = ev->cap;
      s->frontier.clear();
      c.members.push_back(s);
    }
    for (std::size_t n : ev->nodes)
      if (std::find(s->frontier.begin(), s->frontier.end(), n) == s->frontier.end()) s->frontier.push_back(n);
    return cudaSuccess;
  }
  if (s->cap) {
    // A capturing stream may wait only for work of its own capture sequence, unless told the wait is
    // external (a graph then waits for that event at each launch: not simulated).
    if (flags & cudaEventWaitExternal) return cudaSuccess;
    invalidate_capture(*s->cap);
    return fail(cudaErrorStreamCaptureIsolation);
  }
  if (!ev->marker) return cudaSuccess;  // never recorded: nothing to wait for
  auto wait = make_op("a wait for event " + hex(ev->handle), s->device, nullptr);
  wait->after.push_back(ev->marker);
  return submit(*s, wait);
}

}  // extern "C"
