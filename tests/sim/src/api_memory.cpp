// tests/sim/src/api_memory.cpp — memory: device allocations (synchronous, and stream-ordered with
// immediate reuse on the freeing stream), pinned and registered host memory, pointer attributes,
// and the copies and memsets with CUDA's documented host synchronisation for each kind of memory.
#include <sys/mman.h>

#include <cstring>
#include <string>
#include <vector>

#include "state.hpp"

using namespace stridecopy_sim::detail;

namespace {

std::string hex(const void* p) {
  char text[32];
  std::snprintf(text, sizeof text, "%p", p);
  return text;
}

constexpr std::size_t page = 4096;

/// The allocation that starts exactly at p (device memory: installed or pending), or nullptr.
std::shared_ptr<allocation> device_allocation_at(const void* p) {
  auto al = find_allocation(p, 1, true);
  if (!al || al->type != allocation::kind::device || al->begin != reinterpret_cast<std::uintptr_t>(p)) return nullptr;
  return al;
}

/// Waits for every operation of `device` (every device when -1) enqueued so far, as CUDA's
/// synchronous frees do.
void wait_for_device(std::unique_lock<std::mutex>& lock, int device) {
  std::vector<op_ptr> targets;
  for (const auto& s : g().streams)
    if ((device < 0 || s->device == device) && s->last && !s->cap) targets.push_back(s->last);
  for (const op_ptr& o : targets) wait_for(lock, o);
}

/// A pseudo-operation standing for host code at this point: what it has observed happens before it.
op host_point(std::string what) {
  op o;
  o.what = std::make_shared<const std::string>(std::move(what));
  o.clock = g().observed;
  return o;
}

// ---- copies

enum class side { device, pinned, pageable, invalid };

struct endpoint {
  side where = side::pageable;
  std::shared_ptr<allocation> alloc;
};

endpoint classify(const void* p, std::size_t span) {
  endpoint e;
  e.alloc = find_allocation(p, span, true);
  if (e.alloc) {
    e.where = e.alloc->type == allocation::kind::device ? side::device : side::pinned;
    return e;
  }
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  e.where = arena_of(a) >= 0 || arena_of(a + span - 1) >= 0 ? side::invalid : side::pageable;
  return e;
}

bool is_host(side s) { return s == side::pinned || s == side::pageable; }

const char* kind_name(cudaMemcpyKind k) {
  switch (k) {
    case cudaMemcpyHostToHost: return "host to host";
    case cudaMemcpyHostToDevice: return "host to device";
    case cudaMemcpyDeviceToHost: return "device to host";
    case cudaMemcpyDeviceToDevice: return "device to device";
    default: return "inferred";
  }
}

struct rows {
  void* dst;
  const void* src;
  std::size_t width, height, dpitch, spitch;
  std::size_t src_span() const { return spitch * (height - 1) + width; }
  std::size_t dst_span() const { return dpitch * (height - 1) + width; }
};

/// The payload of one copy: reads its source span and writes its destination span through the
/// checked accesses, row by row; `snapshot` replaces a pageable source taken at call time.
void run_rows(op& o, const rows& r, const std::shared_ptr<std::vector<unsigned char>>& snapshot) {
  const unsigned char* from = snapshot ? snapshot->data() : touch(o, r.src, r.src_span(), false, "source");
  unsigned char* to = touch(o, r.dst, r.dst_span(), true, "destination");
  if (!from || !to) return;
  for (std::size_t i = 0; i < r.height; ++i) std::memcpy(to + i * r.dpitch, from + i * r.spitch, r.width);
}

std::shared_ptr<std::vector<unsigned char>> take_snapshot(const rows& r) {
  auto snap = std::make_shared<std::vector<unsigned char>>(r.src_span());
  for (std::size_t i = 0; i < r.height; ++i)
    std::memcpy(snap->data() + i * r.spitch, static_cast<const unsigned char*>(r.src) + i * r.spitch, r.width);
  return snap;
}

/// cudaMemcpy{,Async,2D,2DAsync}: checks, then the documented behaviour towards host code —
/// "API synchronization behavior" in the CUDA runtime documentation:
///   async, pageable source to device: the stream's earlier work completes and the source is staged
///     before the call returns (the caller may reuse it), the transfer itself is asynchronous;
///   pageable destination, or host to host: complete when the call returns;
///   otherwise (device or pinned memory on both sides): asynchronous.
///   cudaMemcpy: returns once complete, except device to device (no host synchronisation) and
///     pageable to device (returns once staged).
cudaError_t copy(const char* api, const rows& r, cudaMemcpyKind kind, cudaStream_t sh, bool api_async) {
  std::unique_lock<std::mutex> lock(g().m);
  if (!api_async)
    if (cudaError_t e = unsafe_call_check(api)) return e;
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return fail(cudaErrorInvalidMemcpyDirection);
  if (r.width == 0 || r.height == 0) return cudaSuccess;
  if (r.dpitch < r.width || r.spitch < r.width) return fail(cudaErrorInvalidPitchValue);
  if (r.height > 1 && (r.spitch > (~std::size_t(0) - r.width) / (r.height - 1) ||
                       r.dpitch > (~std::size_t(0) - r.width) / (r.height - 1)))
    return fail(cudaErrorInvalidValue);
  if (!r.dst || !r.src) return fail(cudaErrorInvalidValue);
  const endpoint src = classify(r.src, r.src_span()), dst = classify(r.dst, r.dst_span());
  if (src.where == side::invalid || dst.where == side::invalid) return fail(cudaErrorInvalidValue);
  bool fits = true;
  switch (kind) {
    case cudaMemcpyHostToHost: fits = is_host(src.where) && is_host(dst.where); break;
    case cudaMemcpyHostToDevice: fits = is_host(src.where) && dst.where == side::device; break;
    case cudaMemcpyDeviceToHost: fits = src.where == side::device && is_host(dst.where); break;
    case cudaMemcpyDeviceToDevice: fits = src.where == side::device && dst.where == side::device; break;
    default: break;
  }
  if (!fits) return fail(cudaErrorInvalidValue);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, api);
  if (!s) return error;
  const bool pageable = src.where == side::pageable || dst.where == side::pageable;
  if (s->cap && pageable) {  // a transfer of pageable memory cannot be part of a graph
    invalidate_capture(*s->cap);
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  if (r.height == 1) {
    const auto a = reinterpret_cast<std::uintptr_t>(r.src), b = reinterpret_cast<std::uintptr_t>(r.dst);
    if (a < b + r.width && b < a + r.width)
      report(std::string(api) + " copies " + std::to_string(r.width) + " bytes between overlapping ranges " +
             hex(r.src) + " and " + hex(r.dst) + " (undefined)");
  }
  const bool host_to_host = is_host(src.where) && is_host(dst.where);
  const bool staged = src.where == side::pageable && !host_to_host;
  std::shared_ptr<std::vector<unsigned char>> snapshot;
  if (staged) {
    for (const op_ptr& o : sync_targets(*s)) wait_for(lock, o);
    snapshot = take_snapshot(r);
  }
  const std::string what = std::string(api) + " (" + kind_name(kind) + ", " + std::to_string(r.width * r.height) +
                           " bytes) on " + describe(*s);
  auto o = make_op(what, s->device, [r, snapshot](op& self_op) { run_rows(self_op, r, snapshot); });
  if (cudaError_t e = submit(*s, o)) return e;
  const bool device_to_device = src.where == side::device && dst.where == side::device;
  const bool wait = dst.where == side::pageable || host_to_host || (!api_async && !device_to_device && !staged);
  if (wait && !s->cap) wait_for(lock, o);
  return cudaSuccess;
}

cudaError_t memset_on(const char* api, void* p, int value, std::size_t n, cudaStream_t sh) {
  std::lock_guard<std::mutex> lock(g().m);
  if (n == 0) return cudaSuccess;
  const endpoint dst = classify(p, n);
  if (dst.where != side::device && dst.where != side::pinned) return fail(cudaErrorInvalidValue);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, api);
  if (!s) return error;
  const std::string what = std::string(api) + " (" + std::to_string(n) + " bytes) on " + describe(*s);
  return submit(*s, make_op(what, s->device, [p, value, n](op& o) {
    if (unsigned char* to = touch(o, p, n, true, "destination")) std::memset(to, value, n);
  }));
}

}  // namespace

extern "C" {

// ---- device memory

cudaError_t cudaMalloc(void** p, size_t n) {
  if (cudaError_t e = enter("cudaMalloc")) return e;
  if (!p) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  if (cudaError_t e = unsafe_call_check("cudaMalloc")) return e;
  *p = nullptr;
  if (n == 0) return cudaSuccess;
  auto al = reserve_device(self().device, n, "cudaMalloc");
  if (!al) return fail(cudaErrorMemoryAllocation);
  install(al);
  *p = reinterpret_cast<void*>(al->begin);
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  if (cudaError_t e = enter("cudaFree")) return e;
  std::unique_lock<std::mutex> lock(g().m);
  if (cudaError_t e = unsafe_call_check("cudaFree")) return e;
  if (!p) return cudaSuccess;
  auto al = device_allocation_at(p);
  if (!al || al->freed_by) return fail(cudaErrorInvalidValue);
  al->freed_by = std::make_shared<const std::string>("cudaFree");
  // cudaFree synchronises: work queued before it on the device completes first.
  wait_for_device(lock, al->device);
  release_device(al, host_point("cudaFree of " + hex(p)));
  return cudaSuccess;
}

cudaError_t cudaMallocAsync(void** p, size_t n, cudaStream_t sh) {
  if (cudaError_t e = enter("cudaMallocAsync")) return e;
  if (!p) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, "cudaMallocAsync");
  if (!s) return error;
  if (s->cap) {  // memory nodes of graphs are not simulated
    invalidate_capture(*s->cap);
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  *p = nullptr;
  if (n == 0) return cudaSuccess;
  std::shared_ptr<allocation> al;
  // A block freed on this stream whose free has not run yet comes first: stream order puts this
  // allocation after that free, so the pool may hand it out at once.
  const std::size_t need = device_block_bytes(n);
  for (auto it = s->freed_in_order.begin(); it != s->freed_in_order.end(); ++it) {
    const auto& f = *it;
    if (f->block_taken || f->reserved < need) continue;
    al = std::make_shared<allocation>();
    al->type = allocation::kind::device;
    al->uid = g().next_alloc_uid++;
    al->device = s->device;
    al->begin = f->begin;
    al->size = n;
    al->offset = f->offset;
    al->reserved = f->reserved;
    al->how = "cudaMallocAsync";
    f->block_taken = true;
    s->freed_in_order.erase(it);
    break;
  }
  if (!al) al = reserve_device(s->device, n, "cudaMallocAsync");
  if (!al) return fail(cudaErrorMemoryAllocation);
  g().pending_allocs.emplace(al->begin, al);
  auto o = make_op("cudaMallocAsync of " + std::to_string(n) + " bytes on " + describe(*s), s->device, [al](op&) {
    std::lock_guard<std::mutex> inner(g().m);
    if (al->live) install(al);  // unless a racing free on another stream came first
  });
  if (cudaError_t e = submit(*s, o)) {
    std::erase_if(g().pending_allocs, [&](const auto& kv) { return kv.second == al; });
    return e;
  }
  al->alloc_timeline = o->timeline;
  al->alloc_seq = o->seq;
  *p = reinterpret_cast<void*>(al->begin);
  return cudaSuccess;
}

cudaError_t cudaFreeAsync(void* p, cudaStream_t sh) {
  if (cudaError_t e = enter("cudaFreeAsync")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, "cudaFreeAsync");
  if (!s) return error;
  if (!p) return cudaSuccess;
  auto al = device_allocation_at(p);
  if (!al) return fail(cudaErrorInvalidValue);
  if (al->freed_by) {
    report("cudaFreeAsync: " + al->describe() + " is freed a second time (first by " + *al->freed_by + ")");
    return fail(cudaErrorInvalidValue);
  }
  if (s->cap) {
    invalidate_capture(*s->cap);
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  auto o = make_op("cudaFreeAsync of " + hex(p) + " on " + describe(*s), s->device, [al](op& self_op) {
    std::lock_guard<std::mutex> inner(g().m);
    release_device(al, self_op);
  });
  if (cudaError_t e = submit(*s, o)) return e;
  al->freed_by = o->what;
  s->freed_in_order.push_back(al);
  return cudaSuccess;
}

// ---- host memory

cudaError_t cudaHostAlloc(void** p, size_t n, unsigned int flags) {
  if (cudaError_t e = enter("cudaHostAlloc")) return e;
  if (!p || (flags & ~unsigned(cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined)))
    return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  if (cudaError_t e = unsafe_call_check("cudaHostAlloc")) return e;
  *p = nullptr;
  if (n == 0) return cudaSuccess;
  const std::size_t rounded = (n + page - 1) / page * page;
  if (rounded < n) return fail(cudaErrorMemoryAllocation);
  void* mem = ::mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return fail(cudaErrorMemoryAllocation);
  auto al = std::make_shared<allocation>();
  al->type = allocation::kind::pinned;
  al->uid = g().next_alloc_uid++;
  al->device = self().device;
  al->begin = reinterpret_cast<std::uintptr_t>(mem);
  al->size = n;
  al->reserved = rounded;
  al->how = "cudaHostAlloc";
  al->flags = flags;
  g().host_allocs[al->begin] = al;
  *p = mem;
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** p, size_t n) { return cudaHostAlloc(p, n, cudaHostAllocDefault); }

cudaError_t cudaFreeHost(void* p) {
  if (cudaError_t e = enter("cudaFreeHost")) return e;
  std::unique_lock<std::mutex> lock(g().m);
  if (cudaError_t e = unsafe_call_check("cudaFreeHost")) return e;
  if (!p) return cudaSuccess;
  auto it = g().host_allocs.find(reinterpret_cast<std::uintptr_t>(p));
  if (it == g().host_allocs.end() || it->second->type != allocation::kind::pinned) return fail(cudaErrorInvalidValue);
  auto al = it->second;
  g().host_allocs.erase(it);
  // cudaFreeHost synchronises the device: every copy queued before it completes first.
  wait_for_device(lock, -1);
  al->live = false;
  al->freed_by = std::make_shared<const std::string>("cudaFreeHost");
  ::munmap(p, al->reserved);
  return cudaSuccess;
}

cudaError_t cudaHostRegister(void* p, size_t n, unsigned int flags) {
  if (cudaError_t e = enter("cudaHostRegister")) return e;
  constexpr unsigned known =
      cudaHostRegisterPortable | cudaHostRegisterMapped | cudaHostRegisterIoMemory | cudaHostRegisterReadOnly;
  if (!p || n == 0 || (flags & ~known)) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  if (cudaError_t e = unsafe_call_check("cudaHostRegister")) return e;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (arena_of(a) >= 0) return fail(cudaErrorInvalidValue);
  for (const auto& [begin, al] : g().host_allocs)
    if (begin < a + n && a < begin + al->size) return fail(cudaErrorHostMemoryAlreadyRegistered);
  auto al = std::make_shared<allocation>();
  al->type = allocation::kind::registered;
  al->uid = g().next_alloc_uid++;
  al->device = self().device;
  al->begin = a;
  al->size = n;
  al->how = "cudaHostRegister";
  al->flags = flags;
  g().host_allocs[a] = al;
  return cudaSuccess;
}

cudaError_t cudaHostUnregister(void* p) {
  if (cudaError_t e = enter("cudaHostUnregister")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  if (cudaError_t e = unsafe_call_check("cudaHostUnregister")) return e;
  auto it = g().host_allocs.find(reinterpret_cast<std::uintptr_t>(p));
  if (it == g().host_allocs.end() || it->second->type != allocation::kind::registered)
    return fail(cudaErrorHostMemoryNotRegistered);
  // No synchronisation: copies of it that host code has not seen complete may still run.
  const op now = host_point("cudaHostUnregister of " + hex(p));
  for (const access_record& r : it->second->records)
    if (!ordered_before(r.timeline, r.seq, now.clock))
      report_once("unregister|" + *r.what, "cudaHostUnregister of " + it->second->describe() + " while " + *r.what +
                                               " may still use it (no synchronisation orders it before)");
  it->second->live = false;
  g().host_allocs.erase(it);
  return cudaSuccess;
}

cudaError_t cudaHostGetDevicePointer(void** d, void* h, unsigned int flags) {
  if (cudaError_t e = enter("cudaHostGetDevicePointer")) return e;
  if (!d || flags != 0) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  auto al = find_allocation(h, 1, false);
  if (!al || al->type == allocation::kind::device) return fail(cudaErrorInvalidValue);
  *d = h;  // unified addressing: the device sees pinned memory at its host address
  return cudaSuccess;
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
  if (cudaError_t e = enter("cudaPointerGetAttributes")) return e;
  if (!a) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  *a = cudaPointerAttributes{};
  a->type = cudaMemoryTypeUnregistered;
  a->device = -2;
  auto al = find_allocation(p, 1, true);
  if (!al) return cudaSuccess;
  a->device = al->device;
  if (al->type == allocation::kind::device) {
    a->type = cudaMemoryTypeDevice;
    a->devicePointer = const_cast<void*>(p);
  } else {
    a->type = cudaMemoryTypeHost;
    a->devicePointer = const_cast<void*>(p);
    a->hostPointer = const_cast<void*>(p);
  }
  return cudaSuccess;
}

// ---- copies

cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
  if (cudaError_t e = enter("cudaMemcpy")) return e;
  return copy("cudaMemcpy", rows{dst, src, n, 1, n, n}, kind, nullptr, false);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t s) {
  if (cudaError_t e = enter("cudaMemcpyAsync")) return e;
  return copy("cudaMemcpyAsync", rows{dst, src, n, 1, n, n}, kind, s, true);
}

cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                         cudaMemcpyKind kind) {
  if (cudaError_t e = enter("cudaMemcpy2D")) return e;
  return copy("cudaMemcpy2D", rows{dst, src, width, height, dpitch, spitch}, kind, nullptr, false);
}

cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t s) {
  if (cudaError_t e = enter("cudaMemcpy2DAsync")) return e;
  return copy("cudaMemcpy2DAsync", rows{dst, src, width, height, dpitch, spitch}, kind, s, true);
}

cudaError_t cudaMemcpyBatchAsync(void* const* dsts, const void* const* srcs, const size_t* sizes, size_t count,
                                 cudaMemcpyAttributes* attrs, size_t* attrs_idxs, size_t num_attrs, cudaStream_t sh) {
  if (cudaError_t e = enter("cudaMemcpyBatchAsync")) return e;
  if (!dsts || !srcs || !sizes || count == 0 || !attrs || !attrs_idxs || num_attrs == 0 || num_attrs > count ||
      attrs_idxs[0] != 0)
    return fail(cudaErrorInvalidValue);
  for (size_t i = 0; i < num_attrs; ++i) {
    if (i > 0 && (attrs_idxs[i] <= attrs_idxs[i - 1] || attrs_idxs[i] >= count)) return fail(cudaErrorInvalidValue);
    const auto order = attrs[i].srcAccessOrder;
    if (order != cudaMemcpySrcAccessOrderStream && order != cudaMemcpySrcAccessOrderDuringApiCall &&
        order != cudaMemcpySrcAccessOrderAny)
      return fail(cudaErrorInvalidValue);
    if (attrs[i].flags & ~unsigned(cudaMemcpyFlagPreferOverlapWithCompute)) return fail(cudaErrorInvalidValue);
  }
  std::unique_lock<std::mutex> lock(g().m);
  if (sh == nullptr || sh == cudaStreamLegacy) return fail(cudaErrorInvalidValue);  // not the legacy stream
  cudaError_t error = cudaSuccess;
  auto s = find_stream(sh, error, "cudaMemcpyBatchAsync");
  if (!s) return error;
  if (s->cap) {
    invalidate_capture(*s->cap);
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  struct one {
    rows r;
    std::shared_ptr<std::vector<unsigned char>> snapshot;
  };
  std::vector<one> copies;
  bool wait = false, drained = false;
  std::size_t total = 0;
  for (size_t i = 0, a = 0; i < count; ++i) {
    if (a + 1 < num_attrs && attrs_idxs[a + 1] == i) ++a;
    if (sizes[i] == 0) continue;
    const rows r{dsts[i], srcs[i], sizes[i], 1, sizes[i], sizes[i]};
    if (!r.dst || !r.src) return fail(cudaErrorInvalidValue);
    const endpoint from = classify(r.src, sizes[i]), to = classify(r.dst, sizes[i]);
    if (from.where == side::invalid || to.where == side::invalid) return fail(cudaErrorInvalidValue);
    one c{r, nullptr};
    if (from.where == side::pageable) {
      // Stream order: the source is read after the stream's earlier work, so that work completes first.
      if (attrs[a].srcAccessOrder == cudaMemcpySrcAccessOrderStream && !drained) {
        for (const op_ptr& o : sync_targets(*s)) wait_for(lock, o);
        drained = true;
      }
      c.snapshot = take_snapshot(r);
    }
    wait = wait || to.where == side::pageable;
    total += sizes[i];
    copies.push_back(std::move(c));
  }
  if (copies.empty()) return cudaSuccess;
  const std::string what = "cudaMemcpyBatchAsync (" + std::to_string(copies.size()) + " copies, " +
                           std::to_string(total) + " bytes) on " + describe(*s);
  auto o = make_op(what, s->device, [copies](op& self_op) {
    for (const one& c : copies) run_rows(self_op, c.r, c.snapshot);
  });
  if (cudaError_t e = submit(*s, o)) return e;
  if (wait) wait_for(lock, o);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* p, int value, size_t n) {
  if (cudaError_t e = enter("cudaMemset")) return e;
  {
    std::lock_guard<std::mutex> lock(g().m);
    if (cudaError_t e = unsafe_call_check("cudaMemset")) return e;
  }
  return memset_on("cudaMemset", p, value, n, nullptr);
}

cudaError_t cudaMemsetAsync(void* p, int value, size_t n, cudaStream_t s) {
  if (cudaError_t e = enter("cudaMemsetAsync")) return e;
  return memset_on("cudaMemsetAsync", p, value, n, s);
}

}  // extern "C"
