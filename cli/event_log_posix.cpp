// The event log outside Windows: not available; every use is a usage error (exit 2).
#include "cli/event_log.hpp"

#include "core/base/error.hpp"

namespace vssimg::cli {

namespace {
[[noreturn]] void windows_only(const char* operation) {
  throw Error(ErrorKind::usage, operation, "", "the event log is Windows-only");
}
}  // namespace

bool event_log_available() {
  return false;
}

void write_event(EventLevel, const std::string&) {
  windows_only("writing to the event log");
}

EventSourceInstall install_event_source() {
  windows_only("installing the event source");
}

bool uninstall_event_source() {
  windows_only("uninstalling the event source");
}

}  // namespace vssimg::cli
