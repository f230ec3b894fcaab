// All output of the program: results on stdout (text, or JSON Lines with --json),
// human log lines on stderr, an optional appended log file, and progress.
#pragma once

#include "cli/json.hpp"
#include "core/base/bytes.hpp"
#include "core/base/progress.hpp"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace vssimg::cli {

struct GlobalOptions {
  std::string store;              // --store or VSSIMG_STORE
  bool json = false;              // --json
  std::string progress = "auto";  // --progress auto|always|never
  std::string log_file;           // --log-file
  unsigned threads = 0;           // --threads (0 = all cores)
  bool quiet = false;             // -q: nothing on success (no results, info or progress)
  bool event_log = false;         // --event-log: one Application event per run (Windows)
  // --lock-wait: how long to wait for another process's store lock (cli/lock_options.hpp).
  std::string lock_wait = "5min";
  bool s3_path_style = false;  // --s3-path-style: http://host/bucket/key for s3:// stores
  std::string password_file;   // --password-file: an encrypted store's password (cli/password.hpp)
  unsigned connections = 0;    // --connections: parallel transfers to s3:// (0: default)
};

class Output {
 public:
  explicit Output(const GlobalOptions& options);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  bool json() const { return m_options.json; }
  // A line of human-readable results on stdout (suppressed with --json and -q).
  void text(const std::string& line);
  // A JSON Lines record on stdout (only with --json).
  void record(const JsonObject& object);
  // Warnings count towards exit code 3 when a command says so.
  void warning(const std::string& message);
  void info(const std::string& message);
  void error(const std::string& message, int exit_code);
  // Appends a timestamped line to --log-file (if any).
  void log(const std::string& line);
  size_t warning_count() const { return m_warnings; }
  // True when --log-file could not be opened (a warning; the run ends with exit 3).
  bool log_failed() const { return m_log_failed; }
  ProgressSink& progress();
  const GlobalOptions& options() const { return m_options; }

 private:
  class Progress;
  GlobalOptions m_options;
  // Erases a progress bar on the console before any other line is printed.
  void clear_progress();
  std::FILE* m_log = nullptr;
  bool m_log_failed = false;
  size_t m_warnings = 0;
  std::unique_ptr<Progress> m_progress;
};

// Sizes for people: core/base/bytes.hpp's one implementation.
using vssimg::human_bytes;
// "2026-11-25 01:00:03" in local time
std::string local_time(int64_t unix_seconds);

}  // namespace vssimg::cli
