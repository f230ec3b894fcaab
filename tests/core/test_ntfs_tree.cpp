// The NTFS FileTree on images made by mkntfs and ntfscp: lookups (case-insensitive,
// missing names), listings, file contents from resident to fragmented, and damaged
// records, which must end in Error(damage), never a crash. tests/cli/test_ls_extract.sh
// covers the rest (directories, streams, sparse and compressed files) through the CLI.
#include "core/base/error.hpp"
#include "core/fs/file_tree.hpp"
#include "core/source/block_source.hpp"
#include "tests/core/fs_test_util.hpp"

#include "tests/catch.hpp"

#include <map>

using namespace vssimg;
using namespace vssimg::fs_test;

namespace {

struct NtfsImage {
  TempDir dir;
  std::filesystem::path img = dir.path() / "ntfs.img";
  std::map<std::string, std::vector<uint8_t>> files;
  bool ok = false;

  NtfsImage() {
    const std::string mkntfs = find_tool("mkntfs"), ntfscp = find_tool("ntfscp");
    if (mkntfs.empty() || ntfscp.empty()) return;
    REQUIRE(run("truncate -s 32M " + quote(img)) == 0);
    REQUIRE(run(mkntfs + " -F -Q -q " + quote(img)) == 0);
    uint32_t seed = 1;
    for (size_t size : {size_t{0}, size_t{17}, size_t{900}, size_t{5000}, size_t{3 << 20}}) {
      const std::string name = "File" + std::to_string(seed) + ".bin";
      files[name] = random_bytes(size, seed++);
      write_file(dir.path() / name, files[name]);
      REQUIRE(run(ntfscp + " -f " + quote(img) + " " + quote(dir.path() / name) + " " + name) == 0);
    }
    ok = true;
  }
};

std::vector<uint8_t> contents(FileTree& tree, const TreeEntry& e) {
  std::vector<uint8_t> out(e.size);
  tree.read(e, "", [&](uint64_t off, const uint8_t* d, size_t n) {
    REQUIRE(off + n <= out.size());
    std::copy(d, d + n, out.begin() + static_cast<ptrdiff_t>(off));
  });
  return out;
}

}  // namespace

TEST_CASE("NTFS tree: list, case-insensitive lookup, contents", "[ntfs][tree]") {
  NtfsImage image;
  if (!image.ok) {
    WARN("skipped: mkntfs/ntfscp not found (Debian package ntfs-3g)");
    return;
  }
  auto src = open_block_source(image.img.string());
  std::unique_ptr<FileTree> tree = open_file_tree(*src);
  REQUIRE(tree->filesystem() == "NTFS");
  TreeEntry root = tree->root();
  CHECK(root.type == EntryType::directory);
  std::vector<TreeEntry> entries = tree->list(root);
  REQUIRE(entries.size() == image.files.size());  // no $MFT, no "."
  for (const TreeEntry& e : entries) {
    INFO(e.name);
    REQUIRE(image.files.count(e.name) == 1);
    CHECK(e.type == EntryType::file);
    CHECK(e.size == image.files[e.name].size());
    CHECK(e.modified_ns > 1600000000LL * 1000000000LL);
    CHECK(contents(*tree, e) == image.files[e.name]);
  }
  auto upper = tree->lookup({"FILE5.BIN"});
  REQUIRE(upper);
  CHECK(upper->name == "File5.bin");
  CHECK(contents(*tree, *upper) == image.files["File5.bin"]);
  CHECK_FALSE(tree->lookup({"missing"}));
  CHECK_FALSE(tree->lookup({"File2.bin", "below-a-file"}));
  CHECK_THROWS_AS(tree->read(*upper, "nope", [](uint64_t, const uint8_t*, size_t) {}), Error);
}

TEST_CASE("NTFS tree: a torn file record is damage naming the record", "[ntfs][tree]") {
  NtfsImage image;
  if (!image.ok) {
    WARN("skipped: mkntfs/ntfscp not found (Debian package ntfs-3g)");
    return;
  }
  std::vector<uint8_t> bytes = read_file(image.img);
  MemorySource clean(bytes);
  auto tree = open_file_tree(clean);
  auto entry = tree->lookup({"File3.bin"});
  REQUIRE(entry);
  // The record of File3.bin: $MFT starts at the boot sector's cluster, 1 KiB records.
  const uint64_t cluster = static_cast<uint64_t>(bytes[11] | (bytes[12] << 8)) * bytes[13];
  uint64_t mft = 0;
  for (int i = 7; i >= 0; --i) mft = (mft << 8) | bytes[0x30 + static_cast<size_t>(i)];
  bytes[mft * cluster + entry->id * 1024 + 510] ^= 0xFF;
  MemorySource damaged(bytes);
  auto tree2 = open_file_tree(damaged);
  try {
    tree2->lookup({"File3.bin"});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
    CHECK(std::string(e.what()).find("MFT record " + std::to_string(entry->id)) !=
          std::string::npos);
  }
  CHECK_THROWS_AS(tree2->list(tree2->root()), Error);
  CHECK(tree2->lookup({"File2.bin"}));  // the rest of the volume still reads
}

TEST_CASE("NTFS tree: not NTFS is nullptr, a damaged boot sector is damage", "[ntfs][tree]") {
  std::vector<uint8_t> zeros(1 << 20);
  MemorySource blank(zeros);
  CHECK(open_ntfs_tree(blank) == nullptr);
  std::memcpy(zeros.data() + 3, "NTFS    ", 8);
  MemorySource bad(zeros);
  try {
    open_ntfs_tree(bad);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
  }
}
