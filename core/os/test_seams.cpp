#include "core/os/test_seams.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vssimg::test_seams {

std::optional<int64_t> fake_now() {
  const char* fake = std::getenv("VSSIMG_FAKE_NOW");
  if (!fake) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(fake, &end, 10);
  if (!end || *end != '\0') return std::nullopt;
  return v;
}

const FaultPlan& fault_plan() {
  static const FaultPlan plan = [] {
    FaultPlan p;
    const char* env = std::getenv("VSSIMG_FAULT");
    char name[16] = {}, action[16] = {}, match[256] = {};
    int used = 0;
    if (!env || std::sscanf(env, "%15[a-z]:%lu%n", name, &p.n, &used) < 2) return p;
    p.from_n = env[used] == '+';
    std::sscanf(env + used + (p.from_n ? 1 : 0), ":%15[A-Z]:%255s", action, match);
    p.op = name;
    p.action = action;
    p.match = match;
    return p;
  }();
  return plan;
}

bool read_fault(const std::string& file_name, size_t len, uint64_t offset) {
  const char* env = std::getenv("VSSIMG_FAULT_READ");
  if (!env) return false;
  const char* colon = std::strchr(env, ':');
  if (!colon || std::string(env, colon) != file_name) return false;
  for (const char* p = colon; *p == ':';) {
    char* end = nullptr;
    unsigned long long bad = std::strtoull(p + 1, &end, 10);
    if (bad >= offset && bad < offset + len) return true;
    p = end;
  }
  return false;
}

bool prune_crash_at(const char* step) {
  const char* want = std::getenv("VSSIMG_TEST_PRUNE_CRASH");
  return want && std::strcmp(want, step) == 0;
}

const char* pack_size() {
  return std::getenv("VSSIMG_TEST_PACK_SIZE");
}

std::optional<int64_t> prune_window() {
  const char* text = std::getenv("VSSIMG_TEST_PRUNE_WINDOW");
  if (!text || !*text) return std::nullopt;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (!end || *end != '\0' || v < 0) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<double> progress_clock_step() {
  const char* step = std::getenv("VSSIMG_TEST_PROGRESS_STEP");
  if (!step) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(step, &end);
  if (!end || *end != '\0' || v <= 0) return std::nullopt;
  return v;
}

std::optional<std::string> device_user(const std::string& path) {
  const char* env = std::getenv("VSSIMG_TEST_DEVICE_USER");
  if (!env) return std::nullopt;
  const std::string text = env;
  const size_t eq = text.find('=');
  if (eq == std::string::npos || text.substr(0, eq) != path) return std::nullopt;
  return text.substr(eq + 1);
}

}  // namespace vssimg::test_seams
