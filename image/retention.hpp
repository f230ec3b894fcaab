// Retention policy for `forget` and `backup --keep-*`: which recovery points to keep.
// The semantics are restic's `forget` policy (documented in docs/scheduling.md,
// "Retention"), applied to each group of points separately: by default the points of one
// host and source (every server's C: is its own), or by source or by host alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

// A calendar duration like restic's: "1y5m7d2h" = 1 year, 5 months, 7 days, 2 hours.
struct RetentionDuration {
  int years = 0;
  int months = 0;
  int days = 0;
  int hours = 0;
  bool zero() const { return years == 0 && months == 0 && days == 0 && hours == 0; }
  // "2d3h" (units with a zero count are left out; "0h" when zero).
  std::string str() const;
};

// (--keep-within is parsed by cli/parse.cpp, parse_keep_within.)

inline constexpr int k_keep_unlimited = -1;

struct RetentionPolicy {
  // How many points each rule keeps; 0 = rule off, k_keep_unlimited = no limit.
  int last = 0;
  int hourly = 0;
  int daily = 0;
  int weekly = 0;
  int monthly = 0;
  int yearly = 0;
  RetentionDuration within;  // keep every point newer than (newest point - within)
  bool empty() const;
  // "keep 2 latest, 7 daily, 4 weekly points and all points within 2d of the newest"
  std::string describe() const;
};

// Parses a --keep-* count: a non-negative number or "unlimited". Throws Error(usage).
int parse_keep_count(const std::string& text, const std::string& what);

struct RetentionItem {
  std::string id;
  std::string source;
  int64_t created = 0;   // Unix seconds
  int64_t sequence = 0;  // orders points of the same second
  std::string host;      // "": none recorded (a group of its own)
};

// How points are grouped for retention (restic's --group-by): each group gets the whole
// policy. Host names are grouped without regard to ASCII case (image/point_select.hpp).
enum class RetentionGroupBy { host_and_source, source, host };

// Parses "host,source" (or "source,host"), "source" or "host". Throws Error(usage) naming
// `what` on anything else.
RetentionGroupBy parse_group_by(const std::string& text, const std::string& what);
// "host,source", "source", "host".
std::string to_string(RetentionGroupBy g);

struct RetentionDecision {
  RetentionItem item;
  bool keep = false;
  // The rules that keep the point ("last", "daily", "oldest weekly", "within 2d"), in
  // rule order; empty when it goes.
  std::vector<std::string> reasons;
  // The group the point was decided in: "host srv1, source C:", "source C:", "host srv1"
  // ("host (none)" for points that record no host).
  std::string group;
};

// Applies `policy` to the points of each group separately: within a group, points are
// taken newest first; a rule with count n keeps the newest point of each of the n newest
// calendar buckets (hour, day, ISO week, month, year in local time) that hold a point; a
// point may be kept by several rules and counts for each; a rule with count left when it
// reaches the group's oldest point keeps that point too ("oldest daily"); `within` keeps
// points strictly newer than the newest point (not in the future of `now`) minus the
// duration. Returns one decision per item: groups in order of (host ignoring case,
// source), newest first within each. An empty policy keeps everything (callers refuse it
// before).
std::vector<RetentionDecision> apply_retention(
    std::vector<RetentionItem> items, const RetentionPolicy& policy, int64_t now,
    RetentionGroupBy group_by = RetentionGroupBy::host_and_source);

}  // namespace vssimg
