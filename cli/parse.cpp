#include "cli/parse.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdio>

namespace vssimg::cli {

namespace {

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// The multiple a size suffix stands for; 0 for an unknown suffix.
uint64_t size_multiple(std::string suffix) {
  for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (suffix.empty() || suffix == "B") return 1;
  if (suffix == "K" || suffix == "KB" || suffix == "KIB") return 1024;
  if (suffix == "M" || suffix == "MB" || suffix == "MIB") return 1024 * 1024;
  if (suffix == "G" || suffix == "GB" || suffix == "GIB") return 1024ull * 1024 * 1024;
  return 0;
}

// Seconds of one --max-duration unit; 0 for an unknown unit.
double max_duration_unit(char unit) {
  switch (unit) {
    case 'h':
      return 3600;
    case 'm':
      return 60;
    case 's':
      return 1;
    default:
      return 0;
  }
}

}  // namespace

uint64_t parse_size(const std::string& text, const std::string& what) {
  size_t pos = 0;
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  const uint64_t mult = size_multiple(text.substr(pos));
  // At most 12 digits, so that std::stoull cannot throw.
  if (pos == 0 || mult == 0 || pos > 12) {
    throw Error(ErrorKind::usage, "parsing", what,
                fmt::format("'{}' is not a size like 256K or 1M", text));
  }
  return std::stoull(text.substr(0, pos)) * mult;
}

std::pair<unsigned, unsigned> parse_subset(const std::string& text) {
  unsigned n = 0, t = 0;
  char slash = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%u%c%u%c", &n, &slash, &t, &extra) != 3 || slash != '/' || n < 1 ||
      n > t || t > 10000) {
    throw Error(ErrorKind::usage, "parsing", "--subset",
                fmt::format("'{}' is not N/T with 1 <= N <= T", text));
  }
  return {n, t};
}

double parse_max_duration(const std::string& text) {
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == start || i == text.size() || i - start > 6) break;
    const double n = std::stod(text.substr(start, i - start));
    const double unit = max_duration_unit(text[i++]);
    if (unit == 0) {
      i = std::string::npos;
      break;
    }
    total += n * unit;
  }
  if (text.empty() || i != text.size() || total <= 0) {
    throw Error(ErrorKind::usage, "parsing", "--max-duration",
                fmt::format("'{}' is not a duration like 1h30m, 45m or 90s", text));
  }
  return total;
}

RetentionDuration parse_keep_within(const std::string& text) {
  return parse_retention_duration(text, "--keep-within");
}

}  // namespace vssimg::cli
