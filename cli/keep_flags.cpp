#include "cli/keep_flags.hpp"

#include "cli/parse.hpp"
#include "core/base/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

namespace vssimg::cli {

void add_keep_flags(CLI::App* sub, KeepFlags& f) {
  sub->add_option("--keep-last", f.last,
                  "Keep the N newest points (of each group: host and source by default; "
                  "'unlimited' = all; 0 = rule off)");
  sub->add_option("--keep-hourly", f.hourly,
                  "Keep the newest point of each of the last N hours that have points");
  sub->add_option("--keep-daily", f.daily,
                  "Keep the newest point of each of the last N days that have points");
  sub->add_option("--keep-weekly", f.weekly,
                  "Keep the newest point of each of the last N ISO weeks that have points");
  sub->add_option("--keep-monthly", f.monthly,
                  "Keep the newest point of each of the last N months that have points");
  sub->add_option("--keep-yearly", f.yearly,
                  "Keep the newest point of each of the last N years that have points");
  sub->add_option(
      "--keep-within", f.within,
      "Keep every point within DURATION of the newest point (units y, mo, d, h: 2d3h, 1y6mo)");
}

namespace {

// Flags were given, but every one is 0 (or a zero --keep-within): such a policy keeps no
// point, and retention never removes every point, so it is refused rather than ignored.
void refuse_zero_policy(const KeepFlags& f) {
  std::vector<std::string> given;
  auto add = [&](const std::string& text, const char* flag) {
    if (!text.empty()) given.push_back(fmt::format("{} {}", flag, text));
  };
  add(f.last, "--keep-last");
  add(f.hourly, "--keep-hourly");
  add(f.daily, "--keep-daily");
  add(f.weekly, "--keep-weekly");
  add(f.monthly, "--keep-monthly");
  add(f.yearly, "--keep-yearly");
  add(f.within, "--keep-within");
  if (given.empty()) return;
  throw Error(ErrorKind::usage, "parsing", fmt::format("{}", fmt::join(given, " ")),
              "0 keeps no points of that kind and no other --keep-* rule keeps any, so "
              "nothing would be kept; retention never removes every point: give a count "
              "above 0 (or 'unlimited')");
}

}  // namespace

RetentionPolicy policy_from_flags(const KeepFlags& f) {
  RetentionPolicy p;
  auto count = [](const std::string& text, const char* flag) {
    return text.empty() ? 0 : parse_keep_count(text, flag);
  };
  p.last = count(f.last, "--keep-last");
  p.hourly = count(f.hourly, "--keep-hourly");
  p.daily = count(f.daily, "--keep-daily");
  p.weekly = count(f.weekly, "--keep-weekly");
  p.monthly = count(f.monthly, "--keep-monthly");
  p.yearly = count(f.yearly, "--keep-yearly");
  if (!f.within.empty()) p.within = parse_keep_within(f.within);
  if (p.empty()) refuse_zero_policy(f);
  return p;
}

}  // namespace vssimg::cli
