#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "image/backup.hpp"
#include "image/block_reader.hpp"
#include "image/damage.hpp"
#include "image/prune.hpp"
#include "image/restore.hpp"
#include "image/storage_local.hpp"
#include "image/verify.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;

BlockId block_id(uint8_t first) {
  BlockId id;
  id.bytes[0] = first;
  id.bytes[15] = 1;
  return id;
}

PackId pack_id(uint8_t first) {
  PackId id;
  id.bytes[0] = first;
  return id;
}

size_t damage_objects(const Storage& storage) {
  size_t n = 0;
  for (const auto& name : storage.list(ObjectKind::state)) n += name.rfind("damage-", 0) == 0;
  return n;
}

// Flips one byte of record `record` of the store's only pack.
void flip_record(const fs::path& root, const Store& store, const PackId& pack, size_t record) {
  auto table =
      read_pack_table(*store.storage().open(pack_object(pack)), store.config().store_id, "pack");
  File f(LocalStorage(root).path_of(pack_object(pack)), File::Open::read_write);
  uint8_t b;
  const uint64_t at = table.at(record).offset + k_record_header_size + 10;
  f.read_exact_at(&b, 1, at);
  b ^= 0x5a;
  f.write_at(&b, 1, at);
}
}  // namespace

TEST_CASE("a damage record encodes, decodes and refuses damaged bytes", "[heal]") {
  DamageSet set;
  CHECK(set.add_copy(block_id(2), pack_id(9), 4096, 100));
  CHECK_FALSE(set.add_copy(block_id(2), pack_id(9), 4096, 50));  // known: keeps the earliest
  CHECK(set.add_pack(pack_id(7), 200));
  CHECK(set.add_segment("00112233445566778899aabbccddeeff", 300));
  CHECK_FALSE(set.add_segment("not hex", 300));
  CHECK(set.copy_bad(block_id(2), pack_id(9), 4096));
  CHECK_FALSE(set.copy_bad(block_id(2), pack_id(9), 8192));
  CHECK(set.copy_bad(block_id(5), pack_id(7), 0));  // through its pack
  auto bytes = encode_damage(set);
  CHECK(bytes.size() == 16 + 3 * 48 + 16);
  DamageSet back = decode_damage(bytes.data(), bytes.size(), "d");
  REQUIRE(back.size() == 3);
  CHECK(back.entries()[0].found == 50);
  for (size_t i = 0; i < bytes.size(); i += 7) {
    auto bad = bytes;
    bad[i] ^= 0x40;
    CHECK_THROWS_AS(decode_damage(bad.data(), bad.size(), "d"), Error);
  }
  CHECK_THROWS_AS(decode_damage(bytes.data(), bytes.size() - 1, "d"), Error);
}

TEST_CASE("concurrent additions are never lost: compaction removes only what it merged", "[heal]") {
  test::TempDir dir;
  auto storage = LocalStorage::create_directory(dir / "store");
  for (uint8_t i = 1; i <= 20; ++i) {
    DamageSet one;
    one.add_copy(block_id(i), pack_id(1), i, i);
    record_damage(*storage, one);
  }
  CHECK(damage_objects(*storage) <= 17);  // compacted once past 16 objects
  DamageRecord before = load_damage(*storage);
  CHECK(before.set.size() == 20);
  // Another process adds an object after `before` was read, then `before` is replaced.
  DamageSet late;
  late.add_pack(pack_id(3), 1);
  record_damage(*storage, late);
  replace_damage(*storage, before, before.set, false);
  DamageRecord after = load_damage(*storage);
  CHECK(after.set.size() == 21);
  CHECK(after.set.has_pack(pack_id(3)));
  record_damage(*storage, late);  // nothing new: no object written
  CHECK(load_damage(*storage).objects.size() == after.objects.size());
}

TEST_CASE("the index keeps every copy of a block, the first one first", "[heal]") {
  BlockIndex index;
  index.add_copy(block_id(1), BlockLocation{0, 32});
  index.add_copy(block_id(1), BlockLocation{1, 64});
  index.add_copy(block_id(1), BlockLocation{0, 32});  // known: not added twice
  index.reserve(10000);                               // regrowing keeps the extra copies
  auto copies = index.copies(block_id(1));
  REQUIRE(copies.size() == 2);
  CHECK(copies[0].pack == 0);
  CHECK(copies[1].offset == 64);
  CHECK(index.size() == 1);
  CHECK(index.extra_copies() == 1);
  CHECK(index.copies(block_id(2)).empty());
}

TEST_CASE("a damaged block is stored again by the next backup and read from its new copy",
          "[heal]") {
  test::TempDir dir;
  const fs::path root = dir / "store";
  Store::create(root, k_bs);
  Store store(root);
  const auto data = test::pseudo_random(8 * k_bs, 5);
  test::MemorySource src(data, "vol");
  auto first = run_backup(store, src, BackupOptions{}, null_progress());
  const PackId old_pack = store.packs_on_disk().at(0);
  flip_record(root, store, old_pack, 3);

  VerifyOptions vo;
  vo.read_data = true;
  auto v = run_verify(store, vo, null_progress());
  REQUIRE(v.damage.size() == 1);
  CHECK(v.damage[0].point == first.point_id);
  CHECK(v.damage[0].offset == 3 * k_bs);
  CHECK(load_damage(store.storage()).set.size() == 1);

  test::MemorySource again(data, "vol");
  auto second = run_backup(store, again, BackupOptions{}, null_progress());
  CHECK(second.stats.healed_blocks == 1);
  CHECK(second.stats.new_blocks == 1);
  CHECK(second.points_whole_again == std::vector<std::string>{first.point_id});
  CHECK(run_verify(store, vo, null_progress()).ok());

  // The index's first copy is the damaged one; without the record the reader falls back.
  BlockIndex index = store.load_index(nullptr);
  Point p = store.load_point(first.point_id);
  BlockReader reader(store, index);
  std::vector<uint8_t> out(k_bs), scratch;
  CHECK(reader.read(p.map[3], out.data(), scratch) == k_bs);
  CHECK(std::equal(out.begin(), out.end(), data.begin() + 3 * k_bs));
  const auto copies = index.copies(p.map[3]);
  REQUIRE(copies.size() == 2);
  const bool damaged_first = index.packs()[copies[0].pack] == old_pack;
  CHECK(reader.fallbacks() == (damaged_first ? 1u : 0u));
  CHECK(reader.first_fallback().empty() == !damaged_first);
  // Told which copy is damaged, the reader tries the intact one first.
  DamageRecord record = load_damage(store.storage());
  BlockReader informed(store, index, &record.set);
  CHECK(informed.read(p.map[3], out.data(), scratch) == k_bs);
  CHECK(informed.fallbacks() == 0);
}

TEST_CASE("restore with ignore_damage writes zeros for a block with no intact copy", "[heal]") {
  test::TempDir dir;
  const fs::path root = dir / "store";
  Store::create(root, k_bs);
  Store store(root);
  const auto data = test::pseudo_random(4 * k_bs, 8);
  test::MemorySource src(data, "vol");
  auto r = run_backup(store, src, BackupOptions{}, null_progress());
  flip_record(root, store, store.packs_on_disk().at(0), 1);
  Point p = store.load_point(r.point_id);
  CHECK_THROWS_AS(run_restore(store, p.id, dir / "a.img", RestoreOptions{}, null_progress()),
                  Error);
  CHECK_FALSE(fs::exists(dir / "a.img"));
  CHECK(damage_objects(store.storage()) == 1);  // the failed restore recorded what it met
  RestoreOptions ro;
  ro.ignore_damage = true;
  auto s = run_restore(store, p.id, dir / "b.img", ro, null_progress());
  REQUIRE(s.damaged.size() == 1);
  CHECK(s.damaged[0].offset == k_bs);
  CHECK(s.bytes_damaged == k_bs);
  auto out = test::read_file(dir / "b.img");
  REQUIRE(out.size() == data.size());
  CHECK(std::all_of(out.begin() + k_bs, out.begin() + 2 * k_bs, [](uint8_t b) { return b == 0; }));
  CHECK(std::equal(out.begin(), out.begin() + k_bs, data.begin()));
  CHECK(std::equal(out.begin() + 2 * k_bs, out.end(), data.begin() + 2 * k_bs));
}

TEST_CASE("prune keeps the intact copy of a block stored twice when the other rotted unnoticed",
          "[heal]") {
  test::TempDir dir;
  const fs::path root = dir / "store";
  Store::create(root, k_bs);
  Store store(root);
  const auto data = test::pseudo_random(8 * k_bs, 21);
  test::MemorySource src(data, "vol");
  auto first = run_backup(store, src, BackupOptions{}, null_progress());
  const PackId old_pack = store.packs_on_disk().at(0);
  flip_record(root, store, old_pack, 3);
  VerifyOptions vo;
  vo.read_data = true;
  REQUIRE_FALSE(run_verify(store, vo, null_progress()).ok());
  test::MemorySource again(data, "vol");
  REQUIRE(run_backup(store, again, BackupOptions{}, null_progress()).stats.healed_blocks == 1);
  // Both copies intact again and the record gone; then the copy tried first rots.
  flip_record(root, store, old_pack, 3);
  std::vector<std::string> damage;
  for (const auto& name : store.storage().list(ObjectKind::state))
    if (name.rfind("damage-", 0) == 0) damage.push_back(name);
  store.storage().remove_all(ObjectKind::state, damage);
  REQUIRE(run_verify(store, vo, null_progress()).ok());
  const BlockId id = store.load_point(first.point_id).map[3];
  const BlockIndex index = store.load_index(nullptr);
  REQUIRE(index.copies(id).size() == 2);
  const PackId tried_first = index.packs()[index.copies(id)[0].pack];
  const auto table = read_pack_table(*store.storage().open(pack_object(tried_first)),
                                     store.config().store_id, "pack");
  const auto record =
      std::find_if(table.begin(), table.end(), [&](const PackEntry& e) { return e.id == id; });
  REQUIRE(record != table.end());
  flip_record(root, store, tried_first, static_cast<size_t>(record - table.begin()));

  PruneOptions po;
  po.max_unused.share = 0;  // repack everything with a dead record
  execute_prune(store, plan_prune(store, po), null_progress());
  CHECK(run_verify(store, vo, null_progress()).ok());
  run_restore(store, first.point_id, dir / "r.img", RestoreOptions{}, null_progress());
  std::ifstream in(dir / "r.img", std::ios::binary);
  const std::vector<uint8_t> restored((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
  CHECK(restored == data);
}
