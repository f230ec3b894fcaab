// Parsers of the flag values that CLI11 hands over as strings. Each throws Error(usage)
// naming the flag or variable, so that a bad value is reported like every other error of
// a run: after the start line in the log, with an error record and exit code 2.
#pragma once

#include "image/prune.hpp"
#include "image/retention.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace vssimg::cli {

// "256K", "1M", "4MiB", "65536" -> bytes: decimal digits and an optional suffix B, K, KB,
// KiB, M, MB, MiB, G, GB, GiB in any case, all binary multiples. CLI11's AsSizeValue is
// not used: it also takes T/P/E, "Ki", blanks and fractions, and reports its own
// message while the command line is parsed, before the run has a log.
uint64_t parse_size(const std::string& text, const std::string& what);

// "3/7" (--subset) -> (3, 7) with 1 <= N <= T <= 10000.
std::pair<unsigned, unsigned> parse_subset(const std::string& text);

// One duration grammar for every flag: numbers with units, largest first or in any order,
// no blanks ("1h30min", "2d3h", "1y6mo"). Units: y (years), mo (months), d (days),
// h (hours), min (minutes), s (seconds). A bare "m" is refused, because it meant months
// in --keep-within and minutes in --max-duration: the message says to write mo or min.
// Each flag takes the units that make sense for it, listed in `units` as " y mo d h "
// (blank-separated, with a blank at each end); others are refused, naming the flag.
struct DurationParts {
  int years = 0, months = 0, days = 0, hours = 0, minutes = 0, seconds = 0;
};
DurationParts parse_duration(const std::string& text, const std::string& what,
                             const std::string& units);

// --max-duration: a wall-clock budget for one run (d, h, min, s), in seconds; above 0.
double parse_max_duration(const std::string& text);
// --keep-within: a calendar duration (y, mo, d, h), because retention counts calendar
// months and years, not seconds.
RetentionDuration parse_keep_within(const std::string& text);

// "5%", "2.5%": a percentage from 0% to 100% as a fraction; nullopt when `text` is not one.
std::optional<double> parse_percent(const std::string& text);
// --max-unused: a percentage of the bytes in packs, a size, or "unlimited".
UnusedLimit parse_max_unused(const std::string& text);
// --repack-threshold: a percentage ("50" is 50%), or "off" (1.0: no pack is forced).
double parse_repack_threshold(const std::string& text);

}  // namespace vssimg::cli
