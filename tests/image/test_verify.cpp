#include "core/os/file.hpp"
#include "image/backup.hpp"
#include "image/verify.hpp"
#include "image/verify_plan.hpp"
#include "image/storage_local.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <filesystem>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;

PackId pack_id(uint8_t first) {
  PackId id;
  id.bytes[0] = first;  // orders the ids
  id.bytes[7] = first;  // picks the --subset slice: first % count + 1
  return id;
}
}  // namespace

TEST_CASE("verify reports a damaged record with its point, volume offset and pack") {
  test::TempDir dir;
  const fs::path root = dir / "store";
  Store::create(root, k_bs);
  Store store(root);
  test::MemorySource src(test::pseudo_random(8 * k_bs, 21), "vol");
  auto r = run_backup(store, src, BackupOptions{}, null_progress());
  auto packs = store.packs_on_disk();
  REQUIRE(packs.size() == 1);
  {
    auto table = read_pack_table(*store.storage().open(pack_object(packs[0])),
                                 store.config().store_id, "pack");
    File pack(LocalStorage(root).path_of(pack_object(packs[0])), File::Open::read_write);
    uint8_t b;
    uint64_t at = table[4].offset + k_record_header_size + 10;
    pack.read_exact_at(&b, 1, at);
    b ^= 0x01;
    pack.write_at(&b, 1, at);
  }
  REQUIRE(run_verify(store, VerifyOptions{}, null_progress()).ok());  // structure only
  VerifyOptions vo;
  vo.read_data = true;
  auto v = run_verify(store, vo, null_progress());
  REQUIRE_FALSE(v.ok());
  REQUIRE(v.damage.size() == 1);
  REQUIRE(v.damage[0].point == r.point_id);
  REQUIRE(v.damage[0].offset == 4 * k_bs);
  REQUIRE(v.damage[0].pack == packs[0].hex());
}

TEST_CASE("verify --subset slices packs by id and --max-duration order remembers what was read") {
  test::TempDir dir;
  auto root = dir / "store";
  Store::create(root, k_bs);
  Store store(root);
  BackupOptions bo;
  bo.pack_target_size = 2 * k_bs;
  test::MemorySource src(test::pseudo_random(40 * k_bs, 31), "vol");
  run_backup(store, src, bo, null_progress());
  VerifyOptions all;
  all.read_data = true;
  all.remember = false;
  auto full = run_verify(store, all, null_progress());
  REQUIRE(full.packs_checked == 20);
  size_t total = 0;
  for (unsigned n = 1; n <= 3; ++n) {
    VerifyOptions vo;
    vo.read_data = true;
    vo.subset_index = n;
    vo.subset_count = 3;
    auto r = run_verify(store, vo, null_progress());
    CHECK(r.ok());
    CHECK(r.packs_read == r.packs_selected);
    total += r.packs_read;
  }
  CHECK(total == 20);  // the three slices cover every pack exactly once
  CHECK(std::filesystem::exists(root / "verify.state"));
  // A damaged state file is ignored with a note, never an error.
  test::write_file(root / "verify.state", {'x'});
  VerifyOptions remembering = all;
  remembering.remember = true;
  auto r = run_verify(store, remembering, null_progress());
  CHECK(r.ok());
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("ignoring the verify state") != std::string::npos);
  // --max-duration: a limit already reached reads nothing and says so.
  VerifyOptions limited = all;
  limited.max_seconds = 1e-9;
  auto cut = run_verify(store, limited, null_progress());
  CHECK(cut.ok());
  CHECK(cut.time_limit_reached);
  CHECK(cut.packs_read < cut.packs_selected);
  CHECK(cut.packs_selected == 20);
  // Rewritten whole: the next run reads it without a note.
  CHECK(run_verify(store, remembering, null_progress()).notes.empty());
}

TEST_CASE("read plan: packs never read first, then least recently read, ties by id") {
  const std::vector<PackId> packs = {pack_id(4), pack_id(1), pack_id(3), pack_id(2)};
  const PackReadTimes last_read = {{pack_id(4), 100}, {pack_id(3), 50}, {pack_id(9), 10}};
  VerifyOptions options;
  ReadPlan plan = plan_reads(packs, options, last_read);
  CHECK(plan.order == std::vector<size_t>{1, 3, 2, 0});  // 1 and 2 never, then 3, then 4
  CHECK(plan.selected_count() == 4);
  CHECK(plan.deadline == 0);
  CHECK(plan.reads_now(0));

  options.subset_index = 2;
  options.subset_count = 2;
  plan = plan_reads(packs, options, last_read);
  CHECK(plan.selected == std::vector<char>{0, 1, 1, 0});  // 1 and 3 are odd: slice 2

  // After a run that read pack 1 only: it is read now, 4 and 3 keep their times, and 9
  // (no longer in the index) is dropped.
  plan.read = {0, 1, 0, 0};
  CHECK(updated_verify_state(packs, plan, last_read, 500) ==
        PackReadTimes{{pack_id(4), 100}, {pack_id(1), 500}, {pack_id(3), 50}});
}
