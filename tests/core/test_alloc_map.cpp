#include "core/fs/alloc_map.hpp"
#include "tests/catch.hpp"

using namespace vssimg;

TEST_CASE("allocation map normalises and answers overlap queries") {
  AllocationMap m("test", 1000, {{500, 100}, {0, 10}, {5, 10}, {600, 50}, {990, 100}});
  REQUIRE(m.used().size() == 3);
  REQUIRE(m.used()[0].offset == 0);
  REQUIRE(m.used()[0].length == 15);
  REQUIRE(m.used()[1].offset == 500);
  REQUIRE(m.used()[1].length == 150);
  REQUIRE(m.used()[2].length == 10);  // clipped to the volume
  REQUIRE(m.used_bytes() == 175);
  REQUIRE(m.any_used(0, 1));
  REQUIRE(m.any_used(14, 1));
  REQUIRE_FALSE(m.any_used(15, 485));
  REQUIRE(m.any_used(15, 486));
  REQUIRE_FALSE(m.any_used(650, 340));
  REQUIRE(m.any_used(989, 2));
}

TEST_CASE("allocation map clear splits ranges") {
  AllocationMap m("test", 1000, {{100, 200}});
  m.clear({150, 50});
  REQUIRE(m.used().size() == 2);
  REQUIRE(m.used_bytes() == 150);
  REQUIRE_FALSE(m.any_used(150, 50));
  REQUIRE(m.any_used(149, 2));
}
