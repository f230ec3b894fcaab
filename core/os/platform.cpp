// The platform services that the standard library already makes portable.
#include "core/os/platform.hpp"
#include "core/os/test_seams.hpp"

#include <chrono>
#include <thread>

namespace vssimg {

int64_t now_unix() {
  if (auto fake = test_seams::fake_now()) return *fake;
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

unsigned hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

}  // namespace vssimg
