// python/src/host_blocks.cpp — where CUDA is absent, results live in cached page-aligned blocks: a
// fresh 60 MB allocation costs as much in page faults as the copy itself (the pinned pool's job
// where CUDA is present).
#include <algorithm>
#include <bit>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#include "module.hpp"

namespace stridecopy::python {

namespace {

constexpr std::size_t page = 4096;
constexpr std::size_t max_cached_bytes = std::size_t(1) << 30;  // beyond this, returned blocks are freed

struct block_cache {
  std::mutex mutex;
  std::multimap<std::size_t, void*> free;
  std::size_t cached = 0;
};

block_cache& cache() {
  static auto* c = new block_cache;  // never destroyed: arrays may outlive static teardown
  return *c;
}

}  // namespace

void* take_host_block(std::size_t bytes, std::size_t& block) {
  // Power-of-two sizes, as the pinned pool: a block serves every array up to its size.
  block = std::bit_ceil(std::max(bytes, page));
  block_cache& c = cache();
  {
    const std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free.find(block);
    if (it != c.free.end()) {
      void* p = it->second;
      c.free.erase(it);
      c.cached -= block;
      return p;
    }
  }
  void* p = std::aligned_alloc(page, block);
  if (!p) throw std::bad_alloc();
  return p;
}

void give_host_block(void* p, std::size_t block) noexcept {
  block_cache& c = cache();
  {
    const std::lock_guard<std::mutex> lock(c.mutex);
    if (c.cached + block <= max_cached_bytes) {
      try {
        c.free.emplace(block, p);
        c.cached += block;
        return;
      } catch (...) {  // no memory for the map node: free the block instead
      }
    }
  }
  std::free(p);
}

void trim_host_blocks() noexcept {
  std::multimap<std::size_t, void*> blocks;
  block_cache& c = cache();
  {
    const std::lock_guard<std::mutex> lock(c.mutex);
    blocks.swap(c.free);
    c.cached = 0;
  }
  for (auto& [size, p] : blocks) std::free(p);
}

}  // namespace stridecopy::python
