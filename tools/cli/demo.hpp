// tools/cli/demo.hpp — `stridecopy demo`: the README's BGR example, verified and timed.
#pragma once

#include <string>

namespace stridecopy::tools {

struct demo_options {
  std::string output;  ///< the .npy to write; empty: a file in the temporary directory, removed after
  int repeat = 20;     ///< timed repetitions (median reported)
  std::string backend = "auto";
};

/// Runs the BGR example and prints what it did; returns the process exit status.
int run_demo(const demo_options& options);

}  // namespace stridecopy::tools
