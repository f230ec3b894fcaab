// The platform services that the standard library already makes portable.
#include "core/os/platform.hpp"

#include <chrono>
#include <cstdlib>
#include <thread>

namespace vssimg {

int64_t now_unix() {
  if (const char* fake = std::getenv("VSSIMG_FAKE_NOW")) {
    char* end = nullptr;
    long long v = std::strtoll(fake, &end, 10);
    if (end && *end == '\0') return v;
  }
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
