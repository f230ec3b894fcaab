// Prune as plan and execute: the per-pack decision, the plan of a store with forgotten
// points, a dry run that changes nothing, and executions that leave every remaining
// point verifying and restoring byte-identical.
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "image/backup.hpp"
#include "image/prune.hpp"
#include "image/restore.hpp"
#include "image/verify.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace vssimg;

namespace {

constexpr uint32_t k_prune_bs = 64 * 1024;

uint64_t store_bytes(const std::filesystem::path& root) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

// Every directory and file of the store with the file's content ("" for a directory).
std::map<std::string, std::vector<uint8_t>> fingerprint(const std::filesystem::path& root) {
  std::map<std::string, std::vector<uint8_t>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    auto name = std::filesystem::relative(e.path(), root).generic_string();
    out[name] = e.is_regular_file() ? test::read_file(e.path()) : std::vector<uint8_t>{};
  }
  return out;
}

PruneStats prune(const Store& store, const PruneOptions& options) {
  return execute_prune(store, plan_prune(store, options), null_progress());
}

void check_verifies(const Store& store) {
  VerifyOptions vo;
  vo.read_data = true;
  vo.remember = false;
  auto v = run_verify(store, vo, null_progress());
  CHECK(v.ok());
  CHECK(v.notes.empty());  // no unindexed packs or duplicate entries left
}

void check_restores(const Store& store, const std::filesystem::path& out, const std::string& point,
                    const std::vector<uint8_t>& want) {
  run_restore(store, store.load_point(point), out, RestoreOptions{}, null_progress());
  CHECK(test::read_file(out) == want);
}

std::set<BlockId> blocks_of(const Store& store, const std::string& point) {
  std::set<BlockId> out;
  for (const auto& b : store.load_point(point).map) {
    if (!b.is_marker()) out.insert(b);
  }
  return out;
}

PackId add_unindexed_pack(const Store& store) {
  PackWriter w(store.root(), store.config().store_id);
  auto junk = test::pseudo_random(1000, 13);
  w.add(store.hasher().hash(junk.data(), junk.size()), Codec::raw, junk.data(), 1000, 1000);
  w.commit();
  return w.id();
}

// Three packs of four blocks (A: 0-3, B: 4-7, C: 8-11) from a forgotten point, and a
// point that replaced blocks 0-6: after the forget A holds nothing live, B one block
// (75% dead), C is whole. The new blocks fill two more packs; one pack is unindexed.
struct ForgottenStore {
  test::TempDir dir;
  std::filesystem::path root = dir / "store";
  std::unique_ptr<Store> store;
  std::vector<uint8_t> v2;
  std::string point;
  PackId a, b, c, unindexed;

  ForgottenStore() {
    Store::create(root, k_prune_bs);
    store = std::make_unique<Store>(root);
    BackupOptions bo;
    bo.threads = 1;
    bo.pack_target_size = 4 * k_prune_bs;
    test::MemorySource src(test::pseudo_random(12 * k_prune_bs, 41), "vol");
    auto r1 = run_backup(*store, src, bo, null_progress());
    REQUIRE(store->packs_on_disk().size() == 3);
    auto fresh = test::pseudo_random(7 * k_prune_bs, 42);
    std::copy(fresh.begin(), fresh.end(), src.data().begin());
    point = run_backup(*store, src, bo, null_progress()).point_id;
    v2 = src.data();
    name_old_packs(blocks_of(*store, r1.point_id), blocks_of(*store, point));
    store->delete_point(r1.point_id);
    unindexed = add_unindexed_pack(*store);
  }

  // Finds A, B and C by their share of the second point's blocks (0, 1 and 4 of 4).
  void name_old_packs(const std::set<BlockId>& old_blocks, const std::set<BlockId>& live) {
    for (const auto& id : store->packs_on_disk()) {
      File f(store->pack_path(id), File::Open::read);
      size_t old_count = 0, live_count = 0;
      for (const auto& e : read_pack_table(f, store->config().store_id)) {
        old_count += old_blocks.count(e.id);
        live_count += live.count(e.id);
      }
      if (old_count != 4) continue;
      REQUIRE((live_count == 0 || live_count == 1 || live_count == 4));
      (live_count == 0 ? a : live_count == 1 ? b : c) = id;
    }
    REQUIRE(std::set<PackId>{a, b, c}.size() == 3);
  }

  const PackPlan& pack(const PrunePlan& plan, const PackId& id) const {
    auto it = std::find_if(plan.packs.begin(), plan.packs.end(),
                           [&](const PackPlan& p) { return p.id == id; });
    REQUIRE(it != plan.packs.end());
    return *it;
  }
};

}  // namespace

TEST_CASE("decide_pack removes packs with nothing live and repacks at the threshold") {
  PackEntry record;
  record.stored_len = 1000;
  const uint64_t live = k_record_header_size + 1000 + k_pack_table_entry_size;
  PackPlan p;
  p.size = 4000;
  PruneOptions o;
  o.repack_threshold = 0.5;
  CHECK(decide_pack(p, o) == PackAction::remove);
  p.live = {record};
  p.live_bytes = live;
  CHECK(dead_bytes(p) == 4000 - live - k_pack_header_size - k_pack_trailer_size);
  CHECK(decide_pack(p, o) == PackAction::repack);  // 2856 of 4000 dead
  o.repack_threshold = static_cast<double>(dead_bytes(p)) / 4000;
  CHECK(decide_pack(p, o) == PackAction::repack);  // exactly at the threshold
  o.repack_threshold += 0.001;
  CHECK(decide_pack(p, o) == PackAction::keep);
  // A pack without dead bytes is kept even at 0%, so prune does not rewrite it forever.
  p.size = live + k_pack_header_size + k_pack_trailer_size;
  o.repack_threshold = 0;
  CHECK(decide_pack(p, o) == PackAction::keep);
  // Above 100% never repacks.
  p.size = 1u << 20;
  o.repack_threshold = 2.0;
  CHECK(decide_pack(p, o) == PackAction::keep);
}

TEST_CASE("a plan on a store with forgotten points names the packs to delete and repack") {
  ForgottenStore s;
  uint64_t before = 0;  // packs and index segments, what prune manages
  for (const auto& id : s.store->packs_on_disk()) {
    before += std::filesystem::file_size(s.store->pack_path(id));
  }
  for (const auto& seg : s.store->segment_paths()) before += std::filesystem::file_size(seg);
  PruneOptions po;
  po.pack_target_size = 4 * k_prune_bs;
  auto plan = plan_prune(*s.store, po);

  CHECK(plan.points == 1);
  CHECK(plan.live_blocks == 12);
  CHECK(plan.packs.size() == 5);  // A, B, C and the two packs of the second backup
  CHECK(plan.unindexed == std::vector<PackId>{s.unindexed});
  CHECK(plan.old_segments == s.store->segment_paths());
  CHECK(plan.old_segments.size() == 2);  // one per backup
  CHECK(plan.bytes_before == before);
  CHECK(plan.count(PackAction::remove) == 1);
  CHECK(plan.count(PackAction::repack) == 1);
  CHECK(plan.count(PackAction::keep) == 3);

  const auto& a = s.pack(plan, s.a);
  CHECK(a.action == PackAction::remove);
  CHECK(a.live.empty());
  CHECK(a.size == std::filesystem::file_size(s.store->pack_path(s.a)));
  CHECK(plan.size_of(PackAction::remove) == a.size);
  const auto& b = s.pack(plan, s.b);
  CHECK(b.action == PackAction::repack);
  REQUIRE(b.live.size() == 1);
  CHECK(b.live_bytes == k_record_header_size + b.live[0].stored_len + k_pack_table_entry_size);
  CHECK(plan.live_bytes_of(PackAction::repack) == b.live_bytes);
  const auto& c = s.pack(plan, s.c);
  CHECK(c.action == PackAction::keep);
  CHECK(c.live.size() == 4);
  CHECK(std::is_sorted(c.live.begin(), c.live.end(),
                       [](const PackEntry& x, const PackEntry& y) { return x.offset < y.offset; }));

  auto est = planned_stats(plan);
  CHECK(est.packs_before == 6);
  CHECK(est.packs_deleted == 2);  // A and the unindexed pack
  CHECK(est.packs_unindexed == 1);
  CHECK(est.packs_repacked == 1);
  CHECK(est.packs_after == 4);  // C, the two new ones, and one pack of B's live record
  CHECK(est.packs_written == 0);
  CHECK(est.bytes_repacked == b.live_bytes);
  CHECK(est.bytes_after == plan.size_of(PackAction::keep) + b.live_bytes + 12 * 32);
  CHECK(est.bytes_freed == est.bytes_before - est.bytes_after);
}

TEST_CASE("a dry run changes nothing in the store") {
  ForgottenStore s;
  test::write_file(s.root / "tmp" / "leftover", {1, 2, 3});  // a dry run leaves tmp/ alone
  const auto before = fingerprint(s.root);
  PruneOptions po;
  po.repack_threshold = 0;
  po.dry_run = true;
  auto est = planned_stats(plan_prune(*s.store, po));
  CHECK(est.packs_deleted == 2);
  CHECK(est.packs_repacked == 1);
  CHECK(fingerprint(s.root) == before);
}

TEST_CASE("executing a plan leaves a store that verifies and restores every remaining point") {
  ForgottenStore s;
  test::write_file(s.root / "tmp" / "leftover", {1, 2, 3});
  PruneOptions po;
  po.pack_target_size = 4 * k_prune_bs;
  auto plan = plan_prune(*s.store, po);
  auto done = execute_prune(*s.store, plan, null_progress());
  auto est = planned_stats(plan);

  CHECK(done.packs_deleted == est.packs_deleted);
  CHECK(done.packs_repacked == est.packs_repacked);
  CHECK(done.packs_after == est.packs_after);
  CHECK(done.bytes_repacked == est.bytes_repacked);
  CHECK(done.packs_written == 1);
  CHECK(done.segments_deleted == 2);
  CHECK(done.segments_written == 1);
  CHECK(done.tmp_files_removed == 1);
  CHECK(done.bytes_freed == done.bytes_before - done.bytes_after);
  auto on_disk = s.store->packs_on_disk();
  for (const auto& gone : {s.a, s.b, s.unindexed}) {
    CHECK(std::find(on_disk.begin(), on_disk.end(), gone) == on_disk.end());
  }
  CHECK(std::find(on_disk.begin(), on_disk.end(), s.c) != on_disk.end());
  check_verifies(*s.store);
  check_restores(*s.store, s.dir / "restored", s.point, s.v2);
  // The next plan finds nothing to do.
  auto again = plan_prune(*s.store, po);
  CHECK(again.count(PackAction::keep) == again.packs.size());
  CHECK(again.unindexed.empty());
}

TEST_CASE("a plan refuses a store that lost a pack, and nothing is deleted") {
  ForgottenStore s;
  const auto lost = s.store->pack_path(s.c);
  std::filesystem::rename(lost, s.dir / "lost.pack");
  const auto before = fingerprint(s.root);
  try {
    plan_prune(*s.store, PruneOptions{});
    FAIL("plan_prune accepted a store without pack C");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
    CHECK(e.object() == "pack " + s.c.hex());
    CHECK(e.cause().find("missing; nothing was deleted") != std::string::npos);
  }
  CHECK(fingerprint(s.root) == before);
}

TEST_CASE(
    "prune deletes dead packs, repacks mostly dead ones, and every remaining point stays intact") {
  test::TempDir dir;
  auto root = dir / "store";
  Store::create(root, k_prune_bs);
  Store store(root);
  BackupOptions bo;
  bo.threads = 2;
  bo.pack_target_size = 8 * k_prune_bs;  // small packs, so some are shared and some are not
  // v1: 40 random blocks. v2: blocks 0-29 replaced (v1's packs become mostly dead).
  // v3: v2 with one block changed.
  test::MemorySource src(test::pseudo_random(40 * k_prune_bs, 11), "vol");
  auto r1 = run_backup(store, src, bo, null_progress());
  auto fresh = test::pseudo_random(30 * k_prune_bs, 12);
  std::copy(fresh.begin(), fresh.end(), src.data().begin());
  auto r2 = run_backup(store, src, bo, null_progress());
  auto v2 = src.data();
  src.data()[3] ^= 1;
  auto r3 = run_backup(store, src, bo, null_progress());
  auto v3 = src.data();
  add_unindexed_pack(store);  // as an interrupted backup leaves one
  const uint64_t before = store_bytes(root);

  PruneOptions dry;
  dry.dry_run = true;
  auto plan = planned_stats(plan_prune(store, dry));
  CHECK(store_bytes(root) == before);
  CHECK(plan.packs_unindexed == 1);
  CHECK(plan.packs_deleted == 1);  // nothing forgotten yet: only the unindexed pack would go
  CHECK(plan.packs_repacked == 0);
  store.delete_point(r1.point_id);

  PruneOptions po;
  po.repack_threshold = 0.5;
  po.pack_target_size = 8 * k_prune_bs;
  auto s = prune(store, po);
  CHECK(s.points == 2);
  CHECK(s.packs_unindexed == 1);
  CHECK(s.packs_deleted >= 3);  // v1's packs holding only blocks 0-29 are dead
  CHECK(s.bytes_before - s.bytes_after == s.bytes_freed);
  const uint64_t after = store_bytes(root);
  // v1's 30 unique random blocks (64 KiB each, incompressible) are gone.
  CHECK(before - after >= 30 * uint64_t{k_prune_bs});
  CHECK(before - after <= 31 * uint64_t{k_prune_bs});
  CHECK(std::filesystem::is_empty(root / "tmp"));

  check_verifies(store);
  check_restores(store, dir / "restored-2", r2.point_id, v2);
  check_restores(store, dir / "restored-3", r3.point_id, v3);
  // A second prune finds nothing to do.
  auto again = prune(store, po);
  CHECK(again.packs_deleted == 0);
  CHECK(again.packs_repacked == 0);
}

TEST_CASE("prune with a repack threshold of 0 leaves only live records") {
  test::TempDir dir;
  auto root = dir / "store";
  Store::create(root, k_prune_bs);
  Store store(root);
  BackupOptions bo;
  bo.pack_target_size = 16 * k_prune_bs;
  test::MemorySource src(test::pseudo_random(16 * k_prune_bs, 21), "vol");
  auto r1 = run_backup(store, src, bo, null_progress());
  src.data()[0] ^= 1;  // block 0 changes: v1's pack is 15/16 live
  auto r2 = run_backup(store, src, bo, null_progress());
  store.delete_point(r1.point_id);
  auto s = prune(store, PruneOptions{});
  CHECK(s.packs_repacked == 0);  // 1/16 dead < 50%
  PruneOptions po;
  po.repack_threshold = 0;
  s = prune(store, po);
  CHECK(s.packs_repacked == 1);
  CHECK(s.packs_written == 1);
  CHECK(s.live_blocks == 16);
  VerifyOptions vo;
  vo.read_data = true;
  vo.remember = false;
  CHECK(run_verify(store, vo, null_progress()).ok());
  check_restores(store, dir / "r2", r2.point_id, src.data());
}
