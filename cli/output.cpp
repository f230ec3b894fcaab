#include "cli/output.hpp"

#include "core/os/file.hpp"
#include "core/os/path.hpp"
#include "cli/console.hpp"
#include "cli/progress_view.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "core/os/test_seams.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cerrno>
#include <ctime>
#include <functional>

namespace vssimg::cli {

std::string local_time(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::localtime(t));
}

namespace {

// The progress clock: real time, or with VSSIMG_TEST_PROGRESS_STEP a clock that advances
// a fixed step at every reading (tests see every redraw without sleeping).
std::function<double()> progress_clock() {
  if (auto step = test_seams::progress_clock_step()) {
    return [step = *step, now = 0.0]() mutable { return now += step; };
  }
  return [] { return monotonic_seconds(); };
}

ProgressStyle progress_style(const GlobalOptions& options) {
  if (options.progress == "never" || options.quiet) return ProgressStyle::off;
  if (stderr_is_console()) return ProgressStyle::bar;
  return ProgressStyle::plain;  // auto or always off a console: a plain line now and then
}

}  // namespace

// The library's progress sink: draws through the view, and clears the bar before a
// warning or an info line is printed.
class Output::Progress final : public ProgressSink {
 public:
  explicit Progress(Output& out)
      : m_out(out),
        m_view(progress_style(out.m_options),
               ProgressIo{progress_clock(), [] { return stderr_columns(); },
                          [](const std::string& text) {
                            std::fputs(text.c_str(), stderr);
                            std::fflush(stderr);
                          }}) {}
  void begin(const std::string& phase, uint64_t total) override { m_view.begin(phase, total); }
  void update(uint64_t done) override { m_view.update(done); }
  void end() override { m_view.clear(); }
  void warning(const std::string& text) override { m_out.warning(text); }
  void info(const std::string& text) override { m_out.info(text); }
  void clear() { m_view.clear(); }

 private:
  Output& m_out;
  ProgressView m_view;
};

Output::Output(const GlobalOptions& options) : m_options(options) {
  m_progress = std::make_unique<Progress>(*this);
  if (!m_options.log_file.empty()) {
    m_log = open_stdio_file(path_from_utf8(m_options.log_file), "a");
    if (!m_log) {
      const int err = errno;
      m_log_failed = true;
      warning(
          fmt::format("opening log file {}: {}; not logging", m_options.log_file, errno_text(err)));
    }
  }
}

Output::~Output() {
  if (m_log) std::fclose(m_log);
}

ProgressSink& Output::progress() {
  return *m_progress;
}

void Output::clear_progress() {
  if (m_progress) m_progress->clear();
}

void Output::text(const std::string& line) {
  if (m_options.json || m_options.quiet) return;
  clear_progress();
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void Output::record(const JsonObject& object) {
  if (!m_options.json) return;
  std::string line = object.str();
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void Output::warning(const std::string& message) {
  ++m_warnings;
  clear_progress();
  std::fprintf(stderr, "vssimg: warning: %s\n", message.c_str());
  record(JsonObject("warning").add("message", message));
  log("warning: " + message);
}

void Output::info(const std::string& message) {
  if (!m_options.quiet) {
    clear_progress();
    std::fprintf(stderr, "vssimg: %s\n", message.c_str());
  }
  log(message);
}

void Output::error(const std::string& message, int exit_code) {
  clear_progress();
  std::fprintf(stderr, "vssimg: error: %s\n", message.c_str());
  record(JsonObject("error").add("message", message).add("exit_code", exit_code));
  log(fmt::format("error (exit {}): {}", exit_code, message));
}

void Output::log(const std::string& line) {
  if (!m_log) return;
  std::string stamp = local_time(now_unix());
  // One write per line in append mode, so concurrent runs interleave whole lines.
  std::string text = fmt::format("{} [{}] {}\n", stamp, process_id(), line);
  std::fwrite(text.data(), 1, text.size(), m_log);
  std::fflush(m_log);
}

}  // namespace vssimg::cli
