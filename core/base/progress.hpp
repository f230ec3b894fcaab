// Progress reporting from library code to cli/, which decides how (or whether) to show it.
#pragma once

#include <cstdint>
#include <string>

namespace vssimg {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // A phase starts; `total` bytes of work (0 if unknown).
  virtual void begin(const std::string& phase, uint64_t total) {
    (void)phase;
    (void)total;
  }
  // `done` bytes of the phase are finished (monotonic).
  virtual void update(uint64_t done) { (void)done; }
  virtual void end() {}
  // A warning the user must see (also in the JSON output and the log).
  virtual void warning(const std::string& text) { (void)text; }
  // An informational line for the log (start of a phase, a retry).
  virtual void info(const std::string& text) { (void)text; }
};

// A sink that drops everything.
ProgressSink& null_progress();

}  // namespace vssimg
