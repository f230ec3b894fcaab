// Small platform services with one declaration here and implementations in
// platform_posix.cpp / platform_win32.cpp.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace vssimg {

// Cryptographically random bytes (getrandom / BCryptGenRandom).
std::vector<uint8_t> random_bytes(size_t n);
std::string host_name();
uint64_t process_id();
// True when a process with this id exists on this host (false when sure it does not).
bool process_alive(uint64_t pid);
// Seconds since the Unix epoch. Honours VSSIMG_FAKE_NOW (test-only clock seam).
int64_t now_unix();
// Monotonic seconds for rates and timeouts.
double monotonic_seconds();
// Number of hardware threads (at least 1).
unsigned hardware_threads();
// Restricts a file to its owner (chmod 600 / owner-only DACL).
void restrict_to_owner(const std::filesystem::path& path);
// True when the path is a symbolic link or reparse point.
bool is_symlink(const std::filesystem::path& path);
// What a restore target path is. `is_mounted` is true for a block device (or volume)
// that a filesystem is mounted from.
struct TargetInfo {
  bool exists = false;
  bool is_directory = false;
  bool is_device = false;
  bool is_mounted = false;
  uint64_t device_size = 0;
};
TargetInfo inspect_target(const std::filesystem::path& path);

// True when stderr is an interactive console (progress bars go there only then).
bool stderr_is_console();

// Standard output as a binary stream (restore -, export -): refuses an interactive
// console with a usage error naming `operation` and `example`; on Windows turns off
// CRLF translation. The one place either is decided.
std::FILE* binary_stdout(const std::string& operation, const std::string& example);

// Peak resident set size of this process in bytes (0 if unknown).
uint64_t peak_rss_bytes();

// Makes buffers of 1 MiB and more (an S3 pack's chunks, read-ahead windows) go back to the
// system when freed. glibc otherwise raises its mmap threshold past them after the first
// such free and serves the next from per-thread arenas that keep what they held: an S3
// backup then peaked at 190-310 MiB instead of about 165. Windows' heap already maps
// blocks that large directly: nothing to do there. Called once, at start.
void tune_memory();

// What asked this process to stop (request_interrupt, core/base/error.hpp).
enum class InterruptSignal {
  none,
  interrupt,  // Ctrl+C (SIGINT); on Windows also Ctrl+Break, closing the console, logoff
              // and shutdown: the work stops at a safe point, VSS is aborted, exit 130
  terminate,  // SIGTERM (POSIX): the same, exit 143, "terminated (SIGTERM)"
};
// Installs the handlers that turn those requests into request_interrupt(). POSIX: SIGINT
// and SIGTERM; a second one ends the process at once (nothing committed is lost).
// Windows (SetConsoleCtrlHandler): Ctrl+C and Ctrl+Break (a second one: the default
// handler ends the process); console close, logoff and shutdown, after which Windows
// ends the process once the handler returns, so the handler holds on until the main
// thread has aborted VSS and exited (or Windows' own time limit ends it). Logoff in
// session 0 (a scheduled task as SYSTEM) is another user logging off and is ignored.
void install_interrupt_handlers();
InterruptSignal interrupt_signal();

}  // namespace vssimg
