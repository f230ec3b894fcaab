// NTFS allocation maps on images made by mkntfs and filled with ntfscp; free space is
// then overwritten with a pattern by ntfswipe, so "free" in the map can be checked
// byte for byte, and files are read back with ntfscat from an image whose free ranges
// were zeroed (what a restore of a used-blocks-only backup produces).
#include "core/base/bytes.hpp"
#include "core/fs/fs_detect.hpp"
#include "core/fs/fs_ntfs_record.hpp"
#include "core/fs/fs_ntfs_runlist.hpp"
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

namespace {

void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

// An attribute whose runlist is `pairs`, covering VCNs [lowest, highest].
ntfs::Attribute runlist_attribute(const std::vector<uint8_t>& pairs, uint64_t lowest,
                                  uint64_t highest) {
  ntfs::Attribute a;
  a.non_resident = true;
  a.lowest_vcn = lowest;
  a.highest_vcn = highest;
  a.mapping_pairs = pairs.data();
  a.mapping_pairs_len = pairs.size();
  return a;
}

// The rejection message of f, or "accepted".
std::string rejection(const std::function<void()>& f) {
  try {
    f();
  } catch (const FsRejected& e) {
    return e.what();
  }
  return "accepted";
}

std::string runlist_rejection(const std::vector<uint8_t>& pairs, uint64_t lowest, uint64_t highest,
                              uint64_t total_clusters = 100) {
  return rejection([&] {
    ntfs::decode_runlist(runlist_attribute(pairs, lowest, highest), total_clusters, "t");
  });
}

}  // namespace

TEST_CASE("NTFS runlist: canned mapping pairs decode to runs", "[fs][ntfs][runlist]") {
  // 16 clusters at LCN 0x20; 4 sparse; 8 at 0x20 - 0x10 (a negative delta, relative to
  // the last stored run); 256 at +0x10000 (multi-byte fields, little-endian).
  const std::vector<uint8_t> pairs = {0x11, 0x10, 0x20, 0x01, 0x04, 0x11, 0x08, 0xF0,
                                      0x32, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00};
  std::vector<ntfs::Run> runs = ntfs::decode_runlist(runlist_attribute(pairs, 0, 283), 100000, "t");
  REQUIRE(runs.size() == 4);
  CHECK((runs[0].vcn == 0 && runs[0].lcn == 0x20 && runs[0].length == 16 && !runs[0].sparse));
  CHECK((runs[1].vcn == 16 && runs[1].length == 4 && runs[1].sparse));
  CHECK((runs[2].vcn == 20 && runs[2].lcn == 0x10 && runs[2].length == 8 && !runs[2].sparse));
  CHECK((runs[3].vcn == 28 && runs[3].lcn == 0x10010 && runs[3].length == 256));

  // A segment starting past VCN 0 keeps its VCNs.
  runs = ntfs::decode_runlist(runlist_attribute({0x11, 0x04, 0x05, 0x00}, 10, 13), 100, "t");
  REQUIRE(runs.size() == 1);
  CHECK((runs[0].vcn == 10 && runs[0].lcn == 5));

  // An empty attribute: highest VCN -1, no runs.
  CHECK(ntfs::decode_runlist(runlist_attribute({0x00}, 0, UINT64_MAX), 100, "t").empty());
}

TEST_CASE("NTFS runlist: damaged mapping pairs are rejected", "[fs][ntfs][runlist]") {
  CHECK(runlist_rejection({0x11, 0x10, 0x20}, 0, 15) == "t: runlist has no terminator");
  CHECK(runlist_rejection({}, 0, 15) == "t: runlist has no terminator");
  CHECK(runlist_rejection({0x10, 0x05, 0x00}, 0, 4) == "t: runlist entry header 0x10 invalid");
  CHECK(runlist_rejection({0x19, 0x05, 0x00}, 0, 4) == "t: runlist entry header 0x19 invalid");
  CHECK(runlist_rejection({0x44, 0x01}, 0, 0) == "t: runlist entry header 0x44 invalid");
  CHECK(runlist_rejection({0x11, 0x00, 0x20, 0x00}, 0, 0) == "t: run length 0 invalid");
  CHECK(runlist_rejection({0x01, 0x65, 0x00}, 0, 100) == "t: run length 101 invalid");
  CHECK(runlist_rejection({0x11, 0x04, 0xFF, 0x00}, 0, 3) == "t: run LCN outside the volume");
  CHECK(runlist_rejection({0x11, 0x04, 0x64, 0x00}, 0, 3) == "t: run LCN outside the volume");
  // 8-byte deltas are taken as they are, not sign-extended: -1 and INT64_MIN.
  CHECK(runlist_rejection({0x81, 0x04, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00}, 0,
                          3) == "t: run LCN outside the volume");
  CHECK(runlist_rejection({0x81, 0x04, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x00}, 0, 3) ==
        "t: run LCN outside the volume");
  CHECK(runlist_rejection({0x11, 0x10, 0x60, 0x00}, 0, 15) ==
        "t: run at cluster 96 (+16) outside the volume");
  CHECK(runlist_rejection({0x11, 0x10, 0x20, 0x00}, 0, 7) ==
        "t: runlist longer than highest VCN 7");
  CHECK(runlist_rejection({0x11, 0x04, 0x20, 0x00}, 0, 15) ==
        "t: runlist ends at VCN 4, attribute says 16");
  CHECK(runlist_rejection({0x00}, 5, 2) == "t: VCN range 5..2 invalid");
  CHECK(runlist_rejection({0x00}, 0, uint64_t{1} << 40) == "t: VCN range 0..1099511627776 invalid");
}

TEST_CASE("NTFS record: fixups restored and attributes listed from a canned record", "[fs][ntfs]") {
  // A 1024-byte NTFS 3.1 record 7: update sequence array at 0x30 (number 1, saved tails
  // AB CD and 12 34), one resident $DATA "hello" at 0x38, the end marker at 0x58.
  std::vector<uint8_t> rec(1024, 0);
  std::memcpy(rec.data(), "FILE", 4);
  put_u16(rec.data() + 0x04, 0x30);
  put_u16(rec.data() + 0x06, 3);
  put_u16(rec.data() + 0x14, 0x38);
  put_u16(rec.data() + 0x16, 0x0001);  // in use
  set_u32(rec.data() + 0x18, 0x60);
  set_u32(rec.data() + 0x2C, 7);
  put_u16(rec.data() + 0x30, 1);
  put_u16(rec.data() + 0x32, 0xCDAB);
  put_u16(rec.data() + 0x34, 0x3412);
  put_u16(rec.data() + 510, 1);
  put_u16(rec.data() + 1022, 1);
  uint8_t* a = rec.data() + 0x38;
  set_u32(a, 0x80);
  set_u32(a + 4, 0x20);
  put_u16(a + 10, 0x18);
  set_u32(a + 0x10, 5);
  put_u16(a + 0x14, 0x18);
  std::memcpy(a + 0x18, "hello", 5);
  set_u32(rec.data() + 0x58, 0xFFFFFFFF);

  {
    std::vector<uint8_t> torn = rec;
    torn[1022] = 2;
    CHECK(rejection([&] { ntfs::apply_fixups(torn, "FILE", "t"); }) ==
          "t: torn write (update sequence mismatch)");
    CHECK(rejection([&] { ntfs::apply_fixups(torn, "RSTR", "t"); }) == "t: no 'RSTR' signature");
  }
  ntfs::apply_fixups(rec, "FILE", "t");
  CHECK((rec[510] == 0xAB && rec[511] == 0xCD && rec[1022] == 0x12 && rec[1023] == 0x34));

  std::vector<ntfs::Attribute> attrs = ntfs::record_attributes(rec, 7, "t");
  REQUIRE(attrs.size() == 1);
  CHECK(attrs[0].type == 0x80);
  CHECK_FALSE(attrs[0].non_resident);
  REQUIRE(attrs[0].value_length == 5);
  CHECK(std::memcmp(attrs[0].value, "hello", 5) == 0);

  CHECK(rejection([&] { ntfs::record_attributes(rec, 8, "t"); }) == "t: holds record number 7");
  set_u32(a + 4, 0x21);
  CHECK(rejection([&] { ntfs::record_attributes(rec, 7, "t"); }) ==
        "t: attribute 0x80 has bad length 33");
  set_u32(a + 4, 0x20);
  set_u32(a + 0x10, 9);
  CHECK(rejection([&] { ntfs::record_attributes(rec, 7, "t"); }) ==
        "t: resident value past its attribute");
}
