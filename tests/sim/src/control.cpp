// tests/sim/src/control.cpp — the simulator's own C interface (stridecopy_sim/control.h): reports,
// fault injection, call counts, delays, and an operation of a set duration.
#include "stridecopy_sim/control.h"

#include <chrono>
#include <cstring>
#include <thread>

#include "state.hpp"

using namespace stridecopy_sim::detail;

extern "C" {

int stridecopy_sim_active(void) { return 1; }

unsigned long long stridecopy_sim_seed(void) {
  initialise();
  return g().config.seed;
}

long stridecopy_sim_take_reports(char* buffer, size_t size) {
  initialise();
  std::lock_guard<std::mutex> lock(g().m);
  std::string text;
  for (const std::string& r : g().reports) text += r + "\n";
  const long n = long(g().reports.size());
  g().reports.clear();
  if (buffer && size > 0) {
    const std::size_t k = std::min(size - 1, text.size());
    std::memcpy(buffer, text.data(), k);
    buffer[k] = '\0';
  }
  return n;
}

void stridecopy_sim_fail(const char* api, long nth, int error) {
  initialise();
  std::lock_guard<std::mutex> lock(g().m);
  fault f;
  f.api = api && std::strcmp(api, "*") != 0 ? api : "";
  f.remaining = nth < 1 ? 1 : nth;
  f.error = error ? cudaError_t(error) : default_fault_error(f.api);
  g().faults.push_back(f);
}

void stridecopy_sim_clear_faults(void) {
  initialise();
  std::lock_guard<std::mutex> lock(g().m);
  g().faults.clear();
}

long stridecopy_sim_calls(const char* api) {
  initialise();
  std::lock_guard<std::mutex> lock(g().m);
  if (!api) return g().total_calls;
  const auto it = g().calls.find(api);
  return it == g().calls.end() ? 0 : it->second;
}

cudaError_t stridecopy_sim_sleep(cudaStream_t h, unsigned microseconds) {
  initialise();
  std::lock_guard<std::mutex> lock(g().m);
  cudaError_t error = cudaSuccess;
  auto s = find_stream(h, error, "stridecopy_sim_sleep");
  if (!s) return error;
  return submit(*s,
                make_op("a " + std::to_string(microseconds) + " us sleep on " + describe(*s), s->device,
                        [microseconds](op&) { std::this_thread::sleep_for(std::chrono::microseconds(microseconds)); }));
}

unsigned stridecopy_sim_set_max_delay(unsigned microseconds) {
  initialise();
  std::lock_guard<std::mutex> lock(g().m);
  const unsigned previous = g().config.max_delay_us;
  g().config.max_delay_us = microseconds;
  return previous;
}

}  // extern "C"
