// A real sparse file (POSIX: SEEK_DATA/SEEK_HOLE): its holes are not read.
#include "core/os/file.hpp"
#include "core/os/path.hpp"
#include "core/source/block_source.hpp"
#include "image/backup.hpp"
#include "image/restore.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <filesystem>

using namespace vssimg;
namespace fs = std::filesystem;

TEST_CASE("sparse image file: SEEK_HOLE finds the holes, backup skips them, restore equals") {
  constexpr uint32_t k_bs = 64 * 1024;
  test::TempDir dir;
  const fs::path img = dir / "sparse.img";
  const auto a = test::pseudo_random(k_bs, 6);
  const auto b = test::pseudo_random(4096, 7);
  {
    File file(img, File::Open::create_trunc);
    file.resize(uint64_t{64} * k_bs);                               // 4 MiB, all hole
    file.write_at(a.data(), a.size(), 2 * uint64_t{k_bs});          // block 2: data
    file.write_at(b.data(), b.size(), 40 * uint64_t{k_bs} + 8192);  // block 40: partly
  }
  auto src = open_block_source(path_to_utf8(img));
  if (!src->run_at(0).hole) {
    WARN("skipped: the filesystem of " << dir.path() << " reports no holes (no SEEK_HOLE)");
    return;
  }
  Store::create(dir / "store", k_bs);
  Store store(dir / "store");
  auto r = run_backup(store, *src, BackupOptions{}, null_progress());
  CHECK(r.stats.hole_skipped_bytes == 62 * uint64_t{k_bs});
  CHECK(r.stats.bytes_read == 2 * uint64_t{k_bs});
  CHECK(r.stats.new_blocks == 2);
  const fs::path out = dir / "out";
  run_restore(store, r.point_id, out, RestoreOptions{}, null_progress());
  CHECK(test::read_file(out) == test::read_file(img));
}
