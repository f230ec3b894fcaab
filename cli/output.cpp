#include "cli/output.hpp"

#include "core/os/file.hpp"
#include "core/os/path.hpp"
#include "core/os/platform.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

namespace vssimg::cli {

std::string local_time(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::localtime(t));
}

// Renders progress: a bar with rate and ETA on an interactive console, otherwise one
// plain line every k_plain_interval seconds at most (Task Scheduler logs stay clean).
class Output::Progress final : public ProgressSink {
 public:
  explicit Progress(Output& out) : m_out(out) {
    const std::string& mode = out.m_options.progress;
    m_enabled = mode == "always" || (mode == "auto" && stderr_is_console());
    m_bar = stderr_is_console();
  }
  void begin(const std::string& phase, uint64_t total) override {
    m_phase = phase;
    m_total = total;
    m_start = monotonic_seconds();
    m_last = m_start;
    m_drawn = false;
  }
  void update(uint64_t done) override {
    if (!m_enabled) return;
    double now = monotonic_seconds();
    if (now - m_last < (m_bar ? 0.2 : k_plain_interval)) return;
    m_last = now;
    double elapsed = now - m_start;
    double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    std::string eta = "--:--";
    if (rate > 0 && m_total > done) {
      auto secs = static_cast<uint64_t>(static_cast<double>(m_total - done) / rate);
      eta = fmt::format("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    }
    double pct = m_total ? 100.0 * static_cast<double>(done) / static_cast<double>(m_total) : 0;
    bool bytes = m_phase.rfind("verify", 0) != 0;  // verify counts packs
    std::string amount = bytes
                             ? fmt::format("{} / {}  {}/s", human_bytes(done), human_bytes(m_total),
                                           human_bytes(static_cast<uint64_t>(rate)))
                             : fmt::format("{} / {} packs", done, m_total);
    if (m_bar) {
      int width = 24, filled = static_cast<int>(pct / 100 * width);
      std::fprintf(stderr, "\r%s [%s%s] %5.1f%%  %s  ETA %s   ", m_phase.c_str(),
                   std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(width - filled), '.').c_str(), pct,
                   amount.c_str(), eta.c_str());
      m_drawn = true;
    } else {
      std::fprintf(stderr, "%s: %.1f%%  %s  ETA %s\n", m_phase.c_str(), pct, amount.c_str(),
                   eta.c_str());
    }
    std::fflush(stderr);
  }
  void end() override {
    if (m_drawn) std::fprintf(stderr, "\r%*s\r", 100, "");
    m_drawn = false;
  }
  void warning(const std::string& text) override {
    clear_line();
    m_out.warning(text);
  }
  void info(const std::string& text) override {
    clear_line();
    m_out.info(text);
  }

 private:
  static constexpr double k_plain_interval = 10.0;
  void clear_line() {
    if (m_drawn) std::fprintf(stderr, "\r%*s\r", 100, "");
    m_drawn = false;
  }
  Output& m_out;
  bool m_enabled = false;
  bool m_bar = false;
  bool m_drawn = false;
  std::string m_phase;
  uint64_t m_total = 0;
  double m_start = 0, m_last = 0;
};

Output::Output(const GlobalOptions& options) : m_options(options) {
  if (!m_options.log_file.empty()) {
    m_log = open_stdio_file(path_from_utf8(m_options.log_file), "a");
    if (!m_log) {
      std::fprintf(stderr, "vssimg: warning: opening log file %s: cannot append; not logging\n",
                   m_options.log_file.c_str());
    }
  }
  m_progress = std::make_unique<Progress>(*this);
}

Output::~Output() {
  if (m_log) std::fclose(m_log);
}

void Output::text(const std::string& line) {
  if (m_options.json) return;
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
  std::fprintf(stderr, "vssimg: warning: %s\n", message.c_str());
  record(JsonObject("warning").add("message", message));
  log("warning: " + message);
}

void Output::info(const std::string& message) {
  if (!m_options.quiet) std::fprintf(stderr, "vssimg: %s\n", message.c_str());
  log(message);
}

void Output::error(const std::string& message, int exit_code) {
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
