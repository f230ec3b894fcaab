#include "cli/progress_view.hpp"

#include "core/base/bytes.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vssimg::cli {

namespace {

struct Parts {
  double pct = 0;
  std::string amount;  // "1.2 GiB / 3.0 GiB  80 MiB/s" or "3 / 7 packs"
  std::string eta;     // "0:01:05" or "--:--"
};

Parts parts_of(const std::string& phase, uint64_t done, uint64_t total, double elapsed) {
  Parts p;
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  p.eta = "--:--";
  if (rate > 0 && total > done) {
    auto secs = static_cast<uint64_t>(static_cast<double>(total - done) / rate);
    p.eta = fmt::format("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
  }
  p.pct =
      total ? 100.0 * static_cast<double>(std::min(done, total)) / static_cast<double>(total) : 0;
  const bool bytes = phase.rfind("verify", 0) != 0;  // verify counts packs
  p.amount = bytes ? fmt::format("{} / {}  {}/s", human_bytes(done), human_bytes(total),
                                 human_bytes(static_cast<uint64_t>(rate)))
                   : fmt::format("{} / {} packs", done, total);
  return p;
}

}  // namespace

std::string progress_bar_line(const std::string& phase, uint64_t done, uint64_t total,
                              double elapsed, int columns) {
  const Parts p = parts_of(phase, done, total, elapsed);
  const size_t width = static_cast<size_t>(std::max(columns, 2) - 1);
  const std::string pct = fmt::format("{:5.1f}%", p.pct);
  const std::string tail = fmt::format("{}  {}  ETA {}", pct, p.amount, p.eta);
  // "phase [####....] tail": the bar takes what is left, 10 to 30 characters.
  const size_t fixed = phase.size() + 4 + tail.size();
  if (fixed + 10 <= width) {
    const size_t bar = std::min<size_t>(30, width - fixed);
    const auto filled = static_cast<size_t>(p.pct / 100 * static_cast<double>(bar));
    return fmt::format("{} [{}{}] {}", phase, std::string(filled, '#'),
                       std::string(bar - filled, '.'), tail);
  }
  std::string line = fmt::format("{} {}  {}  ETA {}", phase, pct, p.amount, p.eta);
  if (line.size() > width) line = fmt::format("{} {}  ETA {}", phase, pct, p.eta);
  if (line.size() > width) line.resize(width);
  return line;
}

std::string progress_plain_line(const std::string& phase, uint64_t done, uint64_t total,
                                double elapsed) {
  const Parts p = parts_of(phase, done, total, elapsed);
  return fmt::format("{}: {:.1f}%  {}  ETA {}", phase, p.pct, p.amount, p.eta);
}

void ProgressView::begin(const std::string& phase, uint64_t total) {
  m_phase = phase;
  m_total = total;
  m_start = m_io.clock();
  m_last = m_start;
}

void ProgressView::update(uint64_t done) {
  if (m_style == ProgressStyle::off) return;
  const double now = m_io.clock();
  const bool bar = m_style == ProgressStyle::bar;
  if (now - m_last < (bar ? k_bar_interval : k_plain_interval)) return;
  m_last = now;
  if (!bar) {
    m_io.write(progress_plain_line(m_phase, done, m_total, now - m_start) + "\n");
    return;
  }
  const int columns = m_io.columns() > 0 ? m_io.columns() : k_default_columns;
  const std::string line = progress_bar_line(m_phase, done, m_total, now - m_start, columns);
  // Blanks over what a longer previous line left, never past the console's last column.
  const size_t room = static_cast<size_t>(std::max(columns, 2) - 1) - line.size();
  const size_t pad = m_drawn > line.size() ? std::min(m_drawn - line.size(), room) : 0;
  m_io.write("\r" + line + std::string(pad, ' '));
  m_drawn = line.size() + pad;
}

void ProgressView::clear() {
  if (m_drawn == 0) return;
  m_io.write("\r" + std::string(m_drawn, ' ') + "\r");
  m_drawn = 0;
}

}  // namespace vssimg::cli
