// The Windows Application event log (--event-log, `vssimg eventlog install|uninstall`).
// Platform-neutral declarations; event_log_win32.cpp / event_log_posix.cpp implement
// them (chosen in cli/CMakeLists.txt). Failures throw vssimg::Error; on POSIX every call
// but event_log_available() throws Error(usage, ..., "the event log is Windows-only").
#pragma once

#include <string>

namespace vssimg::cli {

enum class EventLevel { information, warning, error };

// The registry key of the source, for messages and the install summary.
inline constexpr const char* k_event_source = "vssimg";
inline constexpr const char* k_event_source_key =
    "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\vssimg";

// True on Windows (the API exists; the source may still be unregistered).
bool event_log_available();

// Writes one event (id 1000, source vssimg, Application log) with `text` as its only
// insertion string. Throws Error when the source is not registered or the write fails.
void write_event(EventLevel level, const std::string& text);

struct EventSourceInstall {
  std::string message_file;  // EventMessageFile as registered ("" when none was found)
  bool existed = false;      // the key was already there (install is idempotent)
};
// Creates the source's registry key (TypesSupported=7, EventMessageFile when the .NET
// Framework 4 EventLogMessages.dll exists). Not elevated: Error(privilege).
EventSourceInstall install_event_source();
// Deletes the key; returns false when it was not there. Not elevated: Error(privilege).
bool uninstall_event_source();

}  // namespace vssimg::cli
