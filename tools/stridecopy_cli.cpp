// tools/stridecopy_cli.cpp — the `stridecopy` command-line program: `slice` writes a NumPy basic
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
#include <cuda_runtime_api.h>

#include "cuda/check.hpp"
#include "demo.hpp"
#include "stridecopy/stridecopy.hpp"

namespace {

namespace fs = std::filesystem;

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

/// The one place that decides where the copy runs; every backend writes `out` through save_npy, so
/// the file appears complete or not at all. `auto` is the host: a file-to-file copy on the GPU would
/// move strictly more bytes (the whole input up, the result down) than the CPU gather reads. The
/// CUDA backend uploads the input array and saves the same index of the device copy: the gather
/// kernels run on the GPU and the bytes stream back through pinned chunks.
void write_copy(backend b, const fs::path& out, const stridecopy::host_array& arr, const std::string& index_text) {
  const stridecopy::view v = stridecopy::slice(arr.as_view(), index_text);
  if (b != backend::cuda || stridecopy::element_count(v.lay) == 0) {
    stridecopy::save_npy(out, v);
    return;
  }
  if (!stridecopy::cuda_available()) throw stridecopy::error("--backend cuda: no CUDA device is available");
  stridecopy::device_buffer d(arr.bytes());
  STRIDECOPY_CUDA_TRY(cudaMemcpyAsync(d.data(), arr.data(), arr.bytes(), cudaMemcpyHostToDevice, d.stream()));
  STRIDECOPY_CUDA_TRY(cudaStreamSynchronize(d.stream()));
  stridecopy::view on_device = stridecopy::make_view(d.data(), arr.type(), arr.shape(), arr.lay().strides(),
                                                     stridecopy::memory_kind::device);
  on_device.allocation = stridecopy::byte_range{d.data(), d.size()};
  stridecopy::save_npy(out, stridecopy::slice(on_device, index_text), d.stream());
}

int run_slice(const std::string& in, const std::string& index_text, const std::string& out, backend b) {
  const stridecopy::host_array arr = stridecopy::load_npy(in);
  write_copy(b, out, arr, index_text);
  return 0;
}

int run_info(const std::string& in) {
  const stridecopy::npy_header h = stridecopy::read_npy_header(in);
  std::cout << "dtype=" << stridecopy::to_descr(h.type) << " shape=" << stridecopy::shape_string(h.shape)
            << " fortran_order=" << (h.fortran_order ? "True" : "False") << " version=" << h.major << '.' << h.minor
            << '\n'
            << std::flush;
  if (!std::cout) throw stridecopy::error("cannot write to standard output");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Copies strided views of .npy arrays into C-order .npy files, NumPy's way.", "stridecopy"};
  app.set_version_flag("--version", std::string("stridecopy ") + STRIDECOPY_VERSION);
  app.require_subcommand(1);

  std::string in, index_text, out, backend_name = "auto";
  CLI::App* slice_cmd = app.add_subcommand(
      "slice",
      "Write IN[INDEX] (NumPy basic indexing) to OUT as a C-order .npy file, as np.save would.");
  slice_cmd->add_option("IN", in, "input .npy file")->required();
  slice_cmd
      ->add_option("INDEX", index_text,
                   "NumPy basic index, brackets optional: \"[:, ::-1]\", \"..., 0\", \"None, 1:-1:2\", \"-1\"")
      ->required();
  slice_cmd->add_option("-o,--output", out, "output .npy file (replaced only when the copy succeeds)")->required();
  slice_cmd->add_option("--backend", backend_name,
                        "where the copy runs: host, cuda, or auto (the host: a file-to-file copy through the GPU "
                        "moves more bytes)")
      ->check(CLI::IsMember({"auto", "host", "cuda"}))
      ->capture_default_str();

  std::string info_in;
  CLI::App* info_cmd = app.add_subcommand("info", "Print a .npy file's dtype, shape, order and format version.");
  info_cmd->add_option("IN", info_in, ".npy file")->required();

  stridecopy::tools::demo_options demo;
  CLI::App* demo_cmd = app.add_subcommand(
      "demo", "The BGR example: a [4, 3, 966, 1296] float32 batch, [:, ::-1, :, :], into a pinned buffer and a "
              ".npy, verified and timed (on the GPU when one is present).");
  demo_cmd->add_option("-o,--output", demo.output, "keep the .npy here (default: a temporary, removed)");
  demo_cmd->add_option("--repeat", demo.repeat, "timed repetitions")->check(CLI::Range(1, 10000))->capture_default_str();
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
      report_error("unknown subcommand or option \"" + rest.front() + "\" (expected slice, info, demo, --help or --version)");
    else
      report_error(e.what());
    return exit_usage;
  }

  try {
    if (slice_cmd->parsed()) {
      const backend b = backend_name == "host" ? backend::host : backend_name == "cuda" ? backend::cuda : backend::automatic;
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
}
