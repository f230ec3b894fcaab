#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "image/backup.hpp"
#include "image/lock.hpp"
#include "image/point_select.hpp"
#include "image/restore.hpp"
#include "image/verify.hpp"
#include "image/storage_local.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;

std::vector<uint8_t> sample_volume() {
  // 40 blocks: random data, a run of zeros, repeated blocks, and a short tail.
  std::vector<uint8_t> v = test::pseudo_random(20 * k_bs, 1);
  v.resize(30 * k_bs, 0);
  auto rep = test::pseudo_random(k_bs, 2);
  for (int i = 0; i < 10; ++i) v.insert(v.end(), rep.begin(), rep.end());
  auto tail = test::pseudo_random(1000, 3);
  v.insert(v.end(), tail.begin(), tail.end());
  return v;
}

struct StoreFixture {
  test::TempDir dir;
  fs::path root = dir / "store";
  StoreFixture() { Store::create(root, k_bs); }
};
}  // namespace

// No file anywhere under `dir` (a store's tmp/ keeps the empty folders of live writers).
static bool no_files_under(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_directory()) return false;
  }
  return true;
}

TEST_CASE("backup, verify and restore round trip with dedup") {
  StoreFixture f;
  Store store(f.root);
  test::MemorySource src(sample_volume(), "vol");
  BackupOptions opts;
  opts.threads = 3;
  auto r1 = run_backup(store, src, opts, null_progress());
  REQUIRE(r1.stats.zero_bytes == 10 * k_bs);
  REQUIRE(r1.stats.new_blocks == 22);  // 20 random + 1 repeated + the tail
  REQUIRE(r1.stats.index_reused_bytes == 9 * k_bs);

  // Unchanged: nothing new, everything from the parent.
  auto r2 = run_backup(store, src, opts, null_progress());
  REQUIRE(r2.parent_id == r1.point_id);
  REQUIRE(r2.stats.new_bytes == 0);
  REQUIRE(r2.stats.parent_reused_bytes == src.size() - 10 * k_bs);

  // Change one block: one new block.
  src.data()[5 * k_bs + 17] ^= 0xff;
  auto r3 = run_backup(store, src, opts, null_progress());
  REQUIRE(r3.stats.new_blocks == 1);

  VerifyOptions vo;
  vo.read_data = true;
  auto v = run_verify(store, vo, null_progress());
  REQUIRE(v.ok());
  REQUIRE(v.points_checked == 3);
  REQUIRE(v.records_read == 23);

  for (const auto& id : {r1.point_id, r3.point_id}) {
    fs::path out = f.dir / ("out-" + id);
    run_restore(store, id, out, RestoreOptions{}, null_progress());
    auto data = test::read_file(out);
    if (id == r3.point_id) {
      REQUIRE(data == src.data());
    } else {
      auto orig = sample_volume();
      REQUIRE(data == orig);
    }
  }
  REQUIRE(resolve_point(store, "latest") == r3.point_id);
  REQUIRE(resolve_point(store, r2.point_id.substr(0, 10)) == r2.point_id);
  REQUIRE_THROWS_AS(resolve_point(store, "ffffffffffffffff"), Error);
}

TEST_CASE(
    "commit order: packs and index are durable before the point, a failed backup leaves no point") {
  StoreFixture f;
  Store store(f.root);
  test::MemorySource src(test::pseudo_random(300 * k_bs, 11), "vol");
  src.fail_at = 250 * k_bs;  // in the fourth 4 MiB batch: three batches are stored first
  src.fail_times = -1;
  BackupOptions opts;
  opts.pack_target_size = 4 * k_bs;  // many small packs, committed as they fill
  // Workers read in parallel: whichever reads the bad block, the jobs before it are kept.
  opts.threads = GENERATE(1u, 2u, 4u);
  REQUIRE_THROWS_AS(run_backup(store, src, opts, null_progress()), Error);
  REQUIRE(store.list_points().empty());
  REQUIRE_FALSE(store.packs_on_disk().empty());  // earlier packs were committed
  REQUIRE(store.segments().size() == 1);         // and indexed by a checkpoint

  // The next backup works without repair and cleans tmp/.
  src.fail_times = 0;
  auto r = run_backup(store, src, opts, null_progress());
  REQUIRE(no_files_under(f.root / "tmp"));
  REQUIRE(r.stats.index_reused_bytes >= 192 * k_bs);  // the failed run's work was kept
  // Every block the point names is in a committed pack that a committed segment indexes.
  std::vector<std::string> problems;
  BlockIndex fresh = store.load_index(&problems);
  REQUIRE(problems.empty());
  Point p = store.load_point(r.point_id);
  for (const auto& id : p.map) {
    if (id.is_marker()) continue;
    BlockLocation loc;
    REQUIRE(fresh.find(id, loc));
    REQUIRE(store.storage().size(pack_object(fresh.packs()[loc.pack])));
  }
}

TEST_CASE("bad sectors: retried, then fail with the offset or are recorded with the flag") {
  StoreFixture f;
  Store store(f.root);
  test::MemorySource src(test::pseudo_random(8 * k_bs, 5), "vol");
  src.fail_at = 3 * k_bs + 100;
  src.fail_times = 2;  // transient: the retry succeeds
  auto ok = run_backup(store, src, BackupOptions{}, null_progress());
  REQUIRE(ok.stats.unreadable_bytes == 0);

  src.fail_times = -1;
  try {
    run_backup(store, src, BackupOptions{}, null_progress());
    FAIL("expected a read error");
  } catch (const Error& e) {
    REQUIRE(std::string(e.what()).find("offset 196608") != std::string::npos);
  }
  BackupOptions ignore;
  ignore.ignore_bad_sectors = true;
  auto r = run_backup(store, src, ignore, null_progress());
  REQUIRE(r.unreadable_offsets == std::vector<uint64_t>{3 * k_bs});
  Point p = store.load_point(r.point_id);
  REQUIRE(p.map[3].is_unreadable());
  auto v = run_verify(store, VerifyOptions{}, null_progress());
  REQUIRE(v.ok());
  REQUIRE_FALSE(v.notes.empty());
}

TEST_CASE("free blocks from an allocation map are not read and restore as holes") {
  StoreFixture f;
  Store store(f.root);
  test::MemorySource src(test::pseudo_random(16 * k_bs, 8), "vol");
  AllocationMap map("testfs", src.size(), {{0, 2 * k_bs}, {10 * k_bs + 5, 1}});
  src.fail_at = 5 * k_bs;  // a free block: must not be read
  src.fail_times = -1;
  BackupOptions opts;
  opts.allocation = &map;
  auto r = run_backup(store, src, opts, null_progress());
  REQUIRE(r.stats.free_skipped_bytes == 13 * k_bs);
  REQUIRE(r.stats.bytes_read == 3 * k_bs);
  fs::path out = f.dir / "out";
  run_restore(store, r.point_id, out, RestoreOptions{}, null_progress());
  auto data = test::read_file(out);
  REQUIRE(data.size() == src.size());
  REQUIRE(std::equal(data.begin(), data.begin() + 2 * k_bs, src.data().begin()));
  REQUIRE(std::all_of(data.begin() + 2 * k_bs, data.begin() + 10 * k_bs,
                      [](uint8_t b) { return b == 0; }));
}

TEST_CASE("backup records the point's metadata: the run's facts and the caller's outcome") {
  StoreFixture f;
  Store store(f.root);
  test::MemorySource src(test::pseudo_random(16 * k_bs, 9), "vol");
  auto first = run_backup(store, src, BackupOptions{}, null_progress());
  PointMeta m1 = store.load_point(first.point_id).meta;
  CHECK(m1.get(point_key::k_consistency) == "image");
  CHECK(m1.get(point_key::k_source) == "vol");
  CHECK(m1.get(point_key::k_filesystem).empty());
  CHECK_FALSE(m1.has(point_key::k_excluded_bytes));
  CHECK_FALSE(m1.has(point_key::k_vss_snapshot_id));

  AllocationMap map("testfs", src.size(), {{0, 12 * k_bs}});
  BackupOptions opts;
  opts.source_label = "C:";
  opts.label = "weekly";
  opts.allocation = &map;
  opts.excluded_bytes = 3 * k_bs;
  opts.snapshot.consistency = Consistency::application;
  opts.snapshot.from_snapshot = true;
  opts.snapshot.snapshot_id = "{snap}";
  auto second = run_backup(store, src, opts, null_progress());
  PointMeta m2 = store.load_point(second.point_id).meta;
  CHECK(m2.get(point_key::k_id) == second.point_id);
  CHECK(m2.get(point_key::k_parent).empty());  // another source: no parent
  CHECK(m2.get_int(point_key::k_sequence) > m1.get_int(point_key::k_sequence));
  CHECK(m2.get(point_key::k_label) == "weekly");
  CHECK(m2.get(point_key::k_filesystem) == "testfs");
  CHECK(m2.get_int(point_key::k_used_bytes) == 12 * k_bs);
  CHECK(m2.get_int(point_key::k_free_skipped_bytes) == 4 * k_bs);
  CHECK(m2.get_int(point_key::k_new_bytes) == 0);  // the first backup stored them all
  CHECK(m2.get_int(point_key::k_excluded_bytes) == 3 * k_bs);
  CHECK(m2.get(point_key::k_consistency) == "application");
  CHECK(m2.get(point_key::k_vss_snapshot_id) == "{snap}");
}

TEST_CASE("store refuses missing paths, files and foreign directories") {
  test::TempDir dir;
  auto kind_of = [](const fs::path& p) {
    try {
      Store s(p);
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::failure;
  };
  REQUIRE(kind_of(dir / "nope") == ErrorKind::store_not_found);
  test::write_file(dir / "file", {1, 2, 3});
  REQUIRE(kind_of(dir / "file") == ErrorKind::store_not_found);
  fs::create_directories(dir / "empty");
  REQUIRE(kind_of(dir / "empty") == ErrorKind::store_not_found);
  REQUIRE_THROWS_AS(Store::create(dir / "file", k_bs), Error);
  REQUIRE_THROWS_AS(Store::create(dir / "x", 1000), Error);
}

TEST_CASE("locks: backups side by side, exclusive excludes shared, waiting says so once") {
  StoreFixture f;
  const LocalStorage storage(f.root);
  {
    StoreLock w(storage, LockMode::shared, WriterLock::shared, "backup");
    StoreLock w2(storage, LockMode::shared, WriterLock::shared, "backup2");  // side by side
    REQUIRE(storage.list(ObjectKind::lock).size() == 1);  // one process: one info
    REQUIRE_THROWS_AS(StoreLock(storage, LockMode::shared, WriterLock::exclusive, "heal"), Error);
    StoreLock reader(storage, LockMode::shared, WriterLock::none, "verify");
    std::vector<std::string> notes;
    LockOptions wait;
    wait.wait_seconds = 1;
    wait.note = [&](const std::string& line) { notes.push_back(line); };
    try {
      StoreLock ex(storage, LockMode::exclusive, WriterLock::none, "prune", wait);
      FAIL("exclusive lock granted beside backups");
    } catch (const Error& e) {
      REQUIRE(e.kind() == ErrorKind::store_locked);
    }
    REQUIRE(notes.size() == 1);
    REQUIRE(notes[0].find("waiting up to 1 s") != std::string::npos);
  }
  StoreLock ex(storage, LockMode::exclusive, WriterLock::none, "prune");
  REQUIRE_FALSE(ex.read_only());
}

TEST_CASE("parallel backup and restore: the same point and image whatever the thread count") {
  // Many jobs (a job holds up to 4 MiB), so workers read, compress, decompress and write
  // out of order; zero and repeated blocks scattered between them.
  std::vector<uint8_t> vol = test::pseudo_random(700 * k_bs + 123, 21);
  auto rep = test::pseudo_random(k_bs, 22);
  for (size_t b = 0; b < 700; b += 7) std::fill_n(vol.begin() + b * k_bs, k_bs, uint8_t{0});
  for (size_t b = 3; b < 700; b += 11) std::copy(rep.begin(), rep.end(), vol.begin() + b * k_bs);
  test::MemorySource src(vol, "vol");
  std::set<std::vector<uint8_t>> contents;  // distinct non-zero blocks
  for (size_t off = 0; off < vol.size(); off += k_bs) {
    std::vector<uint8_t> block(vol.begin() + off, vol.begin() + std::min(vol.size(), off + k_bs));
    if (std::any_of(block.begin(), block.end(), [](uint8_t c) { return c != 0; }))
      contents.insert(std::move(block));
  }
  const size_t distinct = contents.size();

  StoreFixture f;
  Store store(f.root);
  BackupOptions one;
  one.threads = 1;
  Point reference = store.load_point(run_backup(store, src, one, null_progress()).point_id);
  for (unsigned threads : {2u, 3u, 8u}) {
    StoreFixture g;
    Store other(g.root);
    BackupOptions opts;
    opts.threads = threads;
    opts.pack_target_size = 8 * k_bs;  // many packs
    Point p = other.load_point(run_backup(other, src, opts, null_progress()).point_id);
    // Each store has its own id secret: the maps must match block for block up to
    // renaming ids (same markers, same blocks equal to each other).
    REQUIRE(p.map.size() == reference.map.size());
    std::map<std::string, std::string> rename;
    for (size_t b = 0; b < p.map.size(); ++b) {
      const BlockId &mine = p.map[b], &ref = reference.map[b];
      REQUIRE(mine.is_marker() == ref.is_marker());
      if (mine.is_marker()) {
        REQUIRE(mine == ref);
        continue;
      }
      auto [it, fresh] = rename.emplace(ref.hex(), mine.hex());
      REQUIRE(it->second == mine.hex());
    }
    REQUIRE(rename.size() == distinct);
    RestoreOptions ro;
    ro.threads = threads;
    fs::path out = g.dir / "out.img";
    auto st = run_restore(other, p.id, out, ro, null_progress());
    REQUIRE(test::read_file(out) == vol);
    REQUIRE(st.bytes_written + st.bytes_sparse == vol.size());
    // Where the filesystem takes O_DIRECT (Linux), every aligned byte bypassed the page
    // cache; the 123-byte tail went through it.
    if (File::open_direct_write(out)) REQUIRE(st.bytes_unbuffered == st.bytes_written - 123);
  }
}
