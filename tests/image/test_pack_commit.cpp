// Packs committed beside the backup's pipeline (image/backup_committer.hpp): a pack is
// visible only once its commit returned, segments name only committed packs, and a
// failing commit fails the backup with nothing committed that refers to the lost pack.
#include "core/base/error.hpp"
#include "image/backup.hpp"
#include "image/backup_committer.hpp"
#include "image/restore.hpp"
#include "image/store.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;

struct CommitFixture {
  test::TempDir dir;
  fs::path root = dir / "store";
  CommitFixture() { Store::create(root, k_bs); }
};

// A pack holding one raw block of `seed`'s bytes.
std::unique_ptr<PackWriter> one_block_pack(const Store& store, uint64_t seed) {
  auto pack = std::make_unique<PackWriter>(store.storage(), store.config().store_id);
  const auto data = test::pseudo_random(k_bs, seed);
  pack->add(store.hasher().hash(data.data(), data.size()), Codec::raw, data.data(), k_bs, k_bs);
  return pack;
}

bool no_files_under(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_directory()) return false;
  }
  return true;
}

// Every pack that a segment of the store names, after checking that each one is on disk
// and its table reads.
std::set<std::string> indexed_packs(const Store& store) {
  std::set<std::string> out;
  for (const auto& name : store.segments()) {
    const Segment seg = read_index_segment(store.storage(), name, store.config().store_id);
    for (const auto& p : seg.packs) {
      auto reader = store.storage().open(pack_object(p));
      REQUIRE_FALSE(read_pack_table(*reader, store.config().store_id, p.hex()).empty());
      out.insert(p.hex());
    }
  }
  return out;
}
}  // namespace

TEST_CASE("pack committer: packs become visible at their commit, segments after them",
          "[committer]") {
  CommitFixture f;
  Store store(f.root);
  SegmentBatcher segments(store.storage(), store.config().store_id);
  std::set<std::string> ids;
  {
    PackCommitter committer(segments, 2);
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      auto pack = one_block_pack(store, seed);
      ids.insert(pack->id().hex());
      // Written but not committed: nothing of it is visible yet.
      REQUIRE_FALSE(store.storage().size(pack_object(pack->id())));
      committer.submit(std::move(pack));
    }
    committer.drain();
    REQUIRE(committer.committed() == 5);
  }
  std::set<std::string> on_disk;
  for (const auto& p : store.packs_on_disk()) on_disk.insert(p.hex());
  REQUIRE(on_disk == ids);
  // Fewer than k_packs_per_segment packs: the caller writes their segment after drain().
  REQUIRE(store.segments().empty());
  segments.flush();
  REQUIRE(indexed_packs(store) == ids);
  REQUIRE(no_files_under(f.root / "tmp"));
}

TEST_CASE(
    "pack committer: destroyed with packs queued, it commits nothing more and leaves no "
    "temporary files",
    "[committer]") {
  CommitFixture f;
  Store store(f.root);
  SegmentBatcher segments(store.storage(), store.config().store_id);
  {
    PackCommitter committer(segments, 2);
    committer.submit(one_block_pack(store, 1));
    committer.submit(one_block_pack(store, 2));
  }
  // Each pack is either committed whole (and listed) or gone with its temporary file.
  for (const auto& p : store.packs_on_disk()) {
    auto reader = store.storage().open(pack_object(p));
    REQUIRE(read_pack_table(*reader, store.config().store_id, p.hex()).size() == 1);
  }
  REQUIRE(no_files_under(f.root / "tmp"));
}

// Run by the ctest entry unit_committer_fault with VSSIMG_FAULT=fsync:2:EIO:.pack. (the
// fault plan is read once per process): the second pack's flush fails on the committer's
// thread while the pipeline fills the next packs.
TEST_CASE("pack committer: a failing pack commit fails the backup; nothing refers to that pack",
          "[.][committer_fault]") {
  const char* plan = std::getenv("VSSIMG_FAULT");
  REQUIRE(plan != nullptr);
  REQUIRE(std::string(plan) == "fsync:2:EIO:.pack.");
  CommitFixture f;
  Store store(f.root);
  test::MemorySource src(test::pseudo_random(40 * k_bs, 7), "vol");
  BackupOptions opts;
  opts.pack_target_size = 4 * k_bs;  // ten packs
  opts.threads = 2;
  std::string message;
  try {
    run_backup(store, src, opts, null_progress());
    FAIL("the backup succeeded although a pack flush failed");
  } catch (const Error& e) {
    message = e.what();
    REQUIRE(e.kind() == ErrorKind::failure);  // exit 1, as when the flush failed inline
  }
  // The same error as before the committer: operation, the pack's file, the cause.
  INFO(message);
  REQUIRE(message.rfind("flushing ", 0) == 0);
  REQUIRE(message.find(": input/output error") != std::string::npos);
  const size_t at = message.find(".pack.");
  REQUIRE(at != std::string::npos);
  REQUIRE(at >= 32);
  const std::string failed = message.substr(at - 32, 32);

  REQUIRE(store.list_points().empty());
  // Only the first pack was committed; the failed one and those queued after it are gone.
  const auto packs = store.packs_on_disk();
  REQUIRE(packs.size() == 1);
  REQUIRE(packs[0].hex() != failed);
  REQUIRE_FALSE(store.storage().size(ObjectRef{ObjectKind::pack, failed}));
  // The checkpoint indexed the committed pack, and no segment names the failed one.
  const auto indexed = indexed_packs(store);
  REQUIRE(indexed.size() == 1);
  REQUIRE(indexed.count(packs[0].hex()) == 1);
  REQUIRE(indexed.count(failed) == 0);
  REQUIRE(no_files_under(f.root / "tmp"));

  // The fault was one flush: the next backup succeeds and restores byte-identical.
  auto r = run_backup(store, src, opts, null_progress());
  REQUIRE(r.stats.index_reused_bytes == 4 * k_bs);  // the first pack's blocks were kept
  const fs::path out = f.dir / "out.img";
  run_restore(store, r.point_id, out, RestoreOptions{}, null_progress());
  REQUIRE(test::read_file(out) == src.data());
}
