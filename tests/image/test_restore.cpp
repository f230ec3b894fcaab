#include "core/base/buffer.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "image/backup.hpp"
#include "image/restore.hpp"
#include "image/restore_target.hpp"
#include "image/storage_local.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  FAIL("no error");
  return ErrorKind::failure;
}
}  // namespace

TEST_CASE("restore target: aligned and unaligned writes, finish keeps the file") {
  test::TempDir dir;
  const fs::path out = dir / "out";
  // Two aligned pages, then a 1000-byte tail at an unaligned end: the head may go
  // past the page cache, the tail goes through it.
  const size_t size = 2 * File::k_direct_alignment + 1000;
  const auto data = test::pseudo_random(size, 7);
  AlignedBuffer buf(size);
  std::memcpy(buf.data(), data.data(), size);
  {
    RestoreTarget target(out, size + 5000, false);
    CHECK_FALSE(target.is_device());
    const bool direct = target.direct();
    target.write(buf.data(), size, 0);
    target.start_writeback(0, size);
    target.finish(size + 5000);  // the end of the point is a hole
    CHECK(target.bytes_unbuffered() == (direct ? 2 * File::k_direct_alignment : 0));
  }
  auto back = test::read_file(out);
  REQUIRE(back.size() == size + 5000);
  CHECK(std::equal(data.begin(), data.end(), back.begin()));
  CHECK(std::all_of(back.begin() + size, back.end(), [](uint8_t b) { return b == 0; }));
}

TEST_CASE("restore target: removed unless finished, if it created the file") {
  test::TempDir dir;
  const fs::path out = dir / "out";
  AlignedBuffer buf(File::k_direct_alignment);
  std::memset(buf.data(), 0xab, buf.size());
  {
    RestoreTarget target(out, buf.size(), false);
    target.write(buf.data(), buf.size(), 0);
    CHECK(fs::exists(out));
  }
  CHECK_FALSE(fs::exists(out));

  // An existing file is overwritten only with force, and then truncated; a failure
  // leaves it (it was not created), never removed.
  test::write_file(out, test::pseudo_random(3 * k_bs, 8));
  CHECK(kind_of([&] { RestoreTarget t(out, k_bs, false); }) == ErrorKind::usage);
  CHECK(fs::file_size(out) == 3 * k_bs);
  {
    RestoreTarget target(out, k_bs, true);
    CHECK(fs::file_size(out) == 0);
  }
  CHECK(fs::exists(out));
  CHECK(kind_of([&] { RestoreTarget t(dir.path(), k_bs, true); }) == ErrorKind::usage);
}

TEST_CASE("a restore that fails on a damaged pack leaves no partial target") {
  test::TempDir dir;
  const fs::path root = dir / "store";
  Store::create(root, k_bs);
  Store store(root);
  // 200 blocks (12.5 MiB, several restore jobs), the damaged one near the end: jobs
  // before it are written when the restore fails.
  test::MemorySource src(test::pseudo_random(200 * k_bs, 22), "vol");
  BackupOptions bo;
  bo.pack_target_size = 256 * k_bs;
  auto r = run_backup(store, src, bo, null_progress());
  auto packs = store.packs_on_disk();
  REQUIRE(packs.size() == 1);
  {
    auto table = read_pack_table(*store.storage().open(pack_object(packs[0])),
                                 store.config().store_id, "pack");
    File pack(LocalStorage(root).path_of(pack_object(packs[0])), File::Open::read_write);
    const BlockId damaged = store.load_point(r.point_id).map[190];
    auto entry = std::find_if(table.begin(), table.end(),
                              [&](const PackEntry& e) { return e.id == damaged; });
    REQUIRE(entry != table.end());
    uint8_t b;
    uint64_t at = entry->offset + k_record_header_size + 10;
    pack.read_exact_at(&b, 1, at);
    b ^= 0x01;
    pack.write_at(&b, 1, at);
  }
  RestoreOptions ro;
  ro.threads = GENERATE(1u, 4u);
  const fs::path out = dir / "out";
  try {
    run_restore(store, r.point_id, out, ro, null_progress());
    FAIL("the restore succeeded");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
    CHECK(std::string(e.what()).find(fmt::format("volume offset {}", 190 * k_bs)) !=
          std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));  // no file that looks complete but is wrong
}
