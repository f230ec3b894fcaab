#include "image/retention.hpp"

#include "core/base/error.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <utility>

namespace vssimg {

namespace {

std::tm local_tm(int64_t unix_seconds) {
  return fmt::localtime(static_cast<std::time_t>(unix_seconds));
}

int weeks_in_iso_year(int year) {
  auto p = [](int y) { return (y + y / 4 - y / 100 + y / 400) % 7; };
  return (p(year) == 4 || p(year - 1) == 3) ? 53 : 52;
}

// YYYYWW of the ISO 8601 week (weeks start on Monday; week 1 holds the first Thursday).
int64_t iso_year_week(const std::tm& t) {
  int weekday = (t.tm_wday + 6) % 7 + 1;  // Monday 1 … Sunday 7
  int year = t.tm_year + 1900;
  int week = (t.tm_yday + 1 - weekday + 10) / 7;
  if (week < 1) {
    --year;
    week = weeks_in_iso_year(year);
  } else if (week > weeks_in_iso_year(year)) {
    ++year;
    week = 1;
  }
  return int64_t{year} * 100 + week;
}

enum class Bucket { last, hourly, daily, weekly, monthly, yearly };

int64_t bucket_of(Bucket b, const std::tm& t, size_t nr) {
  const int64_t y = t.tm_year + 1900, m = t.tm_mon + 1, d = t.tm_mday, h = t.tm_hour;
  switch (b) {
    case Bucket::last:
      return static_cast<int64_t>(nr);
    case Bucket::hourly:
      return ((y * 100 + m) * 100 + d) * 100 + h;
    case Bucket::daily:
      return (y * 100 + m) * 100 + d;
    case Bucket::weekly:
      return iso_year_week(t);
    case Bucket::monthly:
      return y * 100 + m;
    case Bucket::yearly:
      return y;
  }
  return 0;
}

// The newest point's time minus `d` in calendar terms (like Go's AddDate, then hours).
int64_t within_cutoff(int64_t latest, const RetentionDuration& d) {
  std::tm t = local_tm(latest);
  t.tm_year -= d.years;
  t.tm_mon -= d.months;
  t.tm_mday -= d.days;
  t.tm_isdst = -1;
  int64_t base = static_cast<int64_t>(std::mktime(&t));
  return base - int64_t{d.hours} * 3600;
}

void decide_group(std::vector<RetentionDecision>& group, const RetentionPolicy& policy,
                  int64_t now) {
  // Newest first; the sequence orders points of the same second.
  std::stable_sort(group.begin(), group.end(),
                   [](const RetentionDecision& a, const RetentionDecision& b) {
                     if (a.item.created != b.item.created) return a.item.created > b.item.created;
                     return a.item.sequence > b.item.sequence;
                   });
  struct Rule {
    Bucket bucket;
    int count;
    const char* name;
    int64_t last_value = 0;
    bool has_last = false;
  };
  Rule rules[] = {
      {Bucket::last, policy.last, "last"},          {Bucket::hourly, policy.hourly, "hourly"},
      {Bucket::daily, policy.daily, "daily"},       {Bucket::weekly, policy.weekly, "weekly"},
      {Bucket::monthly, policy.monthly, "monthly"}, {Bucket::yearly, policy.yearly, "yearly"}};

  // The newest point that is not in the future (a wrong clock must not expire the rest).
  bool have_latest = false;
  int64_t latest = 0;
  for (const auto& d : group) {
    if (d.item.created <= now && (!have_latest || d.item.created > latest)) {
      latest = d.item.created;
      have_latest = true;
    }
  }
  const bool use_within = !policy.within.zero();
  const int64_t cutoff =
      use_within && have_latest ? within_cutoff(latest, policy.within) : INT64_MIN;
  const std::string within_reason = "within " + policy.within.str();

  for (size_t nr = 0; nr < group.size(); ++nr) {
    auto& d = group[nr];
    const bool oldest = nr + 1 == group.size();
    if (use_within && d.item.created > cutoff) {
      d.keep = true;
      d.reasons.push_back(within_reason);
    }
    const std::tm t = local_tm(d.item.created);
    for (auto& r : rules) {
      if (r.count == 0) continue;
      int64_t value = bucket_of(r.bucket, t, nr);
      bool new_bucket = !r.has_last || value != r.last_value;
      if (!new_bucket && !oldest) continue;
      d.keep = true;
      d.reasons.push_back(new_bucket ? std::string(r.name) : std::string("oldest ") + r.name);
      r.last_value = value;
      r.has_last = true;
      if (r.count > 0) --r.count;
    }
  }
}

std::pair<std::string, std::string> group_key(const RetentionItem& item, RetentionGroupBy g) {
  std::string host = item.host;
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (g == RetentionGroupBy::source) host.clear();
  return {host, g == RetentionGroupBy::host ? std::string() : item.source};
}

// "host srv1, source C:" (the host as the group's first decision, the newest point,
// records it).
std::string group_label(const std::vector<RetentionDecision>& group, RetentionGroupBy g) {
  const RetentionItem& first = group.front().item;
  const std::string host = "host " + (first.host.empty() ? "(none)" : first.host);
  const std::string source = "source " + first.source;
  if (g == RetentionGroupBy::source) return source;
  if (g == RetentionGroupBy::host) return host;
  return host + ", " + source;
}

}  // namespace

std::string RetentionDuration::str() const {
  std::string s;
  if (years) s += fmt::format("{}y", years);
  if (months) s += fmt::format("{}mo", months);
  if (days) s += fmt::format("{}d", days);
  if (hours || s.empty()) s += fmt::format("{}h", hours);
  return s;
}

int parse_keep_count(const std::string& text, const std::string& what) {
  if (text == "unlimited") return k_keep_unlimited;
  bool digits = !text.empty() && text.size() <= 9 &&
                std::all_of(text.begin(), text.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!digits) {
    throw Error(ErrorKind::usage, "parsing", what,
                fmt::format("'{}' is not a count (a number, or 'unlimited')", text));
  }
  return std::stoi(text);
}

bool RetentionPolicy::empty() const {
  return last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 &&
         within.zero();
}

std::string RetentionPolicy::describe() const {
  std::vector<std::string> counts;
  auto add = [&](int n, const char* name) {
    if (n > 0)
      counts.push_back(fmt::format("{} {}", n, name));
    else if (n == k_keep_unlimited)
      counts.push_back(fmt::format("all {}", name));
  };
  add(last, "latest");
  add(hourly, "hourly");
  add(daily, "daily");
  add(weekly, "weekly");
  add(monthly, "monthly");
  add(yearly, "yearly");
  std::string s;
  if (!counts.empty()) s = fmt::format("{} points", fmt::join(counts, ", "));
  if (!within.zero())
    s += (s.empty() ? "" : " and ") +
         fmt::format("all points within {} of the newest", within.str());
  return s.empty() ? "keep nothing by policy" : "keep " + s;
}

RetentionGroupBy parse_group_by(const std::string& text, const std::string& what) {
  if (text == "host,source" || text == "source,host") return RetentionGroupBy::host_and_source;
  if (text == "source") return RetentionGroupBy::source;
  if (text == "host") return RetentionGroupBy::host;
  throw Error(
      ErrorKind::usage, "parsing", what,
      fmt::format("'{}' is not a grouping: use host,source (the default), source or host", text));
}

std::string to_string(RetentionGroupBy g) {
  switch (g) {
    case RetentionGroupBy::host_and_source:
      return "host,source";
    case RetentionGroupBy::source:
      return "source";
    case RetentionGroupBy::host:
      return "host";
  }
  return "";
}

std::vector<RetentionDecision> apply_retention(std::vector<RetentionItem> items,
                                               const RetentionPolicy& policy, int64_t now,
                                               RetentionGroupBy group_by) {
  // Keyed by (host without case, source); the label shows the host as the newest point
  // of the group recorded it.
  std::map<std::pair<std::string, std::string>, std::vector<RetentionDecision>> groups;
  for (auto& item : items) {
    auto key = group_key(item, group_by);
    groups[std::move(key)].push_back(RetentionDecision{std::move(item), false, {}, {}});
  }
  std::vector<RetentionDecision> out;
  for (auto& [key, group] : groups) {
    if (policy.empty()) {
      for (auto& d : group) d.keep = true;
    } else {
      decide_group(group, policy, now);
    }
    const std::string label = group_label(group, group_by);
    for (auto& d : group) {
      d.group = label;
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace vssimg
