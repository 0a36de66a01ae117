// host/io/signal_slot.hpp — the states of a registry slot that a signal handler reads (internal):
// the registries of named temporaries and of guarded input mappings share them.
#pragma once

#include <atomic>

namespace stridecopy::detail {

// A handler may only touch lock-free atomics and memory no one is writing: a slot is free, claimed
// by the one thread filling or emptying it (busy), or live; handlers read only live slots.
constexpr int slot_free = 0;
constexpr int slot_busy = 1;
constexpr int slot_live = 2;
static_assert(std::atomic<int>::is_always_lock_free);

}  // namespace stridecopy::detail
