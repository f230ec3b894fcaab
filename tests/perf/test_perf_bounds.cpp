// Resource bounds of the imaging pipeline: buffers in flight and index RAM.
// These check sizes, never time.
#include "core/base/hash.hpp"
#include "core/base/pipeline.hpp"
#include "image/index.hpp"
#include "tests/catch.hpp"

#include <cstring>

using namespace vssimg;

namespace {
BlockId counter_id(uint64_t n) {
  // Splitmix64 spreads ids like real (uniform) block ids.
  BlockId id;
  for (int half = 0; half < 2; ++half) {
    uint64_t z = (n * 2 + static_cast<uint64_t>(half) + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(id.bytes.data() + half * 8, &z, 8);
  }
  return id;
}
}  // namespace

TEST_CASE("pipeline shape keeps buffers within the budget for any core count") {
  const size_t budget = 96u << 20;
  for (unsigned workers : {1u, 2u, 8u, 64u, 256u}) {
    for (size_t unit : {size_t{64} << 10, size_t{256} << 10, size_t{1} << 20, size_t{4} << 20}) {
      size_t max_units = std::max<size_t>(1, (4u << 20) / unit);
      PipelineShape s = pipeline_shape(workers, 2 * unit, max_units, budget);
      INFO("workers " << workers << " unit " << unit);
      REQUIRE(s.slots >= 3);
      REQUIRE(s.units_per_job >= 1);
      REQUIRE(s.units_per_job <= max_units);
      REQUIRE(s.slots * s.units_per_job * 2 * unit <= budget);
    }
  }
  // Two cores at the default block size: full 4 MiB jobs, two per worker.
  PipelineShape two = pipeline_shape(2, 2 * (256u << 10), 16, budget);
  REQUIRE(two.slots == 6);
  REQUIRE(two.units_per_job == 16);
}

TEST_CASE("block index costs at most 32 bytes per unique block on average") {
  // Grow one entry at a time, sampling bytes per block at many sizes (a store can have
  // any size, so the average over sizes is what a user pays).
  BlockIndex index;
  double sum = 0;
  size_t samples = 0;
  double worst = 0;
  for (uint64_t n = 1; n <= 400000; ++n) {
    REQUIRE(index.insert(counter_id(n), BlockLocation{0, static_cast<uint32_t>(n)}));
    if (n >= 1000 && n % 97 == 0) {
      double per = static_cast<double>(index.memory_bytes()) / static_cast<double>(index.size());
      sum += per;
      ++samples;
      worst = std::max(worst, per);
    }
  }
  double average = sum / static_cast<double>(samples);
  INFO("average " << average << " worst " << worst);
  REQUIRE(average <= 32.0);
  REQUIRE(worst <= 36.0);
  // A freshly loaded index (reserve, then insert) sits at 30 bytes per block.
  BlockIndex loaded;
  loaded.reserve(100000);
  for (uint64_t n = 1; n <= 100000; ++n) loaded.insert(counter_id(n), BlockLocation{0, 0});
  REQUIRE(static_cast<double>(loaded.memory_bytes()) / 100000.0 <= 30.1);
  BlockLocation loc;
  for (uint64_t n = 1; n <= 100000; n += 999) REQUIRE(loaded.find(counter_id(n), loc));
  REQUIRE_FALSE(loaded.find(counter_id(100001), loc));
}
