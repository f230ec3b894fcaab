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

// The two duration grammars differ today, and both are reached through this header only,
// so that making them one is a change here:
// - --max-duration is a wall-clock budget for one run: h, m, s, where m is minutes
//   ("1h30m", "45m", "90s"), returned as seconds;
// - --keep-within is restic's calendar duration: y, m, d, h, where m is months
//   ("1y6m", "2d3h"), because retention counts calendar months and years, not seconds.
double parse_max_duration(const std::string& text);
RetentionDuration parse_keep_within(const std::string& text);

// "5%", "2.5%": a percentage from 0% to 100% as a fraction; nullopt when `text` is not one.
std::optional<double> parse_percent(const std::string& text);
// --max-unused: a percentage of the bytes in packs, a size, or "unlimited".
UnusedLimit parse_max_unused(const std::string& text);
// --repack-threshold: a percentage ("50" is 50%), or "off" (1.0: no pack is forced).
double parse_repack_threshold(const std::string& text);

}  // namespace vssimg::cli
