// How progress looks on stderr: a bar that fits the console (redrawn in place, cleared
// before any other line is printed), or, off a console, one plain line every
// k_plain_interval seconds at most. The clock, the width and the writer are injected, so
// that tests check the output without a console and without sleeping.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace vssimg::cli {

enum class ProgressStyle { off, bar, plain };

struct ProgressIo {
  std::function<double()> clock;                  // monotonic seconds
  std::function<int()> columns;                   // console width; 0 if unknown
  std::function<void(const std::string&)> write;  // to stderr, flushed
};

class ProgressView {
 public:
  static constexpr double k_bar_interval = 0.2;
  static constexpr double k_plain_interval = 10.0;
  static constexpr int k_default_columns = 80;  // a console whose width is unknown

  ProgressView(ProgressStyle style, ProgressIo io) : m_style(style), m_io(std::move(io)) {}
  void begin(const std::string& phase, uint64_t total);
  // `done` units of the phase (bytes; packs for a phase starting with "verify").
  void update(uint64_t done);
  // Erases a bar on the screen, so that the next line starts at column 0 of a clean line.
  void clear();

 private:
  ProgressStyle m_style;
  ProgressIo m_io;
  std::string m_phase;
  uint64_t m_total = 0;
  double m_start = 0, m_last = 0;
  size_t m_drawn = 0;  // characters of the bar on the screen (0: none)
};

// One bar line for a console of `columns` columns, at most columns - 1 characters (the
// last column stays empty: writing it makes some consoles wrap). Narrow consoles lose the
// bar first, then the amounts.
std::string progress_bar_line(const std::string& phase, uint64_t done, uint64_t total,
                              double elapsed, int columns);
// The plain line written off a console ("backup: 42.0%  1.2 GiB / 3.0 GiB  ...").
std::string progress_plain_line(const std::string& phase, uint64_t done, uint64_t total,
                                double elapsed);

}  // namespace vssimg::cli
