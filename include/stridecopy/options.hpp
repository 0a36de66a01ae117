// stridecopy/options.hpp — what a copy may be asked (the strategy, the CPU threads) and the
// process-wide thread setting. Plain C++: no CUDA header, so the CPU layers include it too.
#pragma once

#include <cstdint>
#include <optional>

namespace stridecopy {

/// How a copy moves its bytes: what a copy returns (the one that ran), and what copy_options may
/// ask for (none given: the chooser decides). The chooser picks from the two sides' memory and layouts: host to host
/// runs on the CPU; device to device by kernels (one copy-engine transfer when both are contiguous);
/// between host and device, a pinned side takes dma for contiguous runs, direct for small copies
/// through mapped memory and staged for the rest, and a pageable side (never pinned behind the
/// caller's back) always goes through pinned slots, the CPU gathering or scattering on its side.
enum class strategy : std::uint8_t {
  none,    ///< nothing to copy (the view is empty, or the same elements on both sides); never asked for
  cpu,     ///< a copy on the CPU (host source, host destination)
  dma,     ///< the copy engine moves contiguous runs of both sides as they are; no kernel, no scratch
  staged,  ///< a bounded ring of device or pinned slots between the kernels and the copy engine, overlapped
  direct,  ///< kernels read or write the other side itself (device memory, or mapped pinned memory)
};
const char* to_string(strategy s);

struct copy_options {
  /// The strategy to use, or none (the chooser decides); the environment variable
  /// STRIDECOPY_STRATEGY=dma|staged|direct forces one for the copies between host and device memory
  /// that do not ask here. A forced strategy that cannot run throws invalid_view naming why; asking
  /// for strategy::none throws invalid_argument.
  std::optional<strategy> how{};
  /// The most threads a CPU copy (or the CPU gather of a host-to-device copy) may use, 1 to
  /// max_cpu_threads; 0: get_num_threads(). Copies below 4 MiB run on the calling thread alone.
  int threads = 0;
};

/// The most threads a CPU copy may ask for.
inline constexpr int max_cpu_threads = 1024;

/// Sets the threads CPU copies may use when they do not ask (copy_options::threads == 0), for the
/// whole process, as torch.set_num_threads does; 0 restores the default. The default is the number
/// of CPUs in the calling thread's affinity mask (sched_getaffinity: a container given one CPU copies
/// on one thread), at most OMP_NUM_THREADS when that is set (read once, at the first large copy).
/// A copy's team is the calling thread plus pool workers that sleep while idle; it is never larger
/// than the pieces the copy is cut into. Throws invalid_argument outside 0..max_cpu_threads.
void set_num_threads(int n);
/// The threads a CPU copy that does not ask may use: the setting, or the default described above.
int get_num_threads();

}  // namespace stridecopy
