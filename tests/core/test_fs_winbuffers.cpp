#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/fs/fs_winbuffers.hpp"

#include "tests/catch.hpp"
#include "tests/core/winbuffer_builders.hpp"

#include <vector>

using namespace vssimg;
using vssimg::test::bitmap_buffer;
using vssimg::test::pointers_buffer;

TEST_CASE("VOLUME_BITMAP_BUFFER: set bits become merged byte ranges", "[fs][winbuffers]") {
  // Clusters 0,1 | 4..11 | 15 used (bits LSB first), 16 clusters, 4 KiB clusters.
  auto buf = bitmap_buffer(0, 16, {0xF3, 0x8F});
  // byte0 = 0xF3: bits 0,1,4,5,6,7; byte1 = 0x8F: bits 8,9,10,11,15
  auto r = parse_volume_bitmap(buf.data(), buf.size(), 4096);
  REQUIRE(r.used.size() == 3);
  CHECK(r.used[0].offset == 0);
  CHECK(r.used[0].length == 2 * 4096);
  CHECK(r.used[1].offset == 4 * 4096);
  CHECK(r.used[1].length == 8 * 4096);
  CHECK(r.used[2].offset == 15 * 4096);
  CHECK(r.used[2].length == 4096);
  CHECK(r.next_lcn == 16);
}

TEST_CASE("VOLUME_BITMAP_BUFFER: StartingLcn offsets and BitmapSize limits the bits",
          "[fs][winbuffers]") {
  // BitmapSize 10: bits 10..15 of the buffer are padding and must be ignored.
  auto buf = bitmap_buffer(1000, 10, {0x00, 0xFF});
  auto r = parse_volume_bitmap(buf.data(), buf.size(), 512);
  REQUIRE(r.used.size() == 1);
  CHECK(r.used[0].offset == 1008 * 512);
  CHECK(r.used[0].length == 2 * 512);
  CHECK(r.starting_lcn == 1000);
  CHECK(r.next_lcn == 1010);
}

TEST_CASE("VOLUME_BITMAP_BUFFER: a partial buffer (ERROR_MORE_DATA) decodes what it holds",
          "[fs][winbuffers]") {
  auto buf = bitmap_buffer(0, 1'000'000, {0xFF, 0xFF});
  auto r = parse_volume_bitmap(buf.data(), buf.size(), 4096);
  REQUIRE(r.used.size() == 1);
  CHECK(r.used[0].length == 16 * 4096);
  CHECK(r.next_lcn == 16);
}

TEST_CASE("VOLUME_BITMAP_BUFFER: malformed headers throw", "[fs][winbuffers]") {
  auto good = bitmap_buffer(0, 8, {0xFF});
  CHECK_THROWS_AS(parse_volume_bitmap(good.data(), 15, 4096), Error);
  CHECK_THROWS_AS(parse_volume_bitmap(good.data(), good.size(), 0), Error);
  auto negative = bitmap_buffer(-1, 8, {0xFF});
  CHECK_THROWS_AS(parse_volume_bitmap(negative.data(), negative.size(), 4096), Error);
  auto overflow = bitmap_buffer(INT64_MAX - 2, 8, {0xFF});
  CHECK_THROWS_AS(parse_volume_bitmap(overflow.data(), overflow.size(), 4096), Error);
}

TEST_CASE("RETRIEVAL_POINTERS_BUFFER: extents map VCNs to LCN byte ranges, sparse skipped",
          "[fs][winbuffers]") {
  // VCN 0..9 at LCN 100, 10..14 sparse, 15..19 at LCN 50.
  auto buf = pointers_buffer(0, {{10, 100}, {15, -1}, {20, 50}});
  auto r = parse_retrieval_pointers(buf.data(), buf.size(), 4096);
  REQUIRE(r.extents.size() == 2);
  CHECK(r.extents[0].offset == 100 * 4096);
  CHECK(r.extents[0].length == 10 * 4096);
  CHECK(r.extents[1].offset == 50 * 4096);
  CHECK(r.extents[1].length == 5 * 4096);
  CHECK(r.next_vcn == 20);
}

TEST_CASE("RETRIEVAL_POINTERS_BUFFER: continuation from a StartingVcn", "[fs][winbuffers]") {
  auto buf = pointers_buffer(40, {{48, 7}});
  auto r = parse_retrieval_pointers(buf.data(), buf.size(), 65536);
  REQUIRE(r.extents.size() == 1);
  CHECK(r.extents[0].offset == 7 * 65536);
  CHECK(r.extents[0].length == 8 * 65536);
  CHECK(r.next_vcn == 48);
  auto empty = pointers_buffer(0, {});
  CHECK(parse_retrieval_pointers(empty.data(), empty.size(), 4096).extents.empty());
}

TEST_CASE("RETRIEVAL_POINTERS_BUFFER: malformed buffers throw", "[fs][winbuffers]") {
  auto short_count = pointers_buffer(0, {{10, 100}}, 2);
  CHECK_THROWS_AS(parse_retrieval_pointers(short_count.data(), short_count.size(), 4096), Error);
  auto backwards = pointers_buffer(0, {{10, 100}, {5, 200}});
  CHECK_THROWS_AS(parse_retrieval_pointers(backwards.data(), backwards.size(), 4096), Error);
  auto bad_lcn = pointers_buffer(0, {{10, -2}});
  CHECK_THROWS_AS(parse_retrieval_pointers(bad_lcn.data(), bad_lcn.size(), 4096), Error);
  auto huge = pointers_buffer(0, {{10, INT64_MAX - 3}});
  CHECK_THROWS_AS(parse_retrieval_pointers(huge.data(), huge.size(), 4096), Error);
  CHECK_THROWS_AS(parse_retrieval_pointers(huge.data(), 8, 4096), Error);
}
