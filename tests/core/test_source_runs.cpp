// The runs of a sparse image file from allocated ranges (the Windows answer, canned).
#include "core/source/source_runs.hpp"
#include "tests/catch.hpp"

#include <vector>

using namespace vssimg;

namespace {
SourceRun run(const std::vector<AllocatedRange>& r, bool complete, uint64_t offset,
              uint64_t size = 1000) {
  return run_from_allocated(r.data(), r.size(), complete, offset, size);
}
}  // namespace

TEST_CASE("allocated ranges: holes between them, data inside, adjacent ranges merged") {
  const std::vector<AllocatedRange> r{{100, 50}, {150, 50}, {400, 100}};
  CHECK(run(r, true, 0).hole);
  CHECK(run(r, true, 0).end == 100);
  CHECK_FALSE(run(r, true, 120).hole);
  CHECK(run(r, true, 120).end == 200);  // 100..150 and 150..200 are one data run
  CHECK(run(r, true, 200).hole);
  CHECK(run(r, true, 200).end == 400);
  CHECK_FALSE(run(r, true, 499).hole);
  CHECK(run(r, true, 499).end == 500);
  // Past the last range: a hole to the end of the file when the answer was complete.
  CHECK(run(r, true, 500).hole);
  CHECK(run(r, true, 500).end == 1000);
}

TEST_CASE("allocated ranges: a cut-short answer never calls the unknown a hole") {
  const std::vector<AllocatedRange> r{{0, 10}, {10, 20}};
  SourceRun a = run(r, false, 5);
  CHECK_FALSE(a.hole);
  CHECK(a.end == 30);                   // as far as the answer goes; the caller asks again
  CHECK_FALSE(run(r, false, 40).hole);  // nothing known there: data
  CHECK(run(r, false, 40).end == 1000);
  CHECK(run({}, true, 0).hole);  // a file with nothing allocated
  CHECK(run({}, true, 0).end == 1000);
  CHECK_FALSE(run({}, false, 0).hole);
}

TEST_CASE("allocated ranges: empty ranges ignored, ends clamped to the file size") {
  const std::vector<AllocatedRange> r{{0, 0}, {900, 500}};
  CHECK(run(r, true, 0).hole);
  CHECK(run(r, true, 0).end == 900);
  CHECK_FALSE(run(r, true, 950).hole);
  CHECK(run(r, true, 950).end == 1000);
  CHECK_FALSE(run(r, true, 1000).hole);  // at or past the end: no answer, data
}
