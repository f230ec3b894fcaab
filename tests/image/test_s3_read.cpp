// The read-ahead plan of S3 pack readers (image/storage_s3_read.hpp): which windows a read
// covers and when a reader goes through the windows (after reading in the same or the
// window before: front-to-back readers), so that a reader jumping around makes exact GETs.
// And the reuse of the buffers of objects being written.
#include "image/storage_s3_read.hpp"

#include "image/storage_s3.hpp"
#include "tests/catch.hpp"

using namespace vssimg::s3;
using vssimg::S3Storage;

TEST_CASE("window plan: spans and bounds, the last window short", "[s3][read]") {
  WindowPlan p(10 * 100 + 30, 100);
  REQUIRE(p.windows() == 11);
  REQUIRE(p.span(0, 1) == std::make_pair<uint64_t, uint64_t>(0, 0));
  REQUIRE(p.span(99, 2) == std::make_pair<uint64_t, uint64_t>(0, 1));
  REQUIRE(p.span(250, 300) == std::make_pair<uint64_t, uint64_t>(2, 5));
  REQUIRE(p.span(1000, 500) == std::make_pair<uint64_t, uint64_t>(10, 10));  // clipped
  REQUIRE(p.bounds(3) == std::make_pair<uint64_t, uint64_t>(300, 400));
  REQUIRE(p.bounds(10) == std::make_pair<uint64_t, uint64_t>(1000, 1030));
}

TEST_CASE("window plan: a front-to-back reader uses windows from its second read on",
          "[s3][read]") {
  WindowPlan p(1000, 100);
  REQUIRE_FALSE(p.note_read(0, 12));  // the pack header: an exact GET
  REQUIRE(p.note_read(12, 40));       // the same window
  REQUIRE(p.note_read(52, 60));       // into the next one
  REQUIRE(p.note_read(112, 60));
  REQUIRE(p.note_read(250, 10));  // window 2 was touched by the read before
}

TEST_CASE("window plan: random reads stay exact until they come back near", "[s3][read]") {
  WindowPlan p(1000, 100);
  REQUIRE_FALSE(p.note_read(500, 10));
  REQUIRE_FALSE(p.note_read(800, 10));
  REQUIRE_FALSE(p.note_read(300, 10));
  REQUIRE(p.note_read(510, 10));  // window 5 again
  REQUIRE(p.note_read(650, 10));  // window 6, after 5
  REQUIRE_FALSE(p.note_read(100, 10));
}

TEST_CASE("window plan: reads of a window or more never use windows", "[s3][read]") {
  WindowPlan p(1000, 100);
  REQUIRE_FALSE(p.note_read(0, 10));
  REQUIRE_FALSE(p.note_read(10, 100));
  REQUIRE_FALSE(p.note_read(0, 1000));
  REQUIRE(p.note_read(20, 10));
}

TEST_CASE("S3 storage: chunks of written objects are reused, at most k_pooled_chunks kept",
          "[s3][read]") {
  S3Storage storage(Config{}, "prefix");
  std::vector<std::vector<uint8_t>> chunks;
  chunks.push_back(storage.take_chunk());
  REQUIRE(chunks[0].empty());
  REQUIRE(chunks[0].capacity() >= S3Storage::k_chunk);
  chunks[0].assign(100, 7);
  const uint8_t* first = chunks[0].data();
  chunks.emplace_back(10, uint8_t{1});  // too small to keep: dropped
  storage.give_chunks(chunks);
  CHECK(chunks.empty());
  std::vector<uint8_t> again = storage.take_chunk();
  CHECK(again.data() == first);  // the same buffer, emptied
  CHECK(again.empty());
  CHECK(storage.take_chunk().capacity() >= S3Storage::k_chunk);  // a new one: the pool is empty

  CHECK(storage.pooled_chunks() == 0);
  for (size_t i = 0; i < S3Storage::k_pooled_chunks + 5; ++i)
    chunks.push_back(storage.take_chunk());
  storage.give_chunks(chunks);
  CHECK(storage.pooled_chunks() == S3Storage::k_pooled_chunks);  // the 5 beyond are freed
  CHECK(storage.take_chunk().capacity() >= S3Storage::k_chunk);
  CHECK(storage.pooled_chunks() == S3Storage::k_pooled_chunks - 1);
}
