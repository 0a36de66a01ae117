// tools/cli/stridecopy_cli.cpp — the `stridecopy` command-line program: `slice` writes a NumPy basic
// index of a .npy file as a new C-order .npy file, `info` describes a .npy file's header, `demo`
// runs the BGR example.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <span>

#include "cuda/runtime.hpp"
#include "demo.hpp"
#include "io/output_file.hpp"
#include "stridecopy/stridecopy.hpp"

namespace {

constexpr int exit_usage = 2;  // bad arguments
constexpr int exit_error = 1;  // everything else: unreadable input, bad index, I/O

enum class backend { automatic, host, cuda };

/// Messages may quote user input (an index string can hold a newline); the error must stay one line.
std::string one_line(std::string_view s) {
  std::string r;
  r.reserve(s.size());
  for (const char c : s) {
    if (c == '\n')
      r += "\\n";
    else if (c == '\r')
      r += "\\r";
    else
      r += c;
  }
  return r;
}

void report_error(std::string_view message) {
  std::fflush(stdout);
  std::cerr << "stridecopy: error: " << one_line(message) << '\n' << std::flush;
}

/// The type string of a descr literal that is one (quoted, no escapes: "'<f4'" -> "<f4").
std::string numpy_str(const std::string& descr) { return descr.substr(1, descr.size() - 2); }

/// NumPy's dtype.str of a file's type: its type string, or "|V<n>" for a record.
std::string numpy_str(const stridecopy::npy_header& h) {
  return h.descr.front() == '[' ? stridecopy::to_descr(h.type) : numpy_str(h.descr);
}

/// NumPy's a[index] is a scalar, not a 0-d view, when the index holds one integer per dimension and
/// nothing else (a[()] of a 0-d array included); np.array(scalar) then differs from the view.
bool numpy_gives_a_scalar(std::span<const stridecopy::index_item> items, int rank) {
  if (int(items.size()) != rank) return false;
  for (const auto& it : items)
    if (it.what != stridecopy::index_item::kind::integer) return false;
  return true;
}

/// What np.array(scalar) holds for one element of a file's type: numbers, datetimes and text in the
/// machine's byte order (a scalar is always native), text with its trailing NULs dropped (at least one
/// character kept); records and raw bytes as they are.
struct scalar_array {
  std::string descr;  // a .npy descr literal
  std::vector<std::byte> bytes;
};
scalar_array numpy_scalar_array(const stridecopy::npy_header& h, const std::byte* element) {
  const stridecopy::dtype t = h.type;
  const auto size = std::size_t(t.itemsize);
  scalar_array r{h.descr, std::vector<std::byte>(element, element + size)};
  const bool big = t.byteorder == '>';
  switch (t.kind) {
    case 'S': {
      std::size_t n = size;
      while (n > 0 && element[n - 1] == std::byte{0}) --n;
      r.bytes.assign(std::max<std::size_t>(n, 1), std::byte{0});
      std::copy(element, element + n, r.bytes.begin());
      r.descr = "'|S" + std::to_string(r.bytes.size()) + "'";
      break;
    }
    case 'U': {
      std::vector<std::uint32_t> chars(size / 4);
      for (std::size_t i = 0; i < chars.size(); ++i) {
        std::uint32_t c = 0;
        for (std::size_t b = 0; b < 4; ++b) c |= std::uint32_t(element[4 * i + (big ? 3 - b : b)]) << (8 * b);
        chars[i] = c;
      }
      while (!chars.empty() && chars.back() == 0) chars.pop_back();
      if (chars.empty()) chars.push_back(0);
      r.bytes.resize(chars.size() * 4);
      std::memcpy(r.bytes.data(), chars.data(), r.bytes.size());  // this little-endian host's order
      r.descr = "'<U" + std::to_string(chars.size()) + "'";
      break;
    }
    case 'b':
    case 'i':
    case 'u':
    case 'f':
    case 'c':
    case 'M':
    case 'm': {
      if (!big) break;
      // Each component (a complex number's halves) reversed; the descr's order becomes native.
      const std::size_t part = t.kind == 'c' ? size / 2 : size;
      for (std::size_t at = 0; at < size; at += part)
        std::reverse(r.bytes.begin() + std::ptrdiff_t(at), r.bytes.begin() + std::ptrdiff_t(at + part));
      r.descr[1] = '<';
      break;
    }
    default: break;  // 'V' and records: opaque bytes, descr as it is
  }
  return r;
}

/// Faults in, in one call, the pages of a mapped input a view will read, when it reads most of them:
/// cheaper than one page fault each. Advice only: kernels without MADV_POPULATE_READ ignore it.
void prefault(const stridecopy::mapped_npy& in, const stridecopy::view& v) {
  if (!in.is_mapped() || in.bytes() == 0) return;
  const stridecopy::plan p = stridecopy::make_plan(v);
  if (p.bytes == 0 || std::size_t(p.walk.span_end - p.walk.span_begin) < in.bytes() / 2) return;
  const auto first = reinterpret_cast<std::uintptr_t>(v.data) + std::uintptr_t(p.walk.span_begin);
  const auto last = reinterpret_cast<std::uintptr_t>(v.data) + std::uintptr_t(p.walk.span_end);
  const std::uintptr_t page = std::uintptr_t(::sysconf(_SC_PAGESIZE));
  const std::uintptr_t begin = first / page * page;
  (void)::madvise(reinterpret_cast<void*>(begin), last - begin, MADV_POPULATE_READ);
}

/// The one place that decides where the copy runs; every backend writes `out` through save_npy, so
/// a new or replaced file appears complete or not at all. The input is mapped, not read: the CPU
/// gathers straight from the page cache. `auto` is the host: a file-to-file copy on the GPU would
/// move strictly more bytes (the whole input up, the result down) than the CPU gather reads. The CUDA
/// backend uploads the input's data and saves the same index of the device copy: the gather kernels
/// run on the GPU and the bytes stream back through pinned chunks. An OUT that is IN itself, written
/// in place (a second link), is safe: save_npy copies a view of a mapping it is about to truncate.
int run_slice(const std::string& in_path, const std::string& index_text, const std::string& out, backend b) {
  const stridecopy::mapped_npy in(in_path);
  const std::vector<stridecopy::index_item> items = stridecopy::parse_index(index_text);
  const stridecopy::view v = stridecopy::slice(in.as_view(), items, index_text);
  const std::string& descr = in.header().descr;
  if (numpy_gives_a_scalar(items, in.as_view().rank())) {
    scalar_array s = numpy_scalar_array(in.header(), static_cast<const std::byte*>(v.data));
    in.check_intact();
    const stridecopy::dtype t = s.descr.front() == '[' ? in.header().type : stridecopy::parse_descr(numpy_str(s.descr));
    stridecopy::save_npy(out, stridecopy::make_view(s.bytes.data(), t, {}), stridecopy::stream_ref{}, s.descr);
    return 0;
  }
  if (b != backend::cuda || stridecopy::element_count(v.layout) == 0) {
    prefault(in, v);
    stridecopy::save_npy(out, v, stridecopy::stream_ref{}, descr);
    return 0;
  }
  if (!stridecopy::cuda_available()) stridecopy::detail::no_device("--backend cuda");
  // The whole array uploaded (C order on the device, whatever the file's), the copy done before the
  // mapping is checked; then the same index of the device copy, saved from the device.
  const stridecopy::view file = in.as_view();
  stridecopy::device_array d(file.type, file.shape());
  (void)stridecopy::copy(file, d.as_view(), stridecopy::stream_ref{});
  in.check_intact();
  stridecopy::save_npy(out, stridecopy::slice(d.as_view(), items, index_text), stridecopy::stream_ref{}, descr);
  return 0;
}

int run_info(const std::string& in) {
  const stridecopy::npy_header h = stridecopy::read_npy_header(in);
  std::cout << "dtype=" << numpy_str(h) << " shape=" << stridecopy::shape_string(h.shape)
            << " fortran_order=" << (h.fortran_order ? "True" : "False") << " version=" << h.major << '.' << h.minor
            << '\n'
            << std::flush;
  if (!std::cout) throw stridecopy::error("cannot write to standard output");
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Copies strided views of .npy arrays into C-order .npy files, NumPy's way.", "stridecopy"};
  app.set_version_flag("--version", std::string("stridecopy ") + STRIDECOPY_VERSION_STRING);
  app.require_subcommand(1);

  std::string in, index_text, out, backend_name = "auto";
  CLI::App* slice_cmd = app.add_subcommand(
      "slice", "Write IN[INDEX] (NumPy basic indexing) to OUT as a C-order .npy file, as np.save would.");
  slice_cmd->add_option("IN", in, "input .npy file")->required();
  slice_cmd
      ->add_option("INDEX", index_text,
                   "NumPy basic index, brackets optional: \"[:, ::-1]\", \"..., 0\", \"None, 1:-1:2\", \"-1\"")
      ->required();
  slice_cmd->add_option("-o,--output", out, "output .npy file (replaced only when the copy succeeds)")->required();
  slice_cmd
      ->add_option("--backend", backend_name,
                   "where the copy runs: host, cuda, or auto (the host: a file-to-file copy through the GPU "
                   "moves more bytes)")
      ->check(CLI::IsMember({"auto", "host", "cuda"}))
      ->capture_default_str();

  std::string info_in;
  CLI::App* info_cmd = app.add_subcommand("info", "Print a .npy file's dtype, shape, order and format version.");
  info_cmd->add_option("IN", info_in, ".npy file")->required();

  stridecopy::tools::demo_options demo;
  CLI::App* demo_cmd = app.add_subcommand(
      "demo",
      "The BGR example: a [4, 3, 966, 1296] float32 batch, [:, ::-1, :, :], into a pinned buffer and a "
      ".npy, verified and timed (on the GPU when one is present).");
  demo_cmd->add_option("-o,--output", demo.output, "keep the .npy here (default: a temporary, removed)");
  demo_cmd->add_option("--repeat", demo.repeat, "timed repetitions")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  demo_cmd->add_option("--backend", demo.backend, "auto, host or cuda")
      ->check(CLI::IsMember({"auto", "host", "cuda"}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: printed on stdout
    // CLI11 says only "A subcommand is required" when the first word is not one; name it.
    const std::vector<std::string> rest = app.remaining();
    if (app.get_subcommands().empty() && !rest.empty())
      report_error("unknown subcommand or option \"" + rest.front() +
                   "\" (expected slice, info, demo, --help or --version)");
    else
      report_error(e.what());
    return exit_usage;
  }

  try {
    // A temporary beside OUT must not outlive an interrupted copy.
    stridecopy::detail::install_signal_cleanup();
    if (slice_cmd->parsed()) {
      const backend b = backend_name == "host"   ? backend::host
                        : backend_name == "cuda" ? backend::cuda
                                                 : backend::automatic;
      return run_slice(in, index_text, out, b);
    }
    if (info_cmd->parsed()) return run_info(info_in);
    if (demo_cmd->parsed()) return stridecopy::tools::run_demo(demo);
    report_error("no subcommand given");
    return exit_usage;
  } catch (const std::bad_alloc&) {
    report_error("out of memory");
  } catch (const std::exception& e) {
    report_error(e.what());
  } catch (...) {
    report_error("unknown failure");
  }
  return exit_error;
} catch (...) {
  // Setting up the options failed (out of memory): nothing was read or written.
  return exit_error;
}
