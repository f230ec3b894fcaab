#include "core/base/error.hpp"
#include "image/backup.hpp"
#include "image/point_source.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstring>
#include <vector>

using namespace vssimg;

namespace {
constexpr uint32_t k_bs = 64 * 1024;
}

TEST_CASE("point source: any byte range equals the source, zeros stay zeros") {
  test::TempDir dir;
  Store::create(dir / "store", k_bs);
  Store store(dir / "store");
  // 9 blocks and a 1000-byte tail; block 3 all zeros (a zero marker in the map).
  auto data = test::pseudo_random(9 * k_bs + 1000, 5);
  std::memset(data.data() + 3 * k_bs, 0, k_bs);
  test::MemorySource src(data, "vol");
  auto r = run_backup(store, src, BackupOptions{}, null_progress());
  PointSource point(store, store.load_point(r.point_id), 2);
  REQUIRE(point.size() == data.size());

  struct Range {
    uint64_t offset;
    size_t len;
  };
  // Within a block, across blocks, across the zero block, the tail, the last byte.
  for (Range range : {Range{10, 100}, Range{k_bs - 7, 20}, Range{2 * k_bs + 5, 2 * k_bs},
                      Range{9 * k_bs, 1000}, Range{data.size() - 1, 1}, Range{0, data.size()}}) {
    std::vector<uint8_t> out(range.len, 0xEE);
    point.read_at(out.data(), out.size(), range.offset);
    CHECK(std::memcmp(out.data(), data.data() + range.offset, range.len) == 0);
  }
  const auto stats = point.stats();
  CHECK(stats.blocks_decoded >= 9);  // the cache holds 2, so the whole read decodes again
  CHECK(stats.stored_bytes > 0);

  std::vector<uint8_t> out(2);
  CHECK_THROWS_AS((point.read_at(out.data(), 2, data.size() - 1)), Error);
}

TEST_CASE("point source: a repeated read is served from the cache") {
  test::TempDir dir;
  Store::create(dir / "store", k_bs);
  Store store(dir / "store");
  test::MemorySource src(test::pseudo_random(4 * k_bs, 6), "vol");
  auto r = run_backup(store, src, BackupOptions{}, null_progress());
  PointSource point(store, store.load_point(r.point_id));
  std::vector<uint8_t> out(100);
  point.read_at(out.data(), out.size(), k_bs + 10);
  point.read_at(out.data(), out.size(), k_bs + 500);
  CHECK(point.stats().blocks_decoded == 1);
  CHECK(point.stats().cache_hits == 1);
}
