// tests/sim/src/memory.cpp — the simulator's memory: device arenas and their allocator (red zones,
// immediate reuse, poisoning), the allocation maps, the checks every access of a copy or kernel
// goes through (liveness, allocation order, unordered conflicting accesses), and kernel replay.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "state.hpp"
#include "stridecopy_sim/kernel.hpp"

namespace stridecopy_sim::detail {

namespace {

/// cudaMalloc returns addresses aligned to at least 256 bytes; each allocation is followed by a red
/// zone that belongs to none, so an access past the end is outside any allocation (on a GPU it
/// might silently land in a neighbour).
constexpr std::size_t granule = 512;
constexpr unsigned char uninitialised_byte = 0xCD;
constexpr unsigned char freed_byte = 0xFD;
constexpr std::size_t max_records = 4096;

std::string hex(std::uintptr_t v) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

template <class Map>
std::shared_ptr<allocation> lookup(const Map& m, std::uintptr_t a, std::size_t n) {
  auto it = m.upper_bound(a);
  if (it == m.begin()) return nullptr;
  --it;
  const auto& al = it->second;
  if (a >= al->begin && a - al->begin <= al->size && n <= al->size - (a - al->begin)) return al;
  return nullptr;
}

void give_back(arena& ar, std::size_t offset, std::size_t length) {
  auto next = ar.free.lower_bound(offset);
  if (next != ar.free.end() && offset + length == next->first) {
    length += next->second;
    next = ar.free.erase(next);
  }
  if (next != ar.free.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      prev->second += length;
      return;
    }
  }
  ar.free.emplace(offset, length);
}

/// What one access set of an operation means for an allocation's earlier accesses.
void check_and_record(allocation& a, const op& o, std::uintptr_t lo, std::uintptr_t hi, bool write) {
  for (const access_record& r : a.records) {
    if (r.timeline == o.timeline || !(write || r.write) || r.hi <= lo || hi <= r.lo) continue;
    if (ordered_before(r.timeline, r.seq, o.clock)) continue;
    const std::uintptr_t from = std::max(lo, r.lo), to = std::min(hi, r.hi);
    report_once(*o.what + "|" + *r.what + "|" + std::to_string(a.uid),
                "unordered accesses to " + a.describe() + ": " + *o.what + (write ? " writes" : " reads") + " bytes [" +
                    std::to_string(from - a.begin) + ", " + std::to_string(to - a.begin) + "), which " + *r.what +
                    (r.write ? " wrote" : " read") +
                    ", and nothing orders one after the other (a missing event wait or synchronisation)");
  }
  // An earlier access of the same stream that this one covers adds nothing the checks need.
  std::erase_if(a.records, [&](const access_record& r) {
    return r.timeline == o.timeline && r.lo >= lo && r.hi <= hi && (write || !r.write);
  });
  if (a.records.size() >= max_records) a.records.erase(a.records.begin());
  a.records.push_back({lo, hi, write, o.timeline, o.seq, o.what});
}

}  // namespace

std::string allocation::describe() const {
  const char* what = type == kind::device ? "device" : type == kind::pinned ? "pinned host" : "registered host";
  return "a " + std::to_string(size) + "-byte " + what + " allocation (" + how + ") at " + hex(begin) +
         (type == kind::device ? " on device " + std::to_string(device) : std::string());
}

int arena_of(std::uintptr_t a) {
  const state& st = g();
  for (std::size_t d = 0; d < st.devices.size(); ++d)
    if (st.devices[d]->mem.contains(a)) return int(d);
  return -1;
}

unsigned char* shadow_of(std::uintptr_t a) {
  const arena& ar = g().devices[std::size_t(arena_of(a))]->mem;
  return ar.shadow + (a - ar.base);
}

std::shared_ptr<allocation> find_allocation(const void* p, std::size_t n, bool pending) {
  const state& st = g();
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (n == 0) n = 1;
  if (auto al = lookup(st.device_allocs, a, n)) return al;
  if (pending)
    if (auto al = lookup(st.pending_allocs, a, n)) return al;
  return lookup(st.host_allocs, a, n);
}

std::size_t device_block_bytes(std::size_t n) {
  const std::size_t rounded = (std::max<std::size_t>(n, 1) + granule - 1) / granule * granule;
  return rounded < n || rounded > ~std::size_t(0) - granule ? ~std::size_t(0) : rounded + granule;
}

std::shared_ptr<allocation> reserve_device(int device, std::size_t n, const char* how) {
  state& st = g();
  arena& ar = st.devices[std::size_t(device)]->mem;
  const std::size_t need = device_block_bytes(n);
  if (need > ar.size) return nullptr;
  // First fit from the lowest address: a block just freed is the next one handed out, as a pool
  // that reuses freely would, so that work still using it shows up as a wrong result.
  for (auto it = ar.free.begin(); it != ar.free.end(); ++it) {
    if (it->second < need) continue;
    const std::size_t offset = it->first, left = it->second - need;
    ar.free.erase(it);
    if (left) ar.free.emplace(offset + need, left);
    ar.used += need;
    auto al = std::make_shared<allocation>();
    al->type = allocation::kind::device;
    al->uid = st.next_alloc_uid++;
    al->device = device;
    al->begin = ar.base + offset;
    al->size = n;
    al->offset = offset;
    al->reserved = need;
    al->how = how;
    return al;
  }
  return nullptr;
}

void install(const std::shared_ptr<allocation>& a) {
  state& st = g();
  std::erase_if(st.pending_allocs, [&](const auto& kv) { return kv.second == a; });
  auto& slot = st.device_allocs[a->begin];
  if (slot && slot->live) report("internal: " + a->describe() + " overlaps " + slot->describe() + ", still live");
  slot = a;
  a->installed = true;
  std::memset(shadow_of(a->begin), uninitialised_byte, a->size);
}

void release_device(const std::shared_ptr<allocation>& freed, const op& by) {
  state& st = g();
  allocation& a = *freed;
  for (const access_record& r : a.records)
    if (!ordered_before(r.timeline, r.seq, by.clock))
      report_once("free|" + *by.what + "|" + *r.what + "|" + std::to_string(a.uid),
                  *by.what + " frees " + a.describe() + " while " + *r.what +
                      " may still use it: nothing orders that use before the free");
  a.records.clear();
  a.live = false;
  a.freed_by = by.what;
  st.freed.push_back(freed);
  if (st.freed.size() > 1024) st.freed.pop_front();
  if (a.installed) {
    std::memset(shadow_of(a.begin), freed_byte, a.size);
    auto it = st.device_allocs.find(a.begin);
    if (it != st.device_allocs.end() && it->second.get() == &a) st.device_allocs.erase(it);
  } else {
    std::erase_if(st.pending_allocs, [&](const auto& kv) { return kv.second.get() == &a; });
  }
  for (const auto& s : st.streams) std::erase_if(s->freed_in_order, [&](const auto& f) { return f.get() == &a; });
  if (a.block_taken) return;  // a later allocation on the freeing stream owns the block now
  arena& ar = st.devices[std::size_t(a.device)]->mem;
  ar.used -= a.reserved;
  give_back(ar, a.offset, a.reserved);
}

std::shared_ptr<allocation> recently_freed(std::uintptr_t a) {
  const state& st = g();
  for (auto it = st.freed.rbegin(); it != st.freed.rend(); ++it)
    if (a >= (*it)->begin && a - (*it)->begin < std::max<std::size_t>((*it)->size, 1)) return *it;
  return nullptr;
}

namespace {

/// Where device address a was, for a report about an access outside any live allocation.
std::string outside_live(std::uintptr_t a) {
  const auto& live = g().device_allocs;
  if (auto it = live.upper_bound(a); it != live.begin()) {
    const allocation& near = *std::prev(it)->second;
    if (a >= near.begin + near.size && a < near.begin + near.reserved)
      return ", " + std::to_string(a - near.begin - near.size) + " bytes past the end of " + near.describe();
  }
  for (const auto& [begin, pending] : g().pending_allocs)
    if (a >= begin && a - begin < pending->size)
      return ", in " + pending->describe() + ", whose stream-ordered allocation has not run yet";
  if (auto f = recently_freed(a))
    return ", in " + f->describe() + " that " + (f->freed_by ? *f->freed_by : std::string("a free")) + " released";
  return ", outside any live device allocation";
}

}  // namespace

void flush_accesses(op& o) {
  state& st = g();
  for (touched& t : o.accesses) {
    allocation& a = *t.alloc;
    if (!a.live) {
      report_once("uaf|" + *o.what + "|" + std::to_string(a.uid),
                  *o.what + " used " + a.describe() + " after " + (a.freed_by ? *a.freed_by : std::string("a free")) +
                      " released it");
      continue;
    }
    if (a.alloc_timeline >= 0 && !ordered_before(a.alloc_timeline, a.alloc_seq, o.clock))
      report_once("early|" + *o.what + "|" + std::to_string(a.uid),
                  *o.what + " used " + a.describe() +
                      ", but nothing orders it after the stream-ordered allocation (cudaMallocAsync) of that memory");
    // With nothing else in flight, accesses that host code has seen complete are before anything
    // that can still come: they need no keeping.
    if (st.pending_ops <= 1)
      std::erase_if(a.records, [&](const access_record& r) { return ordered_before(r.timeline, r.seq, st.observed); });
    if (t.read_hi > t.read_lo) check_and_record(a, o, t.read_lo, t.read_hi, false);
    if (t.write_hi > t.write_lo) check_and_record(a, o, t.write_lo, t.write_hi, true);
  }
  o.accesses.clear();
}

namespace {

touched& touched_entry(op& o, const std::shared_ptr<allocation>& a) {
  for (touched& t : o.accesses)
    if (t.alloc == a) return t;
  o.accesses.push_back(touched{a});
  return o.accesses.back();
}

void widen(touched& t, std::uintptr_t lo, std::uintptr_t hi, bool write) {
  if (write) {
    t.write_lo = std::min(t.write_lo, lo);
    t.write_hi = std::max(t.write_hi, hi);
  } else {
    t.read_lo = std::min(t.read_lo, lo);
    t.read_hi = std::max(t.read_hi, hi);
  }
}

}  // namespace

unsigned char* touch(op& o, const void* p, std::size_t n, bool write, const char* role) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g().m);
  auto al = find_allocation(p, n, false);
  if (!al) {
    if (arena_of(a) >= 0) {
      report_once("oob|" + *o.what + "|" + role, *o.what + " " + (write ? "writes " : "reads ") + std::to_string(n) +
                                                     " bytes at " + hex(a) + " (its " + role + ")" + outside_live(a));
      return nullptr;
    }
    return reinterpret_cast<unsigned char*>(const_cast<void*>(p));  // pageable host memory
  }
  widen(touched_entry(o, al), a, a + n, write);
  if (al->type == allocation::kind::device) return shadow_of(a);
  return reinterpret_cast<unsigned char*>(const_cast<void*>(p));
}

// ---- kernels

namespace {

struct kernel_context {
  op* running = nullptr;
  int device = 0;
  std::string name;
  std::vector<std::shared_ptr<allocation>> keep;  ///< what the windows point at
};

alignas(16) thread_local unsigned char scratch[64];

void flush_window(kernel_context& ctx, const kernel_memory::window& w) {
  for (const auto& al : ctx.keep)
    if (al.get() == w.alloc) {
      touched& t = touched_entry(*ctx.running, al);
      if (w.read_hi > w.read_lo) widen(t, w.read_lo, w.read_hi, false);
      if (w.write_hi > w.write_lo) widen(t, w.write_lo, w.write_hi, true);
      return;
    }
}

void run_kernel(op& o, int device, const std::string& name, long long blocks, int threads, int phases,
                std::size_t shared_bytes, const kernel_body& body, std::uint64_t order_seed) {
  kernel_context ctx;
  ctx.running = &o;
  ctx.device = device;
  ctx.name = name;
  kernel_memory mem;
  mem.context = &ctx;
  std::vector<unsigned char> shared_storage(shared_bytes + 16);
  mem.shared =
      reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(shared_storage.data()) + 15) / 16 * 16);
  std::mt19937_64 rng(order_seed);
  std::vector<int> thread_order(static_cast<std::size_t>(threads));
  std::iota(thread_order.begin(), thread_order.end(), 0);
  std::shuffle(thread_order.begin(), thread_order.end(), rng);
  // Blocks in a random order (a window of them at a time when there are very many).
  constexpr long long window = 1 << 16;
  std::vector<long long> order;
  for (long long first = 0; first < blocks; first += window) {
    const long long n = std::min(window, blocks - first);
    order.resize(std::size_t(n));
    std::iota(order.begin(), order.end(), first);
    std::shuffle(order.begin(), order.end(), rng);
    for (long long b : order) {
      std::memset(mem.shared, 0xCB, shared_bytes);  // what a block finds in shared memory: garbage
      for (int phase = 0; phase < phases; ++phase)
        for (int t : thread_order) body(mem, b, t, phase);
    }
  }
  std::lock_guard<std::mutex> lock(g().m);
  for (int i = 0; i < mem.used; ++i) flush_window(ctx, mem.windows[i]);
}

}  // namespace

}  // namespace stridecopy_sim::detail

namespace stridecopy_sim {

using namespace detail;

unsigned char* kernel_memory::resolve(std::uintptr_t a, std::size_t n, bool write) const {
  auto& ctx = *static_cast<kernel_context*>(context);
  std::memset(scratch, 0, sizeof scratch);
  std::lock_guard<std::mutex> lock(g().m);
  const std::string access = std::string(write ? "writes " : "reads ") + std::to_string(n) + " bytes at " + hex(a);
  if (a % n != 0) {
    report_once("misaligned|" + ctx.name, "kernel " + ctx.name + " " + access +
                                              ", not aligned to its size (a misaligned address fault on a GPU)");
    return scratch;
  }
  auto al = find_allocation(reinterpret_cast<const void*>(a), n, false);
  if (!al) {
    report_once("kernel-oob|" + ctx.name + (arena_of(a) >= 0 ? "|device" : "|host"),
                "kernel " + ctx.name + " on device " + std::to_string(ctx.device) + " " + access +
                    (arena_of(a) >= 0 ? outside_live(a) : ", host memory that is not pinned (no device can reach it)"));
    return scratch;
  }
  if (al->type == allocation::kind::device && al->device != ctx.device) {
    report_once("kernel-peer|" + ctx.name, "kernel " + ctx.name + " on device " + std::to_string(ctx.device) + " " +
                                               access + ", in " + al->describe() + " (no peer access)");
    return scratch;
  }
  if (used == max_windows) {
    flush_window(ctx, windows[0]);
    std::move(windows + 1, windows + max_windows, windows);
    --used;
  }
  ctx.keep.push_back(al);
  window& w = windows[used++];
  w = window{};
  w.lo = al->begin;
  w.hi = al->begin + al->size;
  w.delta = al->type == allocation::kind::device
                ? std::ptrdiff_t(shadow_of(al->begin) - reinterpret_cast<unsigned char*>(al->begin))
                : 0;
  w.alloc = al.get();
  if (write) {
    w.write_lo = a;
    w.write_hi = a + n;
  } else {
    w.read_lo = a;
    w.read_hi = a + n;
  }
  return reinterpret_cast<unsigned char*>(a + std::uintptr_t(w.delta));
}

cudaError_t launch(cudaStream_t h, const char* name, long long blocks, int threads, int phases,
                   std::size_t shared_bytes, kernel_body body) {
  if (cudaError_t e = enter("cudaLaunchKernelEx")) return e;
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(h, error, "cudaLaunchKernelEx");
  if (!s) return error;
  if (s->device != self().device) return fail(cudaErrorInvalidResourceHandle);  // a stream of another device
  if (blocks < 1 || blocks > INT_MAX || threads < 1 || threads > 1024 || phases < 1 || shared_bytes > 48 * 1024)
    return fail(cudaErrorInvalidConfiguration);
  const int device = s->device;
  const std::uint64_t order_seed = s->rng();
  std::string what = std::string("kernel ") + name + " (" + std::to_string(blocks) + " blocks)";
  auto o = make_op(what, device, [=, body = std::move(body), name = std::string(name)](op& self_op) {
    run_kernel(self_op, device, name, blocks, threads, phases, shared_bytes, body, order_seed);
  });
  return submit(*s, o);
}

}  // namespace stridecopy_sim
