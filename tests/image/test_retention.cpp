// The retention policy against restic's documented `forget` semantics, on points with
// controlled timestamps. Times are written in local time and converted with mktime, so
// the calendar buckets are the written ones whatever the test machine's time zone
// (no case sits in a daylight-saving gap).
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/retention.hpp"
#include "image/backup.hpp"
#include "image/lock.hpp"
#include "image/verify.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <string>

using namespace vssimg;

namespace {

// "2024-01-15 10:30" in local time -> Unix seconds.
int64_t at(const char* text) {
  std::tm t{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  REQUIRE(std::sscanf(text, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi) == 5);
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&t));
}

// Points named by their time; all of source "C:" unless given as "src|time".
std::vector<RetentionItem> points(std::initializer_list<const char*> times) {
  std::vector<RetentionItem> out;
  int64_t seq = 0;
  for (const char* t : times) {
    std::string s = t, source = "C:";
    if (auto bar = s.find('|'); bar != std::string::npos) {
      source = s.substr(0, bar);
      s = s.substr(bar + 1);
    }
    out.push_back(RetentionItem{source + " " + s, source, at(s.c_str()), ++seq});
  }
  return out;
}

// id -> reasons ("" for removed) of an application of the policy.
std::map<std::string, std::string> decide(std::vector<RetentionItem> items,
                                          const RetentionPolicy& p,
                                          const char* now = "2099-01-01 00:00") {
  std::map<std::string, std::string> out;
  for (const auto& d : apply_retention(std::move(items), p, at(now))) {
    std::string r;
    for (const auto& reason : d.reasons) r += (r.empty() ? "" : ",") + reason;
    CHECK(d.keep == !d.reasons.empty());
    out[d.item.id] = d.keep ? r : "";
  }
  return out;
}

std::set<std::string> kept(const std::map<std::string, std::string>& m) {
  std::set<std::string> s;
  for (const auto& [id, r] : m) {
    if (!r.empty()) s.insert(id);
  }
  return s;
}

}  // namespace

TEST_CASE("keep-last keeps the n newest points") {
  RetentionPolicy p;
  p.last = 3;
  auto r = decide(points({"2024-01-01 01:00", "2024-01-02 01:00", "2024-01-03 01:00",
                          "2024-01-04 01:00", "2024-01-05 01:00"}),
                  p);
  CHECK(kept(r) ==
        std::set<std::string>{"C: 2024-01-03 01:00", "C: 2024-01-04 01:00", "C: 2024-01-05 01:00"});
  CHECK(r["C: 2024-01-05 01:00"] == "last");
}

TEST_CASE("keep-last orders points of the same second by sequence") {
  RetentionPolicy p;
  p.last = 1;
  auto items = points({"2024-01-01 01:00", "2024-01-01 01:00"});
  items[0].id = "first";
  items[1].id = "second";
  auto r = decide(items, p);
  CHECK(kept(r) == std::set<std::string>{"second"});
}

TEST_CASE("keep-daily keeps the newest point of each of the n newest days that have points") {
  RetentionPolicy p;
  p.daily = 3;
  auto r = decide(points({"2024-03-01 10:00", "2024-03-01 22:00", "2024-03-02 09:00",
                          "2024-03-04 08:00", "2024-03-04 20:00", "2024-03-05 12:00"}),
                  p);
  // Days without points (03-03) do not count; 03-01 is beyond the 3 days with points.
  CHECK(kept(r) ==
        std::set<std::string>{"C: 2024-03-05 12:00", "C: 2024-03-04 20:00", "C: 2024-03-02 09:00"});
}

TEST_CASE("a rule with count left keeps the oldest point too (restic: 'oldest daily')") {
  RetentionPolicy p;
  p.daily = 5;
  auto r = decide(
      points({"2024-03-01 10:00", "2024-03-01 22:00", "2024-03-02 09:00", "2024-03-03 08:00"}), p);
  CHECK(kept(r).size() == 4);
  CHECK(r["C: 2024-03-01 22:00"] == "daily");
  CHECK(r["C: 2024-03-01 10:00"] == "oldest daily");
  // With the count used up, the oldest point goes.
  p.daily = 3;
  r = decide(
      points({"2024-03-01 10:00", "2024-03-01 22:00", "2024-03-02 09:00", "2024-03-03 08:00"}), p);
  CHECK(r["C: 2024-03-01 10:00"].empty());
  CHECK(kept(r).size() == 3);
}

TEST_CASE("rules count independently; a point kept by several rules counts for each") {
  RetentionPolicy p;
  p.last = 2;
  p.daily = 2;
  auto r = decide(
      points({"2024-03-01 08:00", "2024-03-01 20:00", "2024-03-02 08:00", "2024-03-02 20:00"}), p);
  CHECK(r["C: 2024-03-02 20:00"] == "last,daily");
  CHECK(r["C: 2024-03-02 08:00"] == "last");
  CHECK(r["C: 2024-03-01 20:00"] == "daily");
  CHECK(r["C: 2024-03-01 08:00"].empty());
}

TEST_CASE("keep-weekly uses ISO 8601 weeks (Monday first; the week of 2021-01-03 is 2020-W53)") {
  RetentionPolicy p;
  p.weekly = 2;
  // Thu 2020-12-31 and Sun 2021-01-03 are both in 2020-W53; Mon 2021-01-04 starts 2021-W01.
  auto r = decide(
      points({"2020-12-28 12:00", "2020-12-31 12:00", "2021-01-03 12:00", "2021-01-04 12:00"}), p);
  CHECK(kept(r) == std::set<std::string>{"C: 2021-01-04 12:00", "C: 2021-01-03 12:00"});
  // 2026-01-01 is a Thursday: ISO week 2026-W01 begins Monday 2025-12-29.
  r = decide(points({"2025-12-28 12:00", "2025-12-29 12:00", "2026-01-01 12:00"}), p);
  CHECK(kept(r) == std::set<std::string>{"C: 2026-01-01 12:00", "C: 2025-12-28 12:00"});
  CHECK(r["C: 2025-12-28 12:00"] == "weekly");
}

TEST_CASE("keep-hourly, keep-monthly and keep-yearly use calendar hours, months and years") {
  RetentionPolicy p;
  p.hourly = 2;
  auto r = decide(
      points({"2024-05-01 09:10", "2024-05-01 10:05", "2024-05-01 10:55", "2024-05-01 11:00"}), p);
  CHECK(kept(r) == std::set<std::string>{"C: 2024-05-01 11:00", "C: 2024-05-01 10:55"});

  RetentionPolicy m;
  m.monthly = 2;
  m.yearly = 3;
  r = decide(points({"2022-06-01 01:00", "2023-12-31 23:00", "2024-01-01 01:00", "2024-01-31 01:00",
                     "2024-02-01 01:00"}),
             m);
  CHECK(r["C: 2024-02-01 01:00"] == "monthly,yearly");
  CHECK(r["C: 2024-01-31 01:00"] == "monthly");
  CHECK(r["C: 2024-01-01 01:00"].empty());
  CHECK(r["C: 2023-12-31 23:00"] == "yearly");
  CHECK(r["C: 2022-06-01 01:00"] == "yearly");
}

TEST_CASE("unlimited keeps one point per bucket for all buckets") {
  RetentionPolicy p;
  p.daily = k_keep_unlimited;
  auto r = decide(points({"2020-01-01 01:00", "2020-01-01 02:00", "2022-07-09 01:00",
                          "2024-01-01 01:00", "2024-01-01 05:00"}),
                  p);
  // The oldest point is kept too: an unlimited rule always has count left.
  CHECK(kept(r) == std::set<std::string>{"C: 2020-01-01 01:00", "C: 2020-01-01 02:00",
                                         "C: 2022-07-09 01:00", "C: 2024-01-01 05:00"});
  CHECK(r["C: 2020-01-01 01:00"] == "oldest daily");
}

TEST_CASE("keep-within is relative to the newest point, not to now, and strict") {
  RetentionPolicy p;
  p.within = RetentionDuration{0, 0, 2, 0};
  auto r = decide(points({"2024-04-01 12:00", "2024-04-07 12:00", "2024-04-08 12:00",
                          "2024-04-08 12:01", "2024-04-09 13:00", "2024-04-10 12:00"}),
                  p, "2024-05-30 00:00");
  CHECK(kept(r) ==
        std::set<std::string>{"C: 2024-04-08 12:01", "C: 2024-04-09 13:00", "C: 2024-04-10 12:00"});
  CHECK(r["C: 2024-04-10 12:00"] == "within 2d");
  CHECK(r["C: 2024-04-08 12:00"].empty());  // exactly 2 days older: not newer than the cutoff
}

TEST_CASE("keep-within counts months and years in calendar terms, then hours") {
  RetentionPolicy p;
  p.within = RetentionDuration{0, 1, 0, 0};
  // 2024-03-31 minus one month is "2024-02-31", which normalises to 2024-03-02 (as Go's AddDate).
  auto r = decide(points({"2024-03-02 12:00", "2024-03-02 12:01", "2024-03-31 12:00"}), p);
  CHECK(kept(r) == std::set<std::string>{"C: 2024-03-02 12:01", "C: 2024-03-31 12:00"});
  p.within = RetentionDuration{1, 0, 2, 3};
  // 2024-04-01 12:00 - 1 year - 2 days = 2023-03-30 12:00, - 3 hours = 09:00.
  r = decide(points({"2023-03-30 09:00", "2023-03-30 09:01", "2024-04-01 12:00"}), p);
  CHECK(kept(r) == std::set<std::string>{"C: 2023-03-30 09:01", "C: 2024-04-01 12:00"});
}

TEST_CASE("keep-within ignores points in the future when finding the newest") {
  RetentionPolicy p;
  p.within = RetentionDuration{0, 0, 1, 0};
  auto r = decide(
      points({"2024-01-01 00:00", "2024-01-09 12:00", "2024-01-10 00:00", "2030-01-01 00:00"}), p,
      "2024-01-10 06:00");
  // The newest point not in the future is 01-10 00:00; the future point is newer than the cutoff.
  CHECK(kept(r) ==
        std::set<std::string>{"C: 2024-01-09 12:00", "C: 2024-01-10 00:00", "C: 2030-01-01 00:00"});
}

TEST_CASE("the policy applies to each source separately") {
  RetentionPolicy p;
  p.last = 1;
  p.within = RetentionDuration{0, 0, 1, 0};
  auto r = decide(points({"C:|2024-01-01 00:00", "C:|2024-01-05 00:00", "D:|2024-01-01 00:00",
                          "D:|2024-01-01 12:00", "D:|2023-12-20 00:00"}),
                  p);
  // D:'s newest is 01-01 12:00, so D: 01-01 00:00 is within 1d of it although C: has newer points.
  CHECK(kept(r) ==
        std::set<std::string>{"C: 2024-01-05 00:00", "D: 2024-01-01 12:00", "D: 2024-01-01 00:00"});
  CHECK(r["D: 2024-01-01 12:00"] == "within 1d,last");
}

TEST_CASE("a typical nightly policy over 100 days of backups") {
  // One backup per night at 01:00 from 2024-01-01 to 2024-04-09 (100 points).
  std::vector<RetentionItem> items;
  for (int d = 0; d < 100; ++d) {
    std::tm t{};
    t.tm_year = 124;
    t.tm_mon = 0;
    t.tm_mday = 1 + d;
    t.tm_hour = 1;
    t.tm_isdst = -1;
    int64_t when = static_cast<int64_t>(std::mktime(&t));
    items.push_back(RetentionItem{std::to_string(d), "C:", when, d + 1});
  }
  RetentionPolicy p;
  p.daily = 7;
  p.weekly = 4;
  p.monthly = 3;
  auto r = decide(items, p);
  std::set<std::string> want;
  for (int d = 93; d <= 99; ++d) want.insert(std::to_string(d));  // 04-03 … 04-09
  // ISO weeks: 04-09 (99, a Tuesday) for W15, then the Sundays 04-07 (97), 03-31 (90), 03-24 (83).
  for (int d : {99, 97, 90, 83}) want.insert(std::to_string(d));
  // Last point of each month: April (99), March 31 (90), February 29 (59).
  for (int d : {99, 90, 59}) want.insert(std::to_string(d));
  CHECK(kept(r) == want);
  CHECK(r["90"] == "weekly,monthly");
  CHECK(r["99"] == "daily,weekly,monthly");
  CHECK(want.size() == 10);
}

TEST_CASE("policy and duration parsing") {
  CHECK(RetentionDuration{1, 5, 7, 2}.str() == "1y5mo7d2h");
  CHECK(RetentionDuration{}.str() == "0h");
  CHECK(parse_keep_count("unlimited", "x") == k_keep_unlimited);
  CHECK(parse_keep_count("7", "x") == 7);
  for (const char* bad : {"", "-1", "seven", "1e3"})
    CHECK_THROWS_AS(parse_keep_count(bad, "--keep-last"), Error);
  RetentionPolicy p;
  CHECK(p.empty());
  p.daily = 7;
  p.within = RetentionDuration{0, 0, 2, 0};
  CHECK(p.describe() == "keep 7 daily points and all points within 2d of the newest");
}

// Three servers back up a source of the same name (every Windows server's C:): the
// policy applies to each host's points on its own, unless --group-by says otherwise.
TEST_CASE("retention groups by host and source: three hosts with the same source") {
  std::vector<RetentionItem> items;
  int64_t seq = 0;
  // srv1: days 1-4, srv2: days 2-5, SRV3 (recorded upper case once): days 3-6; a point
  // with no host recorded (an earlier build) on day 1.
  for (int day = 1; day <= 6; ++day) {
    const std::string when = "2024-01-0" + std::to_string(day) + " 01:00";
    if (day <= 4)
      items.push_back({"srv1-" + std::to_string(day), "C:", at(when.c_str()), ++seq, "srv1"});
    if (day >= 2 && day <= 5)
      items.push_back({"srv2-" + std::to_string(day), "C:", at(when.c_str()), ++seq, "srv2"});
    if (day >= 3)
      items.push_back({"srv3-" + std::to_string(day), "C:", at(when.c_str()), ++seq,
                       day == 6 ? "SRV3" : "srv3"});
  }
  items.push_back({"old-1", "C:", at("2024-01-01 00:30"), ++seq, ""});
  RetentionPolicy p;
  p.last = 2;

  std::set<std::string> per_host, groups;
  for (const auto& d : apply_retention(items, p, at("2099-01-01 00:00"))) {
    if (d.keep) per_host.insert(d.item.id);
    groups.insert(d.group);
  }
  // The two newest of each host; srv3's points of both spellings are one host.
  CHECK(per_host ==
        std::set<std::string>{"srv1-4", "srv1-3", "srv2-5", "srv2-4", "srv3-6", "srv3-5", "old-1"});
  CHECK(groups == std::set<std::string>{"host srv1, source C:", "host srv2, source C:",
                                        "host SRV3, source C:", "host (none), source C:"});

  std::set<std::string> by_source;
  for (const auto& d :
       apply_retention(items, p, at("2099-01-01 00:00"), RetentionGroupBy::source)) {
    if (d.keep) by_source.insert(d.item.id);
    CHECK(d.group == "source C:");
  }
  CHECK(by_source == std::set<std::string>{"srv3-6", "srv3-5"});  // day 6 and day 5's newest

  items.push_back({"srv1-d", "D:", at("2024-01-01 02:00"), ++seq, "srv1"});
  std::set<std::string> by_host;
  for (const auto& d : apply_retention(items, p, at("2099-01-01 00:00"), RetentionGroupBy::host)) {
    if (d.keep) by_host.insert(d.item.id);
  }
  // srv1's C: and D: points compete: its two newest are C: of days 4 and 3.
  CHECK(by_host.count("srv1-4") == 1);
  CHECK(by_host.count("srv1-3") == 1);
  CHECK(by_host.count("srv1-d") == 0);
}

TEST_CASE("--group-by values") {
  CHECK(parse_group_by("host,source", "--group-by") == RetentionGroupBy::host_and_source);
  CHECK(parse_group_by("source,host", "--group-by") == RetentionGroupBy::host_and_source);
  CHECK(parse_group_by("source", "--group-by") == RetentionGroupBy::source);
  CHECK(parse_group_by("host", "--group-by") == RetentionGroupBy::host);
  CHECK(to_string(RetentionGroupBy::host_and_source) == "host,source");
  for (const char* bad : {"", "hosts", "host,", "tags", "host,source,host"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_group_by(bad, "--group-by"), Error);
  }
}
