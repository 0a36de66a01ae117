// host/cuda/ring_cache.hpp — a bounded cache of shared resources by key (internal, plain C++, tested
// on the CPU): the staging rings, one per (device, stream). The least recently used entries that
// nobody holds are evicted beyond the capacity, so a stream-per-request program cannot grow it
// without bound.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace stridecopy::detail {

template <class Key, class Value>
class ring_cache {
 public:
  explicit ring_cache(std::size_t capacity) : capacity_(capacity) {}

  /// The entry for `key`, made by make() when there is none; it stays alive while the caller holds
  /// it, even if evicted meanwhile. Evicted entries are destroyed outside the cache's lock.
  template <class Make>
  std::shared_ptr<Value> acquire(const Key& key, Make&& make) {
    std::vector<std::shared_ptr<Value>> evicted;
    std::shared_ptr<Value> found;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->first == key) {
          entries_.splice(entries_.begin(), entries_, it);  // most recently used first
          found = entries_.front().second;
          break;
        }
      if (!found) {
        found = std::shared_ptr<Value>(make());
        entries_.emplace_front(key, found);
      }
      // From the least recently used end: entries only the cache holds (use_count 1) may go.
      for (auto it = entries_.end(); entries_.size() > capacity_ && it != entries_.begin();) {
        --it;
        if (it->second.use_count() == 1) {
          evicted.push_back(std::move(it->second));
          it = entries_.erase(it);
        }
      }
    }
    return found;
  }

  /// Calls f(value) for every entry, under the cache's lock.
  template <class F>
  void for_each(F&& f) {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [key, value] : entries_) f(*value);
  }

  /// Drops the least recently used entries nobody holds while `over(idle)` says the entries nobody
  /// holds (`idle`, least recently used first) keep too much; dropped entries are destroyed outside
  /// the cache's lock.
  template <class Over>
  void trim_idle(Over&& over) {
    std::vector<std::shared_ptr<Value>> evicted;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (;;) {
        std::vector<const Value*> idle;
        auto oldest = entries_.end();
        for (auto it = entries_.end(); it != entries_.begin();) {
          --it;
          if (it->second.use_count() != 1) continue;
          if (idle.empty()) oldest = it;
          idle.push_back(it->second.get());
        }
        if (idle.empty() || !over(idle)) break;
        evicted.push_back(std::move(oldest->second));
        entries_.erase(oldest);
      }
    }
  }

  /// Drops every entry nobody holds (destroyed outside the lock); returns how many stay.
  std::size_t clear_idle() {
    std::vector<std::shared_ptr<Value>> dropped;
    std::size_t left = 0;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = entries_.begin(); it != entries_.end();)
        if (it->second.use_count() == 1) {
          dropped.push_back(std::move(it->second));
          it = entries_.erase(it);
        } else {
          ++it;
        }
      left = entries_.size();
    }
    return left;
  }

  [[nodiscard]] std::size_t size() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::pair<Key, std::shared_ptr<Value>>> entries_;
};

}  // namespace stridecopy::detail
