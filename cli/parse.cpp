#include "cli/parse.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <cstring>

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

// The units of the one duration grammar (cli/parse.hpp), longest spelling first so that
// "min" is not read as "m" followed by garbage.
struct DurationUnit {
  const char* name;
  int DurationParts::*field;
};
constexpr DurationUnit k_duration_units[] = {
    {"min", &DurationParts::minutes}, {"mo", &DurationParts::months},
    {"y", &DurationParts::years},     {"d", &DurationParts::days},
    {"h", &DurationParts::hours},     {"s", &DurationParts::seconds},
};

// The unit at text[i] (advancing i past it), or nullptr with `why` set.
const DurationUnit* duration_unit(const std::string& text, size_t& i, std::string& why) {
  for (const auto& unit : k_duration_units) {
    const std::string name = unit.name;
    if (text.compare(i, name.size(), name) == 0) {
      i += name.size();
      return &unit;
    }
  }
  if (text[i] == 'm') {
    why = "uses 'm', which could be minutes or months; write min or mo";
  } else {
    why = fmt::format("has the unknown unit '{}'", text.substr(i, 1));
  }
  return nullptr;
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

DurationParts parse_duration(const std::string& text, const std::string& what,
                             const std::string& units) {
  DurationParts d;
  std::string why;
  size_t i = 0;
  if (text.empty()) why = "is empty";
  while (why.empty() && i < text.size()) {
    const size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == start) {
      why = "has a unit without a number";
    } else if (i - start > 6) {
      why = "has a number that is too large";
    } else if (i == text.size()) {
      why = "has a number without a unit";
    } else if (const DurationUnit* unit = duration_unit(text, i, why)) {
      if (units.find(std::string(" ") + unit->name + " ") == std::string::npos) {
        why = fmt::format("uses '{}', which {} does not take", unit->name, what);
      } else {
        d.*(unit->field) += std::stoi(text.substr(start, i - start - std::strlen(unit->name)));
      }
    }
  }
  if (!why.empty()) {
    throw Error(ErrorKind::usage, "parsing", what,
                fmt::format("'{}' {}; a duration is numbers with units{}(like {})", text, why,
                            units, what == "--keep-within" ? "1y6mo, 2d3h" : "1h30min, 90s"));
  }
  return d;
}

double parse_max_duration(const std::string& text) {
  const DurationParts d = parse_duration(text, "--max-duration", " d h min s ");
  const double total = 86400.0 * d.days + 3600.0 * d.hours + 60.0 * d.minutes + d.seconds;
  if (total <= 0) {
    throw Error(ErrorKind::usage, "parsing", "--max-duration",
                fmt::format("'{}' is zero; give a time budget like 2h or 45min", text));
  }
  return total;
}

RetentionDuration parse_keep_within(const std::string& text) {
  const DurationParts d = parse_duration(text, "--keep-within", " y mo d h ");
  RetentionDuration r;
  r.years = d.years;
  r.months = d.months;
  r.days = d.days;
  r.hours = d.hours;
  return r;
}

// "5%", "2.5%": a percentage from 0% to 100% as a fraction; nullopt when `text` is not one.
std::optional<double> parse_percent(const std::string& text) {
  if (text.size() < 2 || text.back() != '%' || text.size() > 8) return std::nullopt;
  const std::string number = text.substr(0, text.size() - 1);
  size_t digits = 0, dots = 0;
  for (char c : number) {
    digits += std::isdigit(static_cast<unsigned char>(c)) ? 1 : 0;
    dots += c == '.' ? 1 : 0;
  }
  if (digits == 0 || dots > 1 || digits + dots != number.size()) return std::nullopt;
  const double percent = std::stod(number);
  if (percent > 100) return std::nullopt;
  return percent / 100;
}

// `--max-unused`: a percentage of the bytes in packs, a size, or `unlimited`.
UnusedLimit parse_max_unused(const std::string& text) {
  UnusedLimit limit;
  if (text == "unlimited") {
    limit.kind = UnusedLimit::Kind::unlimited;
  } else if (text.find('%') != std::string::npos) {
    auto share = parse_percent(text);
    if (!share) {
      throw Error(
          ErrorKind::usage, "parsing", "--max-unused",
          fmt::format("'{}' is not a percentage from 0% to 100%, a size or unlimited", text));
    }
    limit.share = *share;
  } else {
    limit.kind = UnusedLimit::Kind::bytes;
    limit.bytes = parse_size(text, "--max-unused");
  }
  return limit;
}

// `--repack-threshold`: a percentage, or `off` (1: no pack is forced, as 100% was).
double parse_repack_threshold(const std::string& text) {
  if (text == "off") return 1.0;
  std::string percent = text;
  if (!percent.empty() && percent.back() != '%') percent += '%';  // "50" is 50%, as before
  auto share = parse_percent(percent);
  if (!share) {
    throw Error(ErrorKind::usage, "parsing", "--repack-threshold",
                fmt::format("'{}' is not a percentage from 0% to 100%", text));
  }
  return *share;
}

}  // namespace vssimg::cli
