// ext allocation maps on images made by mkfs.ext4 -d from real files; one file is then
// deleted with debugfs so its data stays in (now free) blocks.
#include "core/base/bytes.hpp"
#include "core/fs/fs_detect.hpp"
#include "tests/core/fs_test_util.hpp"

#include "tests/catch.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>

using namespace vssimg;
using namespace vssimg::fs_test;

namespace {

struct ExtTools {
  std::string mkfs = find_tool("mkfs.ext4");
  std::string debugfs = find_tool("debugfs");
  std::string e2fsck = find_tool("e2fsck");
  bool ok() const { return !mkfs.empty() && !debugfs.empty() && !e2fsck.empty(); }
};

std::vector<uint64_t> file_blocks(const ExtTools& t, const std::filesystem::path& img,
                                  const std::string& name) {
  std::string out;
  REQUIRE(run(t.debugfs + " -R " + quote("blocks /" + name) + " " + quote(img), &out) == 0);
  std::vector<uint64_t> blocks;
  std::istringstream in(out);
  uint64_t b;
  while (in >> b) blocks.push_back(b);
  return blocks;
}

bool covered(const AllocationMap& map, uint64_t offset, uint64_t length) {
  for (const ByteRange& r : map.used()) {
    if (r.offset <= offset && r.end() >= offset + length) return true;
  }
  return false;
}

std::vector<uint8_t> masked_copy(const std::vector<uint8_t>& bytes, const AllocationMap& map) {
  std::vector<uint8_t> masked(bytes.size(), 0);
  for (const ByteRange& u : map.used()) {
    std::copy_n(bytes.begin() + static_cast<ptrdiff_t>(u.offset), u.length,
                masked.begin() + static_cast<ptrdiff_t>(u.offset));
  }
  return masked;
}

}  // namespace

TEST_CASE("ext: map covers every file, skips a deleted file, restores cleanly", "[fs][ext]") {
  ExtTools t;
  if (!t.ok()) {
    WARN("skipped: mkfs.ext4/debugfs/e2fsck not found (Debian package e2fsprogs)");
    return;
  }
  for (const char* opts : {"-b 4096", "-b 1024 -O ^has_journal", "-O bigalloc -C 16384"}) {
    DYNAMIC_SECTION("mkfs.ext4 " << opts) {
      TempDir dir;
      auto tree = dir.path() / "tree";
      std::filesystem::create_directories(tree / "sub");
      std::map<std::string, std::vector<uint8_t>> files;
      const size_t sizes[] = {0, 100, 4096, 70000, 1 << 20, 3 << 20, 12345};
      uint32_t seed = 1;
      for (size_t size : sizes) {
        std::string name = (seed % 2 ? "sub/f" : "f") + std::to_string(seed) + ".bin";
        files[name] = random_bytes(size, seed++);
        write_file(tree / name, files[name]);
      }
      write_file(tree / "deleted.bin", random_bytes(4 << 20, 99));
      auto img = dir.path() / "ext.img";
      REQUIRE(run(t.mkfs + " -q -F " + opts + " -d " + quote(tree) + " " + quote(img) + " 64M") ==
              0);
      std::vector<uint64_t> deleted_blocks = file_blocks(t, img, "deleted.bin");
      REQUIRE(deleted_blocks.size() >= 1024);
      REQUIRE(run(t.debugfs + " -w -R " + quote("rm /deleted.bin") + " " + quote(img)) == 0);

      auto src = open_block_source(img.string());
      AllocationResult r = read_allocation_map(*src);
      INFO(r.note);
      REQUIRE(r.map);
      CHECK(r.map->filesystem().rfind("ext", 0) == 0);

      std::string stats;
      REQUIRE(run(t.debugfs + " -R stats " + quote(img), &stats) == 0);
      uint64_t bs = std::stoull(stats.substr(stats.find(':', stats.find("Block size")) + 1));
      uint64_t blocks = std::stoull(stats.substr(stats.find(':', stats.find("Block count")) + 1));
      uint64_t free_blocks =
          std::stoull(stats.substr(stats.find(':', stats.find("Free blocks")) + 1));
      // Used = what e2fsprogs counts used (block 0 of 1 KiB-block filesystems included).
      CHECK(r.map->used_bytes() == (blocks - free_blocks) * bs);

      for (const auto& [name, content] : files) {
        for (uint64_t b : file_blocks(t, img, name)) {
          INFO(name << " block " << b);
          CHECK(covered(*r.map, b * bs, bs));
        }
      }
      uint64_t deleted_used = 0;
      for (uint64_t b : deleted_blocks) deleted_used += r.map->any_used(b * bs, bs) ? 1 : 0;
      CHECK(deleted_used == 0);

      // Restore-equivalent: the image with free ranges zeroed passes e2fsck and yields
      // every file.
      auto masked = dir.path() / "masked.img";
      write_file(masked, masked_copy(read_file(img), *r.map));
      CHECK(run(t.e2fsck + " -fn " + quote(masked)) == 0);
      for (const auto& [name, content] : files) {
        auto out = dir.path() / "dump.out";
        REQUIRE(run(t.debugfs + " -R " + quote("dump /" + name + " " + out.string()) + " " +
                    quote(masked)) == 0);
        bool same = read_file(out) == content;
        INFO(name);
        CHECK(same);
      }
    }
  }
}

TEST_CASE("ext: damaged, unclean or inconsistent filesystems fall back to all blocks",
          "[fs][ext]") {
  ExtTools t;
  if (!t.ok()) {
    WARN("skipped: e2fsprogs not found");
    return;
  }
  TempDir dir;
  auto tree = dir.path() / "tree";
  std::filesystem::create_directories(tree);
  write_file(tree / "a.bin", random_bytes(200000, 7));
  auto img = dir.path() / "ext.img";
  REQUIRE(run(t.mkfs + " -q -F -d " + quote(tree) + " " + quote(img) + " 16M") == 0);

  auto expect_fallback = [&](const std::vector<uint8_t>& b, const char* why) {
    MemorySource src(b);
    AllocationResult r = read_allocation_map(src);
    INFO(why << ": " << r.note);
    CHECK_FALSE(r.map);
    CHECK(r.note.find("imaging all blocks") != std::string::npos);
  };
  auto debugfs_variant = [&](const std::string& cmd) {
    auto copy = dir.path() / "variant.img";
    std::filesystem::copy_file(img, copy, std::filesystem::copy_options::overwrite_existing);
    REQUIRE(run(t.debugfs + " -w -R " + quote(cmd) + " " + quote(copy)) == 0);
    return read_file(copy);
  };

  const std::vector<uint8_t> pristine = read_file(img);
  {
    MemorySource src(pristine, 4096);  // also: reads honour an unbuffered source's alignment
    REQUIRE(read_allocation_map(src).map);
  }
  auto damaged = pristine;
  set_u32(damaged.data() + 1024 + 4, 0x7FFFFFFF);  // block count beyond the source
  expect_fallback(damaged, "block count beyond source");
  damaged = pristine;
  set_u32(damaged.data() + 1024 + 24, 9);  // 512 KiB blocks
  expect_fallback(damaged, "block size");
  damaged = pristine;
  std::fill_n(damaged.begin() + 1024, 1024, 0xFF);
  damaged[1024 + 56] = 0x53;
  damaged[1024 + 57] = 0xEF;
  expect_fallback(damaged, "garbage superblock with ext magic");
  expect_fallback(debugfs_variant("feature needs_recovery"), "journal needs recovery");
  expect_fallback(debugfs_variant("ssv state 0"), "not cleanly unmounted");
  expect_fallback(debugfs_variant("ssv state 3"), "errors recorded");
  expect_fallback(debugfs_variant("set_bg 0 free_blocks_count 1"),
                  "group free count disagrees with bitmap");
  expect_fallback(debugfs_variant("ssv free_blocks_count 5"), "superblock free count disagrees");
  damaged = pristine;
  damaged[2048 + 0x1E] ^= 0xFF;  // bg_checksum of group 0 (1 KiB blocks: table at block 2)
  expect_fallback(damaged, "group descriptor checksum");
  expect_fallback(debugfs_variant("set_bg 1 block_bitmap 3"), "bitmap outside its group");

  // A block bitmap byte flipped: the bitmap checksum (metadata_csum) or the free counts
  // must catch it. 16 MiB default mkfs: 1 KiB blocks, group 0's bitmap location from stats.
  std::string stats;
  REQUIRE(run(t.debugfs + " -R stats " + quote(img), &stats) == 0);
  auto at = stats.find("block bitmap at ");
  REQUIRE(at != std::string::npos);
  uint64_t bitmap_block = std::stoull(stats.substr(at + 16));
  damaged = pristine;
  damaged[bitmap_block * 1024 + 100] ^= 0x5A;
  expect_fallback(damaged, "block bitmap corrupted");
}

TEST_CASE("unknown filesystems and tiny sources are imaged whole", "[fs]") {
  MemorySource zeros(std::vector<uint8_t>(1 << 20, 0));
  AllocationResult r = read_allocation_map(zeros);
  CHECK_FALSE(r.map);
  CHECK(r.note == "unknown filesystem: imaging all blocks");
  MemorySource tiny(std::vector<uint8_t>(1000, 0));
  CHECK_FALSE(read_allocation_map(tiny).map);
}
