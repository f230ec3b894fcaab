// Prune as plan and execute: the per-pack decision and the choice of packs to repack
// (max_unused, max_repack_bytes, repack_threshold), the plan of a store with forgotten
// points, a dry run that changes nothing, and executions that leave every remaining
// point verifying and restoring byte-identical with the unused space promised.
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "image/backup.hpp"
#include "image/prune.hpp"
#include "image/restore.hpp"
#include "image/verify.hpp"
#include "image/storage_local.hpp"
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
  run_restore(store, point, out, RestoreOptions{}, null_progress());
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
  PackWriter w(store.storage(), store.config().store_id);
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
      auto pack = store->storage().open(pack_object(id));
      size_t old_count = 0, live_count = 0;
      for (const auto& e : read_pack_table(*pack, store->config().store_id, "pack")) {
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

// No file anywhere under `dir` (a store's tmp/ keeps the empty folders of live writers).
static bool no_files_under(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_directory()) return false;
  }
  return true;
}

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
  // 100% (the default) and above force no pack: a pack with live data is never wholly dead.
  p.size = 1u << 20;
  o.repack_threshold = 1.0;
  CHECK(decide_pack(p, o) == PackAction::keep);
  o.repack_threshold = 2.0;
  CHECK(decide_pack(p, o) == PackAction::keep);
  CHECK(PruneOptions{}.repack_threshold == 1.0);
}

TEST_CASE("decide_packs keeps a pack inside the safety window, even with nothing live") {
  PackEntry record;
  record.stored_len = 1000;
  std::vector<PackPlan> packs(2);
  for (auto& p : packs) p.size = 1u << 20;  // almost all dead
  packs[1].young = true;
  PruneOptions o;
  o.repack_threshold = 0;
  decide_packs(packs, o);
  CHECK(packs[0].action == PackAction::remove);
  CHECK(packs[1].action == PackAction::keep);
  CHECK(decide_pack(packs[1], o) == PackAction::keep);
  packs[0].live = packs[1].live = {record};
  packs[0].live_bytes = packs[1].live_bytes = k_record_header_size + 1000 + k_pack_table_entry_size;
  decide_packs(packs, o);
  CHECK(packs[0].action == PackAction::repack);
  CHECK(packs[1].action == PackAction::keep);
  CHECK(k_prune_window_seconds == 3600);
}

namespace {

// A pack of `live` live bytes and `dead` dead ones, named by `tag`.
PackPlan synthetic_pack(uint8_t tag, uint64_t live, uint64_t dead) {
  PackPlan p;
  p.id.bytes[0] = tag;
  if (live) p.live.resize(1);
  p.live_bytes = live;
  p.size = live + dead + k_pack_header_size + k_pack_trailer_size;
  return p;
}

// The tags of the packs decide_packs repacks, in tag order; every pack with nothing live
// is removed and no other is.
std::string repacked_by(const PruneOptions& options) {
  // Freed per byte copied: X 3, V 2, Z 1, Y 0.5; W has no dead bytes, R nothing live.
  std::vector<PackPlan> packs = {
      synthetic_pack('R', 0, 5000),    synthetic_pack('Y', 4000, 2000),
      synthetic_pack('X', 1000, 3000), synthetic_pack('W', 5000, 0),
      synthetic_pack('Z', 1000, 1000), synthetic_pack('V', 3000, 6000),
  };
  decide_packs(packs, options);
  std::string tags;
  for (const auto& p : packs) {
    CHECK((p.action == PackAction::remove) == p.live.empty());
    if (p.action == PackAction::repack) tags += static_cast<char>(p.id.bytes[0]);
  }
  std::sort(tags.begin(), tags.end());
  return tags;
}

PruneOptions with_max_unused(UnusedLimit::Kind kind, double share = 0, uint64_t bytes = 0) {
  PruneOptions o;
  o.max_unused.kind = kind;
  o.max_unused.share = share;
  o.max_unused.bytes = bytes;
  return o;
}

}  // namespace

TEST_CASE("decide_packs repacks the most dead per byte copied first, until max_unused is met") {
  using Kind = UnusedLimit::Kind;
  // Kept packs: 26320 bytes, 12000 unused (45.6%). Repacking X leaves 9000 of 23256
  // (38.7%), then V 3000 of 17192 (17.4%), then Z 2000 of 16128 (12.4%), then Y 0.
  CHECK(repacked_by(PruneOptions{}) == "VXYZ");  // 5% of the store: every partial pack
  CHECK(repacked_by(with_max_unused(Kind::share, 0.25)) == "VX");
  CHECK(repacked_by(with_max_unused(Kind::share, 0.15)) == "VXZ");
  CHECK(repacked_by(with_max_unused(Kind::share, 0.124)) == "VXYZ");
  CHECK(repacked_by(with_max_unused(Kind::share, 0.46)) == "");  // within already
  CHECK(repacked_by(with_max_unused(Kind::bytes, 0, 2500)) == "VXZ");
  CHECK(repacked_by(with_max_unused(Kind::bytes, 0, 3000)) == "VX");
  CHECK(repacked_by(with_max_unused(Kind::unlimited)) == "");

  // max_repack_bytes: a pack that would exceed it is kept, a smaller one after it is not.
  auto bounded = with_max_unused(Kind::share, 0);
  bounded.max_repack_bytes = 2000;
  CHECK(repacked_by(bounded) == "XZ");  // X 1000, V (3000) skipped, Z 1000
  bounded.max_repack_bytes = 999;
  CHECK(repacked_by(bounded) == "");

  // repack_threshold forces packs at least that dead whatever max_unused says, within
  // max_repack_bytes.
  auto forced = with_max_unused(Kind::unlimited);
  forced.repack_threshold = 0.5;  // X 74% dead, V 66%, Z 48%, Y 33%
  CHECK(repacked_by(forced) == "VX");
  forced.repack_threshold = 0;
  CHECK(repacked_by(forced) == "VXYZ");  // not W: nothing dead in it
  forced.repack_threshold = 0.5;
  forced.max_repack_bytes = 2000;
  CHECK(repacked_by(forced) == "X");
}

TEST_CASE("UnusedLimit allows a share of the pack bytes, a size, or anything") {
  UnusedLimit share;
  CHECK(share.kind == UnusedLimit::Kind::share);
  CHECK(share.share == 0.05);  // the default: 5%
  CHECK(share.allows(5, 100));
  CHECK_FALSE(share.allows(6, 100));
  CHECK(share.allows(0, 0));
  UnusedLimit bytes;
  bytes.kind = UnusedLimit::Kind::bytes;
  bytes.bytes = 1000;
  CHECK(bytes.allows(1000, 1));
  CHECK_FALSE(bytes.allows(1001, 1u << 30));
  UnusedLimit unlimited;
  unlimited.kind = UnusedLimit::Kind::unlimited;
  CHECK(unlimited.allows(UINT64_MAX, 1));
}

TEST_CASE("a plan on a store with forgotten points names the packs to delete and repack") {
  ForgottenStore s;
  uint64_t before = 0;  // packs and index segments, what prune manages
  for (const auto& id : s.store->packs_on_disk()) {
    before += *s.store->storage().size(pack_object(id));
  }
  for (const auto& seg : s.store->segments())
    before += *s.store->storage().size(segment_object(seg));
  PruneOptions po;
  po.pack_target_size = 4 * k_prune_bs;
  auto plan = plan_prune(*s.store, po);

  CHECK(plan.points == 1);
  CHECK(plan.live_blocks == 12);
  CHECK(plan.packs.size() == 5);  // A, B, C and the two packs of the second backup
  CHECK(plan.unindexed == std::vector<PackId>{s.unindexed});
  CHECK(plan.old_segments == s.store->segments());
  CHECK(plan.old_segments.size() == 2);  // one per backup
  CHECK(plan.bytes_before == before);
  CHECK(plan.count(PackAction::remove) == 1);
  CHECK(plan.count(PackAction::repack) == 1);
  CHECK(plan.count(PackAction::keep) == 3);

  const auto& a = s.pack(plan, s.a);
  CHECK(a.action == PackAction::remove);
  CHECK(a.live.empty());
  CHECK(a.size == s.store->storage().size(pack_object(s.a)));
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
  const auto lost = LocalStorage(s.root).path_of(pack_object(s.c));
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
  CHECK(no_files_under(root / "tmp"));

  check_verifies(store);
  check_restores(store, dir / "restored-2", r2.point_id, v2);
  check_restores(store, dir / "restored-3", r3.point_id, v3);
  // A second prune finds nothing to do.
  auto again = prune(store, po);
  CHECK(again.packs_deleted == 0);
  CHECK(again.packs_repacked == 0);
}

TEST_CASE("prune with a repack threshold of 0 leaves only live records, whatever max_unused") {
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
  PruneOptions po;
  po.max_unused.kind = UnusedLimit::Kind::unlimited;
  auto s = prune(store, po);
  CHECK(s.packs_repacked == 0);
  CHECK(s.unused_after > 0);
  po.repack_threshold = 0;
  s = prune(store, po);
  CHECK(s.packs_repacked == 1);
  CHECK(s.packs_written == 1);
  CHECK(s.live_blocks == 16);
  CHECK(s.unused_after == 0);
  VerifyOptions vo;
  vo.read_data = true;
  vo.remember = false;
  CHECK(run_verify(store, vo, null_progress()).ok());
  check_restores(store, dir / "r2", r2.point_id, src.data());
}

namespace {

// Five points of a 32-block image in two packs of 16; points 2-5 each rewrite the same
// six blocks (three in each pack) and add a pack of them. After forgetting points 1-3,
// the packs of points 2 and 3 hold nothing live and the first two are 3/16 dead: no
// pack is 50% dead, yet 18 of 56 blocks' bytes in packs are unused.
struct FivePointStore {
  test::TempDir dir;
  std::filesystem::path root = dir / "store";
  std::unique_ptr<Store> store;
  std::vector<std::string> kept;             // points 4 and 5
  std::vector<std::vector<uint8_t>> images;  // of points 4 and 5

  FivePointStore() {
    Store::create(root, k_prune_bs);
    store = std::make_unique<Store>(root);
    BackupOptions bo;
    bo.threads = 1;
    bo.pack_target_size = 16 * k_prune_bs;
    test::MemorySource src(test::pseudo_random(32 * k_prune_bs, 51), "vol");
    std::vector<std::string> points;
    for (uint64_t n = 1; n <= 5; ++n) {
      if (n > 1) {
        for (size_t block : {0, 5, 10, 17, 22, 27}) {
          auto fresh = test::pseudo_random(k_prune_bs, 100 * n + block);
          std::copy(fresh.begin(), fresh.end(), src.data().begin() + block * k_prune_bs);
        }
      }
      points.push_back(run_backup(*store, src, bo, null_progress()).point_id);
      if (n > 3) {
        kept.push_back(points.back());
        images.push_back(src.data());
      }
    }
    for (size_t i = 0; i < 3; ++i) store->delete_point(points[i]);
  }

  uint64_t pack_bytes_on_disk() const {
    uint64_t n = 0;
    for (const auto& id : store->packs_on_disk()) n += *store->storage().size(pack_object(id));
    return n;
  }

  void check_points_intact() const {
    check_verifies(*store);
    for (size_t i = 0; i < kept.size(); ++i) {
      check_restores(*store, dir / ("restored-" + std::to_string(i)), kept[i], images[i]);
    }
  }
};

}  // namespace

TEST_CASE("prune of five points with three forgotten leaves at most 5% of the packs unused") {
  FivePointStore s;
  const uint64_t before = s.pack_bytes_on_disk();
  auto plan = plan_prune(*s.store, PruneOptions{});
  CHECK(plan.pack_bytes_before == before);
  CHECK(plan.count(PackAction::remove) == 2);     // the packs of points 2 and 3
  CHECK(plan.unused_before() * 10 > 3 * before);  // 18 of 56 blocks
  // The old rule (repack packs at least 50% dead, nothing else) left 6 of 44 blocks unused.
  PruneOptions old_rule;
  old_rule.max_unused.kind = UnusedLimit::Kind::unlimited;
  old_rule.repack_threshold = 0.5;
  auto old_plan = plan_prune(*s.store, old_rule);
  CHECK(old_plan.count(PackAction::repack) == 0);
  CHECK(old_plan.unused_after() * 100 > 13 * old_plan.pack_bytes_after());

  auto est = planned_stats(plan);
  auto done = execute_prune(*s.store, plan, null_progress());
  const uint64_t after = s.pack_bytes_on_disk();
  CHECK(done.pack_bytes_before == before);
  CHECK(done.pack_bytes_after == after);
  CHECK(done.unused_before == plan.unused_before());
  CHECK(done.unused_after * 100 <= 5 * after);
  CHECK(done.packs_repacked >= 1);
  // The dry run's estimate: the same unused bytes; the packs' size without new headers.
  CHECK(est.unused_after == done.unused_after);
  CHECK(est.pack_bytes_after <= after);
  CHECK(after - est.pack_bytes_after <=
        done.packs_written * (k_pack_header_size + k_pack_trailer_size));
  // Measured independently: a plan that repacks nothing sees what is left unused.
  auto measured = plan_prune(*s.store, old_rule);
  CHECK(measured.unused_before() == done.unused_after);
  s.check_points_intact();
}

TEST_CASE("max_repack_bytes bounds the bytes prune copies, and unlimited max_unused copies none") {
  FivePointStore s;
  PruneOptions bounded;
  bounded.max_repack_bytes = 16 * k_prune_bs;  // one of the first two packs, not both
  auto done = prune(*s.store, bounded);
  CHECK(done.packs_repacked == 1);
  CHECK(done.bytes_repacked > 0);
  CHECK(done.bytes_repacked <= bounded.max_repack_bytes);
  CHECK(done.unused_after * 100 > 5 * done.pack_bytes_after);  // the bound won over the goal
  s.check_points_intact();

  PruneOptions unlimited;
  unlimited.max_unused.kind = UnusedLimit::Kind::unlimited;
  FivePointStore t;
  done = prune(*t.store, unlimited);
  CHECK(done.packs_deleted == 2);  // wholly dead packs still go
  CHECK(done.packs_repacked == 0);
  CHECK(done.bytes_repacked == 0);
  CHECK(done.unused_after > 0);
  t.check_points_intact();
}
