// copy between two local stores: the destination's ids are its own (keyed with its
// secret), the restored bytes are the source's, a second copy (and a copy back) skips the
// point. Kills and damaged source blocks: tests/cli/test_copy.sh.
#include "core/base/error.hpp"
#include "image/backup.hpp"
#include "image/copy.hpp"
#include "image/point_map_stream.hpp"
#include "image/point_meta.hpp"
#include "image/restore.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <filesystem>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;

std::vector<BlockId> map_of(const Store& store, const std::string& id) {
  return store.load_point(id).map;
}
}  // namespace

TEST_CASE("copy re-identifies blocks, keeps the bytes and is idempotent", "[copy]") {
  test::TempDir dir;
  Store::create(dir / "a", k_bs);
  Store::create(dir / "b", k_bs);
  Store a(dir / "a");
  Store b(dir / "b");
  std::vector<uint8_t> volume = test::pseudo_random(8 * k_bs, 7);
  volume.resize(10 * k_bs, 0);  // two ZERO entries
  test::MemorySource src(volume, "vol");
  const BackupResult r = run_backup(a, src, BackupOptions{}, null_progress());

  CopiedPoint c;
  {
    CopyRun run(a, b, null_progress());
    c = run.copy(r.point_id);
    run.finish(true);
  }
  REQUIRE(c.error.empty());
  REQUIRE_FALSE(c.already);
  CHECK(c.stats.new_blocks == 8);
  CHECK(c.stats.bytes_read == 8 * k_bs);
  const auto src_map = map_of(a, r.point_id);
  const auto dst_map = map_of(b, c.point_id);
  REQUIRE(src_map.size() == dst_map.size());
  for (size_t i = 0; i < 8; ++i) {
    CHECK(dst_map[i] != src_map[i]);  // another secret, another id
    CHECK(dst_map[i] == b.hasher().hash(volume.data() + i * k_bs, k_bs));
  }
  CHECK(dst_map[8].is_zero());
  const Point copied = b.load_point(c.point_id);
  CHECK(copied.meta.get(point_key::k_origin_point) == r.point_id);
  CHECK(copied.meta.get(point_key::k_source) == "vol");
  CHECK(copied.meta.get(point_key::k_created) ==
        a.load_point(r.point_id).meta.get(point_key::k_created));

  RestoreOptions ro;
  run_restore(b, c.point_id, dir / "restored.img", ro, null_progress());
  CHECK(test::read_file(dir / "restored.img") == volume);

  CopyRun again(a, b, null_progress());
  const CopiedPoint c2 = again.copy(r.point_id);
  CHECK(c2.already);
  CHECK(c2.point_id == c.point_id);
  CopyRun back(b, a, null_progress());
  CHECK(back.copy(c.point_id).already);  // a copy of a's own point
}

TEST_CASE("copy refuses the same store and another block size", "[copy]") {
  test::TempDir dir;
  Store::create(dir / "a", k_bs);
  Store::create(dir / "c", 2 * k_bs);
  Store a(dir / "a");
  Store a2(dir / "a");
  Store c(dir / "c");
  CHECK_THROWS_AS(CopyRun(a, a2, null_progress()), Error);
  CHECK_THROWS_AS(CopyRun(a, c, null_progress()), Error);
}
