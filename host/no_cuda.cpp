// host/no_cuda.cpp — the device side of a build without CUDA (-DSTRIDECOPY_CUDA=OFF): what host/cuda/
// implements on the CUDA runtime, for a process that has no device. Every pointer is host memory,
// taken at its view's word; host copies run on the CPU before the call returns; every call that needs
// a device throws cuda_error (cudaErrorNoDevice) saying that stridecopy was built without CUDA.
#include <memory>
#include <new>
#include <string>

#include "cuda/pinned.hpp"
#include "cuda/runtime.hpp"
#include "dispatch.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/device_array.hpp"
#include "stridecopy/error.hpp"

namespace stridecopy {

bool cuda_available() noexcept { return false; }

void release_cached_memory() {}

device_buffer::device_buffer(std::size_t bytes, stream_ref stream) : bytes_(bytes), stream_(stream.get()) {
  detail::no_device("device_buffer");
}

void device_buffer::release() noexcept {
  data_ = nullptr;
  bytes_ = 0;
}

namespace detail {

void no_device(const std::string& what) {
  throw cuda_error(what + ": stridecopy was built without CUDA (-DSTRIDECOPY_CUDA=OFF)", no_device_code);
}

device_guard::device_guard(int device) {
  if (device >= 0) no_device("making device " + std::to_string(device) + " current");
}
device_guard::device_guard(int /*device*/, std::nothrow_t /*unused*/) noexcept {}
device_guard::~device_guard() = default;

pointer_info query_pointer(const void* /*p*/) { return {}; }
int current_device() { no_device("the current device"); }
int stream_device(stream_handle /*s*/) { no_device("a stream's device"); }
bool is_legacy_default(stream_handle s) { return s == nullptr; }
bool is_capturing(stream_handle /*s*/) { return false; }
unsigned long long stream_id(stream_handle /*s*/) { no_device("a stream's id"); }
void synchronize(stream_handle /*s*/) {}
void synchronize_quietly(stream_handle /*s*/) noexcept {}

void* pinned_allocate(std::size_t /*bytes*/, std::size_t& block) {
  block = 0;
  return nullptr;
}
void pinned_release(void* /*p*/, std::size_t /*block*/) noexcept {}

// Without a device, the front door runs host copies before returning and refuses device memory
// before it reaches these; they stay honest if it ever did.
void enqueue_cpu_job(std::unique_ptr<cpu_job> job, stream_handle /*stream*/) { job->run(); }

strategy run_device_copy(const prepared_copy& /*c*/, stream_handle /*stream*/, const copy_options& /*options*/,
                         const exec_options& /*exec*/) {
  no_device("a copy to or from device memory");
}

struct device_batch::parts {};
device_batch::device_batch() = default;
device_batch::~device_batch() = default;
void device_batch::add(const prepared_copy& /*c*/, const exec_options& /*exec*/) {
  no_device("a copy to or from device memory");
}
void device_batch::flush(stream_handle /*stream*/) {}

void device_view_to_sink(const plan& /*q*/, const checked_source& /*s*/, const piece_sink& /*sink*/,
                         stream_handle /*stream*/) {
  no_device("writing a device view to a file");
}

}  // namespace detail
}  // namespace stridecopy
