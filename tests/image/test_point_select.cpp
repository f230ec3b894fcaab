// The one point selector (image/point_select.hpp): latest, latest~N, ids and prefixes,
// filtered by source and host; points that record no host.
#include "core/base/error.hpp"
#include "image/point_meta.hpp"
#include "image/point_select.hpp"
#include "tests/catch.hpp"

#include <string>
#include <vector>

using namespace vssimg;

namespace {

PointInfo info(const std::string& id, const std::string& source, const char* host) {
  PointInfo p;
  p.id = id;
  p.meta.set(point_key::k_id, id);
  p.meta.set(point_key::k_source, source);
  if (host) p.meta.set(point_key::k_host, host);
  return p;
}

// Oldest first, as Store::list_points gives them.
std::vector<PointInfo> fleet() {
  return {info("1111111111111111", "C:", "srv1"),  info("2222222222222222", "C:", "srv2"),
          info("3333333333333333", "D:", "srv1"),  info("4444444444444444", "C:", "SRV1"),
          info("5555555555555555", "C:", nullptr), info("6666666666666666", "C:", "srv2")};
}

std::string pick(const std::string& name, const PointFilter& f = {}) {
  return resolve_point_name(fleet(), name, f);
}

// The message of the error `pick` throws ("" when it throws none).
std::string pick_error(const std::string& name, const PointFilter& f = {}) {
  try {
    pick(name, f);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("latest and latest~N per source and host") {
  CHECK(pick("latest") == "6666666666666666");
  CHECK(pick("LATEST") == "6666666666666666");
  CHECK(pick("latest", {"C:", "srv1"}) == "4444444444444444");  // SRV1 is srv1
  CHECK(pick("latest~1", {"C:", "srv1"}) == "1111111111111111");
  CHECK(pick("latest", {"", "srv1"}) == "4444444444444444");
  CHECK(pick("latest", {"D:", ""}) == "3333333333333333");
  CHECK(pick("latest~0", {"C:", "srv2"}) == "6666666666666666");
  CHECK(pick("latest~2") == "4444444444444444");
  CHECK(has(pick_error("latest~2", {"C:", "srv1"}),
            "only 2 recovery points of source C: on host srv1"));
  CHECK(has(pick_error("latest", {"C:", "srv9"}), "no recovery point of source C: on host srv9"));
  for (const char* bad : {"latest~", "latest~x", "latest~-1", "latest~1234567"}) {
    INFO(bad);
    CHECK_THROWS_AS(pick(bad), Error);
  }
}

TEST_CASE("an id must match the filter too") {
  CHECK(pick("2222", {"C:", "srv2"}) == "2222222222222222");
  CHECK(pick("4444444444444444", {"", "srv1"}) == "4444444444444444");
  CHECK(has(pick_error("2222", {"", "srv1"}), "of source C: on host srv2"));
  CHECK(has(pick_error("5555", {"", "srv1"}), "on host (none recorded)"));
  CHECK_THROWS_AS(pick("7777"), Error);
}

TEST_CASE("a point without a host key belongs to no named host") {
  PointFilter any_c{"C:", ""};
  CHECK(pick("latest~1", any_c) == "5555555555555555");  // selected without --host
  CHECK(point_host(fleet()[4].meta).empty());
  CHECK_FALSE(PointFilter{"", "srv1"}.matches(fleet()[4].meta));
  CHECK(PointFilter{}.matches(fleet()[4].meta));
  CHECK(same_host("", ""));
  CHECK_FALSE(same_host("", "srv1"));
  CHECK(same_host("Srv1.Example.COM", "srv1.example.com"));
  CHECK_FALSE(same_host("srv1", "srv10"));
}

TEST_CASE("host names given on the command line") {
  for (const char* good : {"srv1", "SQL-CLUSTER_01", "srv1.example.com", "_x", "1"})
    CHECK_NOTHROW(check_host_name(good, "--host"));
  for (const char* bad : {"", "-srv", ".srv", "srv 1", "srv/1", "srv\n1", "sr\xc3\xa9v", "a=b"}) {
    INFO(bad);
    CHECK_THROWS_AS(check_host_name(bad, "--host"), Error);
  }
  CHECK_THROWS_AS(check_host_name(std::string(254, 'a'), "--host"), Error);
  CHECK_NOTHROW(check_host_name(std::string(253, 'a'), "--host"));
}

TEST_CASE("latest names") {
  for (const char* yes : {"latest", "LATEST", "latest~3", "Latest~x"}) CHECK(is_latest_name(yes));
  for (const char* no : {"", "late", "latestx", "3cc7", "xlatest"}) CHECK_FALSE(is_latest_name(no));
}
