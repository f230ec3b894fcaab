#include "cli/keep_flags.hpp"

#include "cli/parse.hpp"

namespace vssimg::cli {

void add_keep_flags(CLI::App* sub, KeepFlags& f) {
  sub->add_option("--keep-last", f.last,
                  "Keep the N newest points (per source; 'unlimited' = all)");
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
  sub->add_option("--keep-within", f.within,
                  "Keep every point newer than DURATION (like 2d3h, 1y6m) before the newest point");
}

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
  return p;
}

}  // namespace vssimg::cli
