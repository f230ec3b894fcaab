// The portable parts of the Windows allocation map (core/fs/fs_windows.hpp) on canned
// FSCTL buffers: continuation on ERROR_MORE_DATA, the checks that refuse a bitmap which
// could hide used clusters, and clearing only the paging files' own extents.
#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/fs/fs_windows.hpp"

#include "tests/catch.hpp"
#include "tests/core/winbuffer_builders.hpp"
#include "tests/helpers.hpp"

#include <functional>
#include <vector>

using namespace vssimg;
using vssimg::test::bitmap_buffer;
using vssimg::test::pointers_buffer;

namespace {

// Answers successive FSCTL calls from a script and records the start each was asked for.
struct Script {
  std::vector<FsctlChunk> chunks;
  std::vector<uint64_t> asked;
  FsctlChunk operator()(uint64_t start) {
    asked.push_back(start);
    REQUIRE(asked.size() <= chunks.size());
    return chunks[asked.size() - 1];
  }
};

constexpr uint32_t k_cs = 4096;

}  // namespace

TEST_CASE("Windows volume bitmap: ERROR_MORE_DATA continues at next_lcn and merges",
          "[fs][winalloc]") {
  // 24 clusters in three calls of 8 bits each: clusters 6,7 | 8,9 | 23 used.
  Script s;
  s.chunks = {{bitmap_buffer(0, 24, {0xC0}), true},
              {bitmap_buffer(8, 16, {0x03}), true},
              {bitmap_buffer(16, 8, {0x80}), false}};
  uint64_t clusters = 0;
  auto used = collect_volume_bitmap(std::ref(s), k_cs, clusters);
  CHECK(s.asked == std::vector<uint64_t>{0, 8, 16});
  CHECK(clusters == 24);
  AllocationMap map("ntfs", 24 * k_cs, used);
  REQUIRE(map.used().size() == 2);
  CHECK(map.used()[0].offset == 6 * k_cs);
  CHECK(map.used()[0].length == 4 * k_cs);  // across the call boundary
  CHECK(map.used()[1].offset == 23 * k_cs);
}

TEST_CASE("Windows volume bitmap: starts rounded down are accepted, gaps and stalls refused",
          "[fs][winalloc]") {
  uint64_t clusters = 0;
  SECTION("rounded down to a byte") {
    // The first call ends at LCN 12; the second, asked for 12, answers from LCN 8.
    Script s;
    s.chunks = {{bitmap_buffer(0, 12, {0x00, 0x00}), true}, {bitmap_buffer(8, 8, {0x10}), false}};
    auto used = collect_volume_bitmap(std::ref(s), k_cs, clusters);
    CHECK(s.asked == std::vector<uint64_t>{0, 12});
    REQUIRE(used.size() == 1);
    CHECK(used[0].offset == 12 * k_cs);
    CHECK(clusters == 16);
  }
  SECTION("a start past the one asked for would hide clusters") {
    Script s;
    s.chunks = {{bitmap_buffer(0, 32, {0x00}), true}, {bitmap_buffer(16, 16, {0xFF, 0xFF}), false}};
    CHECK_THROWS_AS(collect_volume_bitmap(std::ref(s), k_cs, clusters), Error);
  }
  SECTION("a start far below the one asked for") {
    Script s;
    s.chunks = {{bitmap_buffer(0, 64, {0x00, 0x00}), true}, {bitmap_buffer(0, 64, {0xFF}), false}};
    CHECK_THROWS_AS(collect_volume_bitmap(std::ref(s), k_cs, clusters), Error);
  }
  SECTION("ERROR_MORE_DATA with no bits") {
    Script s;
    s.chunks = {{bitmap_buffer(0, 64, {}), true}};
    CHECK_THROWS_AS(collect_volume_bitmap(std::ref(s), k_cs, clusters), Error);
  }
  SECTION("a short header") {
    Script s;
    s.chunks = {{std::vector<uint8_t>(8, 0), false}};
    CHECK_THROWS_AS(collect_volume_bitmap(std::ref(s), k_cs, clusters), Error);
  }
}

TEST_CASE("Windows retrieval pointers: continuation, sparse extents, stalls", "[fs][winalloc]") {
  Script s;
  // VCN 0-3 at LCN 100, VCN 4-5 sparse; then VCN 6-9 at LCN 50.
  s.chunks = {{pointers_buffer(0, {{4, 100}, {6, -1}}), true},
              {pointers_buffer(6, {{10, 50}}), false}};
  auto extents = collect_retrieval_pointers(std::ref(s), k_cs);
  CHECK(s.asked == std::vector<uint64_t>{0, 6});
  REQUIRE(extents.size() == 2);
  CHECK(extents[0].offset == 100 * k_cs);
  CHECK(extents[0].length == 4 * k_cs);
  CHECK(extents[1].offset == 50 * k_cs);
  CHECK(extents[1].length == 4 * k_cs);

  Script empty;  // what the Windows code hands over for ERROR_HANDLE_EOF (no clusters)
  empty.chunks = {{std::vector<uint8_t>(16, 0), false}};
  CHECK(collect_retrieval_pointers(std::ref(empty), k_cs).empty());

  Script stall;
  stall.chunks = {{pointers_buffer(0, {}), true}};
  CHECK_THROWS_AS(collect_retrieval_pointers(std::ref(stall), k_cs), Error);
}

TEST_CASE("Windows allocation: paging files cleared, nothing else", "[fs][winalloc]") {
  // 100 clusters, volume one sector longer (NTFS backup boot sector past the last cluster).
  const uint64_t size = 100 * k_cs + 512;
  std::vector<ByteRange> used = {{0, 10 * k_cs}, {20 * k_cs, 60 * k_cs}};  // 0-9, 20-79
  std::vector<ExcludedFile> files = {
      {"pagefile.sys",
       {{30 * k_cs, 10 * k_cs}, {70 * k_cs, 20 * k_cs}}},  // 30-39, 70-89 (80-89 free)
      {"hiberfil.sys", {}},
  };
  WindowsAllocation w = combine_windows_allocation("ntfs", size, k_cs, 100, used, files);
  REQUIRE(w.result.map);
  CHECK_FALSE(w.fsctl_failed);
  const auto& m = *w.result.map;
  CHECK(w.excluded_bytes == 20 * k_cs);  // 30-39 and 70-79: only clusters that were used
  CHECK(m.any_used(0, 512));             // boot sector
  CHECK(m.any_used(29 * k_cs, k_cs));    // the neighbours of the file's extents stay
  CHECK_FALSE(m.any_used(30 * k_cs, 10 * k_cs));
  CHECK(m.any_used(40 * k_cs, k_cs));
  CHECK(m.any_used(69 * k_cs, k_cs));
  CHECK_FALSE(m.any_used(70 * k_cs, 30 * k_cs));
  CHECK(m.any_used(100 * k_cs, 512));  // past the last cluster: always read
  CHECK(m.used_bytes() == 10 * k_cs + 40 * k_cs + 512);
  CHECK(w.result.note.find("pagefile.sys") != std::string::npos);
}

TEST_CASE("Windows allocation: extents that are not the file's are not trusted", "[fs][winalloc]") {
  const uint64_t size = 100 * k_cs;
  std::vector<ByteRange> used = {{0, 100 * k_cs}};
  SECTION("an extent over the boot sector") {
    std::vector<ExcludedFile> files = {{"pagefile.sys", {{50 * k_cs, k_cs}, {0, 4 * k_cs}}}};
    WindowsAllocation w = combine_windows_allocation("ntfs", size, k_cs, 100, used, files);
    REQUIRE(w.result.map);
    CHECK(w.excluded_bytes == 0);
    CHECK(w.result.map->used_bytes() == size);  // not even the plausible extent is cleared
    CHECK(w.result.note.find("kept pagefile.sys") != std::string::npos);
  }
  SECTION("an extent past the last cluster") {
    std::vector<ExcludedFile> files = {{"swapfile.sys", {{90 * k_cs, 20 * k_cs}}}};
    WindowsAllocation w = combine_windows_allocation("ntfs", size, k_cs, 100, used, files);
    REQUIRE(w.result.map);
    CHECK(w.excluded_bytes == 0);
    CHECK(w.result.map->used_bytes() == size);
  }
  SECTION("a bitmap larger than the volume gives no map") {
    WindowsAllocation w = combine_windows_allocation("refs", size, k_cs, 101, used, {});
    CHECK_FALSE(w.result.map);
    CHECK(w.fsctl_failed);
  }
  SECTION("a bitmap that marks the boot sector free still reads it") {
    WindowsAllocation w =
        combine_windows_allocation("ntfs", size, k_cs, 100, {{50 * k_cs, k_cs}}, {});
    REQUIRE(w.result.map);
    CHECK(w.result.map->any_used(0, 512));
    CHECK(w.result.map->used_bytes() == 8192 + k_cs);  // boot area (8 KiB) and cluster 50
  }
}

TEST_CASE("Windows allocation: an image file is not a Windows volume", "[fs][winalloc]") {
  test::TempDir dir;
  auto path = dir / "disk.img";
  test::write_file(path, std::vector<uint8_t>(64 * 1024, 0));
  auto source = open_block_source(path.string());
  WindowsAllocation w = read_windows_allocation(*source, false);
  CHECK_FALSE(w.result.map);
  CHECK_FALSE(w.fsctl_failed);
  CHECK(w.result.note == "not a Windows volume");
}
