// tests/replay.hpp — runs a kernel op on the CPU over its whole grid, a block at a time and phase by
// phase (every thread of a phase before the barrier), through a memory accessor that checks every
// access: loads inside the source span, stores inside the destination, natural alignment of every
// access (a misaligned 16-byte access faults on a GPU), shared-memory reads only of bytes written
// before the last barrier, no two threads writing the same shared byte in a phase.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace stridecopy::test {

class replay_memory {
 public:
  replay_memory(const void* src_begin, const void* src_end, void* dst, std::size_t dst_bytes, std::size_t shared_bytes)
      : src_begin_(reinterpret_cast<std::uintptr_t>(src_begin)),
        src_end_(reinterpret_cast<std::uintptr_t>(src_end)),
        dst_(reinterpret_cast<std::uintptr_t>(dst)),
        dst_bytes_(dst_bytes),
        writes_(dst_bytes, 0),
        shared_storage_(shared_bytes + 16),
        shared_written_phase_(shared_bytes, -1),
        shared_writer_(shared_bytes, -1) {
    // 16-byte aligned, as the kernel's extern __shared__ __align__(16) buffer.
    auto at = reinterpret_cast<std::uintptr_t>(shared_storage_.data());
    shared = reinterpret_cast<unsigned char*>((at + 15) / 16 * 16);
  }

  unsigned char* shared = nullptr;

  template <class T>
  T load(const T* p) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    if (a % alignof_access<T>() != 0) fail("misaligned " + std::to_string(sizeof(T)) + "-byte load", a);
    if (a < src_begin_ || a + sizeof(T) > src_end_) {  // recorded, not performed: a test fails, not the binary
      fail("load outside the source span", a);
      return T{};
    }
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  }

  template <class T>
  void store(T* p, const T& v) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    if (a % alignof_access<T>() != 0) fail("misaligned " + std::to_string(sizeof(T)) + "-byte store", a);
    if (a < dst_ || a + sizeof(T) > dst_ + dst_bytes_) {
      fail("store outside the destination", a);
      return;
    }
    for (std::size_t i = 0; i < sizeof(T); ++i) ++writes_[a - dst_ + i];
    std::memcpy(p, &v, sizeof(T));
  }

  template <class T>
  T load_shared(const T* p) const {
    const std::size_t at = shared_index<T>(p, "load");
    T v{};
    if (at == npos) return v;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      if (shared_written_phase_[at + i] < 0 || shared_written_phase_[at + i] >= phase_)
        fail("shared-memory read of a byte not written before the last barrier", at + i);
    std::memcpy(&v, p, sizeof(T));
    return v;
  }

  template <class T>
  void store_shared(T* p, const T& v) const {
    const std::size_t at = shared_index<T>(p, "store");
    if (at == npos) return;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      if (shared_written_phase_[at + i] == phase_ && shared_writer_[at + i] != thread_)
        fail("two threads write the same shared byte in one phase", at + i);
      shared_written_phase_[at + i] = phase_;
      shared_writer_[at + i] = thread_;
    }
    std::memcpy(p, &v, sizeof(T));
  }

  /// Replays every block of op, phase by phase.
  template <class Op>
  void run(const Op& op) {
    using Index = typename Op::index_type;
    const Index blocks = op.blocks();
    for (Index b = 0; b < blocks; ++b) {
      std::fill(shared_written_phase_.begin(), shared_written_phase_.end(), -1);
      for (int phase = 0; phase < Op::phases; ++phase) {
        phase_ = phase;
        for (int t = 0; t < Op::threads; ++t) {
          thread_ = t;
          op(*this, b, t, phase);
        }
      }
      if (errors_.size() > 20) break;
    }
  }

  /// Bytes of the destination written a number of times other than once (first few), or empty.
  [[nodiscard]] std::vector<std::string> write_errors() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < writes_.size() && out.size() < 5; ++i)
      if (writes_[i] != 1)
        out.push_back("destination byte " + std::to_string(i) + " written " + std::to_string(int(writes_[i])) +
                      " times");
    return out;
  }
  /// How many times each destination byte was written.
  [[nodiscard]] const std::vector<std::uint8_t>& write_counts() const { return writes_; }
  [[nodiscard]] const std::vector<std::string>& access_errors() const { return errors_; }

 private:
  static constexpr std::size_t npos = ~std::size_t(0);
  template <class T>
  static constexpr std::size_t alignof_access() {
    return sizeof(T);  // every access the kernels make is a naturally aligned 1, 2, 4, 8 or 16 bytes
  }
  template <class T>
  std::size_t shared_index(const T* p, const char* what) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p), base = reinterpret_cast<std::uintptr_t>(shared);
    if (a % sizeof(T) != 0) fail(std::string("misaligned shared ") + what, a);
    if (a < base || a + sizeof(T) > base + shared_written_phase_.size()) {
      fail(std::string("shared ") + what + " outside the block's shared memory", a);
      return npos;
    }
    return a - base;
  }
  void fail(const std::string& what, std::uintptr_t where) const {
    if (errors_.size() < 20)
      errors_.push_back(what + " at " + std::to_string(where) + " (phase " + std::to_string(phase_) + ", thread " +
                        std::to_string(thread_) + ")");
  }

  std::uintptr_t src_begin_, src_end_, dst_;
  std::size_t dst_bytes_;
  mutable std::vector<std::uint8_t> writes_;
  std::vector<unsigned char> shared_storage_;
  mutable std::vector<int> shared_written_phase_;
  mutable std::vector<int> shared_writer_;
  mutable std::vector<std::string> errors_;
  int phase_ = 0, thread_ = 0;
};

}  // namespace stridecopy::test
