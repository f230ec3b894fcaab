// Restore and verify stream a point's block map chunk by chunk (image/point_map_stream):
// a point of several map chunks restores and verifies, damage is placed at the right
// volume offsets in any chunk, and a map chunk found damaged on the way stops a restore
// with damage and no target left behind.
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/source/block_source.hpp"
#include "image/backup.hpp"
#include "image/format.hpp"
#include "image/restore.hpp"
#include "image/storage_local.hpp"
#include "image/verify.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;
constexpr uint64_t k_chunk = point_layout::k_ids_per_chunk;
// Three whole map chunks and part of a fourth; data only in the blocks below (either side
// of each chunk boundary, and the last block), holes everywhere else.
constexpr uint64_t k_blocks = 3 * k_chunk + 100;
const std::set<uint64_t> k_data_blocks = {0, k_chunk - 1, k_chunk, 2 * k_chunk + 5, k_blocks - 1};

std::vector<uint8_t> block_bytes(uint64_t b) {
  return test::pseudo_random(k_bs, 1000 + b);
}

// A sparse source of k_blocks blocks (12 GiB) that holds data only in k_data_blocks.
class SparseSource final : public BlockSource {
 public:
  std::string name() const override { return "sparse"; }
  uint64_t size() const override { return k_blocks * k_bs; }
  void read_at(void* buf, size_t len, uint64_t offset) override {
    auto* out = static_cast<uint8_t*>(buf);
    std::memset(out, 0, len);
    for (uint64_t b = offset / k_bs; b * k_bs < offset + len; ++b) {
      if (!k_data_blocks.count(b)) continue;
      const auto bytes = block_bytes(b);
      const uint64_t from = std::max(offset, b * k_bs), to = std::min(offset + len, (b + 1) * k_bs);
      std::memcpy(out + (from - offset), bytes.data() + (from - b * k_bs), to - from);
    }
  }
  SourceRun run_at(uint64_t offset) override {
    const uint64_t b = offset / k_bs;
    if (k_data_blocks.count(b)) return {false, (b + 1) * k_bs};
    auto next = k_data_blocks.upper_bound(b);
    return {true, next == k_data_blocks.end() ? size() : *next * k_bs};
  }
};

struct Fixture {
  test::TempDir dir;
  fs::path root = dir / "store";
  Fixture() { Store::create(root, k_bs); }
};

// The restored file's data blocks are the source's; the rest reads as zeros (sampled).
void check_restored(const fs::path& out) {
  File f(out, File::Open::read);
  REQUIRE(f.size() == k_blocks * k_bs);
  std::vector<uint8_t> got(k_bs);
  for (uint64_t b : k_data_blocks) {
    f.read_exact_at(got.data(), k_bs, b * k_bs);
    REQUIRE(got == block_bytes(b));
  }
  const std::vector<uint8_t> zeros(k_bs, 0);
  for (uint64_t b : {uint64_t{1}, k_chunk + 1, 3 * k_chunk}) {
    f.read_exact_at(got.data(), k_bs, b * k_bs);
    REQUIRE(got == zeros);
  }
}

// Flips a byte of the payload of the record of `id`.
void flip_record_of(const Store& store, const fs::path& root, const BlockId& id) {
  for (const auto& pack : store.packs_on_disk()) {
    const auto table =
        read_pack_table(*store.storage().open(pack_object(pack)), store.config().store_id, "pack");
    for (const auto& e : table) {
      if (e.id != id) continue;
      File f(LocalStorage(root).path_of(pack_object(pack)), File::Open::read_write);
      uint8_t b;
      const uint64_t at = e.offset + k_record_header_size + 10;
      f.read_exact_at(&b, 1, at);
      b ^= 0x5a;
      f.write_at(&b, 1, at);
      return;
    }
  }
  FAIL("no record of the block");
}
}  // namespace

TEST_CASE("streamed maps: a point of several map chunks restores and verifies", "[map_stream]") {
  Fixture f;
  Store store(f.root);
  SparseSource src;
  BackupOptions opts;
  opts.threads = 2;
  const auto r = run_backup(store, src, opts, null_progress());
  REQUIRE(r.stats.new_blocks == k_data_blocks.size());

  const fs::path out = f.dir / "out.img";
  RestoreOptions ro;
  ro.threads = 3;
  const auto st = run_restore(store, r.point_id, out, ro, null_progress());
  CHECK(st.bytes_written == k_data_blocks.size() * k_bs);
  CHECK(st.bytes_sparse == (k_blocks - k_data_blocks.size()) * k_bs);
  check_restored(out);

  VerifyOptions vo;
  vo.read_data = true;
  vo.remember = false;
  const auto v = run_verify(store, vo, null_progress());
  CHECK(v.ok());
  CHECK(v.blocks_referenced == k_data_blocks.size());
  CHECK(v.records_read == k_data_blocks.size());

  // Damage to the block at the start of the second chunk is placed at its offset.
  const BlockId second = store.hasher().hash(block_bytes(k_chunk).data(), k_bs);
  flip_record_of(store, f.root, second);
  const auto d = run_verify(store, vo, null_progress());
  REQUIRE(d.damage.size() == 1);
  CHECK(d.damage[0].point == r.point_id);
  CHECK(d.damage[0].offset == k_chunk * k_bs);
  fs::remove(out);
  try {
    run_restore(store, r.point_id, out, RestoreOptions{}, null_progress());
    FAIL("a damaged block restored");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
    CHECK(std::string(e.what()).find("at volume offset " + std::to_string(k_chunk * k_bs)) !=
          std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE(
    "streamed maps: a map chunk damaged past the first stops a restore; verify names the "
    "point",
    "[map_stream]") {
  Fixture f;
  Store store(f.root);
  SparseSource src;
  const auto r = run_backup(store, src, BackupOptions{}, null_progress());
  const fs::path point_file = LocalStorage(f.root).path_of(point_object(r.point_id));
  {
    // The last chunk's bytes (before the 16-byte trailer): reached after the restore has
    // written the blocks of the chunks before it.
    File pf(point_file, File::Open::read_write);
    const uint64_t at = pf.size() - 40;
    uint8_t b;
    pf.read_exact_at(&b, 1, at);
    b ^= 0x5a;
    pf.write_at(&b, 1, at);
  }
  const fs::path out = f.dir / "out.img";
  try {
    run_restore(store, r.point_id, out, RestoreOptions{}, null_progress());
    FAIL("a point with a damaged map chunk restored");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
    CHECK(std::string(e.what()).find("point " + r.point_id) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));  // never a file that looks complete but is not

  VerifyOptions vo;
  vo.remember = false;
  const auto v = run_verify(store, vo, null_progress());
  REQUIRE(v.damage.size() == 1);
  CHECK(v.damage[0].point == r.point_id);
  CHECK(v.damage[0].offset == Damage::k_whole_file);
  CHECK(v.blocks_referenced == 0);  // a point that does not read whole adds no blocks
}
