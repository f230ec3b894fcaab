// NTFS allocation maps on images made by mkntfs and filled with ntfscp; free space is
// then overwritten with a pattern by ntfswipe, so "free" in the map can be checked
// byte for byte, and files are read back with ntfscat from an image whose free ranges
// were zeroed (what a restore of a used-blocks-only backup produces).
#include "core/base/bytes.hpp"
#include "core/fs/fs_detect.hpp"
#include "tests/core/fs_test_util.hpp"

#include "tests/catch.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>

using namespace vssimg;
using namespace vssimg::fs_test;

namespace {

struct NtfsTools {
  std::string mkntfs = find_tool("mkntfs");
  std::string ntfscp = find_tool("ntfscp");
  std::string ntfscat = find_tool("ntfscat");
  std::string ntfswipe = find_tool("ntfswipe");
  std::string ntfscluster = find_tool("ntfscluster");
  bool ok() const {
    return !mkntfs.empty() && !ntfscp.empty() && !ntfscat.empty() && !ntfswipe.empty() &&
           !ntfscluster.empty();
  }
};

// A 64 MiB NTFS image with files of assorted sizes (resident, small, fragmented-ish,
// large); returns the files by name.
std::map<std::string, std::vector<uint8_t>> make_ntfs(const NtfsTools& t, const TempDir& dir,
                                                      const std::string& extra_mkntfs = "") {
  auto img = dir.path() / "ntfs.img";
  REQUIRE(run("truncate -s 64M " + quote(img)) == 0);
  REQUIRE(run(t.mkntfs + " -F -Q -q " + extra_mkntfs + " " + quote(img)) == 0);
  std::map<std::string, std::vector<uint8_t>> files;
  const size_t sizes[] = {0, 300, 5000, 70000, 1 << 20, 5 << 20, 123457};
  uint32_t seed = 1;
  for (size_t size : sizes) {
    std::string name = "f" + std::to_string(seed) + ".bin";
    files[name] = random_bytes(size, seed++);
    write_file(dir.path() / name, files[name]);
    REQUIRE(run(t.ntfscp + " -f " + quote(img) + " " + quote(dir.path() / name) + " " + name) == 0);
  }
  // Free space gets a non-zero pattern: anything the map calls free must hold it.
  REQUIRE(run(t.ntfswipe + " -f -q --unused --bytes 0xAA " + quote(img)) == 0);
  return files;
}

uint64_t ntfscluster_free_clusters(const NtfsTools& t, const std::filesystem::path& img) {
  std::string out;
  REQUIRE(run(t.ntfscluster + " -f " + quote(img), &out) == 0);
  auto pos = out.find("clusters of free space");
  REQUIRE(pos != std::string::npos);
  return std::stoull(out.substr(out.find(':', pos) + 1));
}

}  // namespace

TEST_CASE("NTFS: map covers every file, free bytes are exactly ntfs free space", "[fs][ntfs]") {
  NtfsTools t;
  if (!t.ok()) {
    WARN("skipped: mkntfs/ntfscp/ntfscat/ntfswipe/ntfscluster not found (Debian package ntfs-3g)");
    return;
  }
  for (const char* opts : {"", "-c 512", "-c 65536"}) {
    DYNAMIC_SECTION("mkntfs " << opts) {
      TempDir dir;
      auto files = make_ntfs(t, dir, opts);
      auto img = dir.path() / "ntfs.img";
      auto src = open_block_source(img.string());
      AllocationResult r = read_allocation_map(*src);
      INFO(r.note);
      REQUIRE(r.map);
      CHECK(r.map->filesystem() == "ntfs");

      std::vector<uint8_t> bytes = read_file(img);
      std::vector<uint8_t> masked(bytes.size(), 0);
      for (const ByteRange& u : r.map->used()) {
        std::copy_n(bytes.begin() + static_cast<ptrdiff_t>(u.offset), u.length,
                    masked.begin() + static_cast<ptrdiff_t>(u.offset));
      }
      // Every byte the map calls free holds ntfswipe's pattern: nothing in use is skipped.
      uint64_t free_not_pattern = 0;
      uint64_t pos = 0;
      auto count_gap = [&](uint64_t end) {
        free_not_pattern += static_cast<uint64_t>(std::count_if(
            bytes.begin() + static_cast<ptrdiff_t>(pos),
            bytes.begin() + static_cast<ptrdiff_t>(end), [](uint8_t c) { return c != 0xAA; }));
      };
      for (const ByteRange& u : r.map->used()) {
        count_gap(u.offset);
        pos = u.end();
      }
      count_gap(bytes.size());
      CHECK(free_not_pattern == 0);
      CHECK(r.map->used_bytes() < bytes.size() / 2);  // 64 MiB with ~12 MiB of files

      // Same used size as ntfs-3g's own count, plus the sectors after the last cluster
      // (the backup boot sector).
      uint32_t cluster = static_cast<uint32_t>(get_u16(bytes.data() + 0x0B)) * bytes[0x0D];
      uint64_t total_clusters = get_u64(bytes.data() + 0x28) / bytes[0x0D];
      uint64_t used_clusters = total_clusters - ntfscluster_free_clusters(t, img);
      CHECK(r.map->used_bytes() ==
            used_clusters * cluster + (bytes.size() - total_clusters * cluster));

      // Restore-equivalent: the image with free ranges zeroed still yields every file.
      auto masked_img = dir.path() / "masked.img";
      write_file(masked_img, masked);
      for (const auto& [name, content] : files) {
        std::string out;
        REQUIRE(run(t.ntfscat + " " + quote(masked_img) + " " + name, &out) == 0);
        // Not CHECK(a == b): Catch would print MiBs on failure.
        bool same = out.size() == content.size() &&
                    std::equal(content.begin(), content.end(),
                               reinterpret_cast<const uint8_t*>(out.data()));
        INFO(name);
        CHECK(same);
      }
    }
  }
}

TEST_CASE("NTFS: damaged structures fall back to all blocks without crashing", "[fs][ntfs]") {
  NtfsTools t;
  if (!t.ok()) {
    WARN("skipped: ntfs-3g tools not found (Debian package ntfs-3g)");
    return;
  }
  TempDir dir;
  make_ntfs(t, dir);
  const std::vector<uint8_t> pristine = read_file(dir.path() / "ntfs.img");
  const uint64_t cluster = uint64_t{get_u16(pristine.data() + 0x0B)} * pristine[0x0D];
  const uint64_t mft = get_u64(pristine.data() + 0x30) * cluster;
  const uint64_t record6 = mft + 6 * 1024;
  // Offset of record 6's unnamed $DATA attribute header.
  auto data_attr = [&](const std::vector<uint8_t>& b) {
    size_t off = record6 + get_u16(b.data() + record6 + 0x14);
    while (get_u32(b.data() + off) != 0x80) off += get_u32(b.data() + off + 4);
    return off;
  };

  auto expect_fallback = [&](const std::function<void(std::vector<uint8_t>&)>& damage,
                             const char* why) {
    std::vector<uint8_t> b = pristine;
    damage(b);
    MemorySource src(std::move(b));
    AllocationResult r = read_allocation_map(src);
    INFO(why << ": " << r.note);
    CHECK_FALSE(r.map);
    CHECK(r.note.find("imaging all blocks") != std::string::npos);
  };

  {
    MemorySource src(pristine);
    REQUIRE(read_allocation_map(src).map);  // the damage below is what makes it fail
  }
  // $LogFile: mkntfs leaves it reset (all 0xFF). Write a restart page into its first
  // cluster: a log with a client in use and no "clean" flag must reject the map.
  auto write_restart_page = [&](std::vector<uint8_t>& b, uint16_t in_use_list, uint16_t flags) {
    size_t rec2 = mft + 2 * 1024;
    size_t a = rec2 + get_u16(b.data() + rec2 + 0x14);
    while (get_u32(b.data() + a) != 0x80) a += get_u32(b.data() + a + 4);
    size_t mp = a + get_u16(b.data() + a + 32);
    uint8_t h = b[mp];
    uint64_t lcn = 0;
    for (int k = 0; k < (h >> 4); ++k) lcn |= uint64_t{b[mp + 1 + (h & 15) + k]} << (8 * k);
    uint8_t* page = b.data() + lcn * cluster;
    std::fill_n(page, 4096, 0);
    std::memcpy(page, "RSTR", 4);
    page[4] = 0x1E;  // update sequence array offset
    page[6] = 9;     // 4096 / 512 + 1 entries
    set_u32(page + 0x10, 4096);
    set_u32(page + 0x14, 4096);
    page[0x18] = 0x40;  // restart area offset
    page[0x1E] = 1;     // update sequence number; saved tails stay 0
    for (int i = 1; i <= 8; ++i) page[i * 512 - 2] = 1;
    page[0x40 + 0x0C] = static_cast<uint8_t>(in_use_list);
    page[0x40 + 0x0D] = static_cast<uint8_t>(in_use_list >> 8);
    page[0x40 + 0x0E] = static_cast<uint8_t>(flags);
  };
  {
    std::vector<uint8_t> b = pristine;
    write_restart_page(b, 0xFFFF, 0);  // no client in use: clean
    MemorySource src(std::move(b));
    AllocationResult r = read_allocation_map(src);
    INFO(r.note);
    CHECK(r.map);
  }
  {
    std::vector<uint8_t> b = pristine;
    write_restart_page(b, 0, 0x0002);  // client in use, volume-is-clean flag set
    MemorySource src(std::move(b));
    CHECK(read_allocation_map(src).map);
  }
  expect_fallback([&](auto& b) { write_restart_page(b, 0, 0); }, "$LogFile not clean");
  expect_fallback([](auto& b) { b[3] = 'X'; }, "no NTFS signature");
  expect_fallback(
      [](auto& b) {
        b[0x0B] = 0x00;
        b[0x0C] = 0x03;
      },
      "768-byte sectors");
  expect_fallback([](auto& b) { set_u64(b.data() + 0x28, UINT64_MAX / 2); },
                  "volume larger than source");
  expect_fallback([](auto& b) { set_u64(b.data() + 0x30, 1'000'000); }, "MFT outside volume");
  expect_fallback([&](auto& b) { b[record6 + 510] ^= 0xFF; }, "torn MFT record (fixup mismatch)");
  expect_fallback(
      [&](auto& b) {
        size_t a = data_attr(b);
        size_t mp = a + get_u16(b.data() + a + 32);
        b[mp] = 0x44;                            // 4-byte length, 4-byte offset...
        set_u32(b.data() + mp + 1, 0x7FFFFFFF);  // ...far beyond the volume
      },
      "runlist beyond the volume");
  expect_fallback(
      [&](auto& b) {
        size_t a = data_attr(b);
        b[a + get_u16(b.data() + a + 32)] = 0x00;  // empty runlist
      },
      "runlist shorter than highest VCN");
  expect_fallback(
      [&](auto& b) {
        size_t a = data_attr(b);
        set_u64(b.data() + a + 48, 1);  // data size 1 byte: too few bits for the clusters
      },
      "bitmap too short");
  expect_fallback(
      [&](auto& b) {
        size_t a = data_attr(b);
        size_t mp = a + get_u16(b.data() + a + 32);
        uint8_t h = b[mp];
        uint64_t lcn = 0;
        for (int k = 0; k < (h >> 4); ++k) lcn |= uint64_t{b[mp + 1 + (h & 15) + k]} << (8 * k);
        std::fill_n(b.begin() + static_cast<ptrdiff_t>(lcn * cluster), 16,
                    0);  // boot/MFT bits cleared
      },
      "bitmap marks its own metadata free");
}
