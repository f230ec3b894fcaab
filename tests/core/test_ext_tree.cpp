// The ext2/3/4 FileTree on images made by mke2fs -d from a directory: every listing,
// type, size, mode, time, link count, symlink target and file content must equal what
// was put in the directory; holes must not be passed to the sink; damage is an Error.
#include "core/base/error.hpp"
#include "core/fs/file_tree.hpp"
#include "tests/core/fs_test_util.hpp"

#include "tests/catch.hpp"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>

using namespace vssimg;
using namespace vssimg::fs_test;
namespace fs = std::filesystem;

namespace {

const std::string k_unicode_dir =
    "\xC3\x91"
    "and\xC3\xBA";  // Ñandú
const std::string k_unicode_file =
    "Gr\xC3\xBC\xC3\x9F"
    "e-\xE6\x97\xA5.txt";  // Grüße-日.txt

void write_at(const fs::path& p, uint64_t offset, const std::vector<uint8_t>& data) {
  std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// Nested directories, a file with holes (zero blocks become holes in mke2fs -d), fast and
// slow symlinks, a hard link, a 1 MB file, Unicode names, a directory of 300 entries.
void make_tree(const fs::path& root) {
  fs::create_directories(root / "dir" / "sub" / "deep");
  fs::create_directories(root / k_unicode_dir);
  fs::create_directories(root / "many");
  write_file(root / "dir" / "sub" / "deep" / "file.txt", random_bytes(5000, 1));
  write_file(root / "big.bin", random_bytes(1 << 20, 2));
  write_file(root / "empty", {});
  write_file(root / "tiny", random_bytes(30, 3));
  write_file(root / k_unicode_dir / k_unicode_file, random_bytes(777, 4));
  write_file(root / "holes.bin", std::vector<uint8_t>(3 << 20, 0));
  write_at(root / "holes.bin", 0, random_bytes(8192, 5));
  write_at(root / "holes.bin", (1 << 20) + 8192, random_bytes(4096, 6));
  write_at(root / "holes.bin", (3 << 20) - 4096, random_bytes(4096, 7));
  for (int i = 0; i < 300; ++i) {
    write_file(root / "many" / ("entry-" + std::to_string(i)), random_bytes(i % 7, 10 + i));
  }
  fs::create_symlink("dir/sub/deep/file.txt", root / "fast-link");
  fs::create_symlink(std::string(150, 'x') + "/target", root / "slow-link");
  fs::create_hard_link(root / "big.bin", root / "dir" / "hard.bin");
  fs::permissions(root / "tiny", fs::perms::owner_read | fs::perms::group_read);
}

struct Content {
  std::vector<uint8_t> bytes;
  uint64_t passed = 0;
};

Content read_all(FileTree& tree, const TreeEntry& e) {
  Content c;
  c.bytes.assign(static_cast<size_t>(e.size), 0);
  uint64_t next = 0;
  tree.read(e, "", [&](uint64_t offset, const uint8_t* data, size_t len) {
    REQUIRE(offset >= next);  // in order, never overlapping
    REQUIRE(offset + len <= c.bytes.size());
    std::copy(data, data + len, c.bytes.begin() + static_cast<ptrdiff_t>(offset));
    next = offset + len;
    c.passed += len;
  });
  return c;
}

// Compares the tree's directory `dir` with the host directory `host`, recursively.
void compare_dir(FileTree& tree, const TreeEntry& dir, const fs::path& host) {
  std::map<std::string, TreeEntry> by_name;
  for (TreeEntry& e : tree.list(dir)) {
    std::string name = e.name;
    CHECK(by_name.emplace(name, std::move(e)).second);
  }
  size_t host_count = 0;
  for (const fs::directory_entry& d : fs::directory_iterator(host)) {
    if (d.path().filename() == "lost+found") continue;
    ++host_count;
    const std::string name = d.path().filename().string();
    INFO(d.path());
    REQUIRE(by_name.count(name) == 1);
    const TreeEntry& e = by_name.at(name);
    struct stat st {};
    REQUIRE(::lstat(d.path().c_str(), &st) == 0);
    CHECK(e.mode == st.st_mode);
    CHECK(e.link_count == st.st_nlink);
    // mke2fs -d copies whole seconds (nanoseconds: the test of the extra fields below).
    CHECK(e.modified_ns / 1'000'000'000 == st.st_mtim.tv_sec);
    CHECK(e.accessed_ns != 0);  // the host's atime moves when this test reads the file
    CHECK(e.changed_ns != 0);
    if (d.is_symlink()) {
      CHECK(e.type == EntryType::symlink);
      CHECK(e.link_target == fs::read_symlink(d.path()).string());
    } else if (d.is_directory()) {
      CHECK(e.type == EntryType::directory);
      compare_dir(tree, e, d.path());
    } else {
      CHECK(e.type == EntryType::file);
      CHECK(e.size == static_cast<uint64_t>(st.st_size));
      bool same = read_all(tree, e).bytes == read_file(d.path());
      CHECK(same);
    }
  }
  size_t listed = by_name.size() - by_name.count("lost+found");
  CHECK(listed == host_count);
}

struct Image {
  TempDir dir;
  fs::path tree = dir.path() / "tree";
  fs::path img = dir.path() / "fs.img";
};

bool make_image(Image& image, const std::string& opts) {
  std::string mkfs = find_tool("mkfs.ext4");
  if (mkfs.empty()) return false;
  make_tree(image.tree);
  REQUIRE(run(mkfs + " -q -F " + opts + " -d " + quote(image.tree) + " " + quote(image.img) +
              " 64M") == 0);
  return true;
}

}  // namespace

TEST_CASE("ext tree: listings, metadata and contents equal the source directory",
          "[fs][ext_tree]") {
  struct Variant {
    const char* opts;
    const char* filesystem;
    bool ns_times;
  };
  for (const Variant& v :
       {Variant{"-t ext4 -b 4096", "ext4", true},
        Variant{"-t ext4 -b 1024 -O inline_data", "ext4", true}, Variant{"-t ext3", "ext3", true},
        Variant{"-t ext2 -b 1024 -I 128", "ext2", false},
        Variant{"-t ext2 -b 4096", "ext2", true}}) {
    DYNAMIC_SECTION("mke2fs " << v.opts) {
      Image image;
      if (!make_image(image, v.opts)) {
        WARN("skipped: mkfs.ext4 not found (Debian package e2fsprogs)");
        return;
      }
      auto src = open_block_source(image.img.string());
      std::unique_ptr<FileTree> tree = open_file_tree(*src);
      REQUIRE(tree);
      CHECK(tree->filesystem() == v.filesystem);
      TreeEntry root = tree->root();
      CHECK(root.type == EntryType::directory);
      CHECK(root.id == 2);
      compare_dir(*tree, root, image.tree);

      auto big = tree->lookup({"big.bin"});
      auto hard = tree->lookup({"dir", "hard.bin"});
      REQUIRE(big);
      REQUIRE(hard);
      CHECK(big->id == hard->id);
      CHECK(big->link_count == 2);
      if (v.ns_times && std::string(v.filesystem) == "ext4") CHECK(big->created_ns != 0);
      if (!v.ns_times) CHECK(big->created_ns == 0);

      auto holes = tree->lookup({"holes.bin"});
      REQUIRE(holes);
      Content c = read_all(*tree, *holes);
      bool same = c.bytes == read_file(image.tree / "holes.bin");
      CHECK(same);
      CHECK(c.passed <= 8192 + 2 * 4096 + 2 * 4096);  // the two holes are skipped

      // A hole at the end: i_size beyond the last block (as truncate makes it).
      std::string debugfs = find_tool("debugfs");
      REQUIRE(run(debugfs + " -w -R " + quote("sif /holes.bin size 5242880") + " " +
                  quote(image.img)) == 0);
      {
        auto again = open_block_source(image.img.string());
        std::unique_ptr<FileTree> reread = open_ext_tree(*again);
        REQUIRE(reread);
        auto longer = reread->lookup({"holes.bin"});
        REQUIRE(longer);
        CHECK(longer->size == 5242880);
        Content tail = read_all(*reread, *longer);
        std::vector<uint8_t> want = read_file(image.tree / "holes.bin");
        want.resize(5242880, 0);
        bool same_tail = tail.bytes == want;
        CHECK(same_tail);
        CHECK(tail.passed == c.passed);
      }

      if (v.ns_times) {
        // Extra fields: epoch bits 01 (+2^32 s) and 123456789 ns; crtime_extra ns only.
        REQUIRE(run(debugfs + " -w -R " + quote("sif /tiny mtime_extra 0x1d6f3455") + " " +
                    quote(image.img)) == 0);
        REQUIRE(run(debugfs + " -w -R " + quote("sif /tiny crtime_extra 0x1d6f3454") + " " +
                    quote(image.img)) == 0);
        auto again = open_block_source(image.img.string());
        std::unique_ptr<FileTree> reread = open_ext_tree(*again);
        REQUIRE(reread);
        auto tiny = reread->lookup({"tiny"});
        REQUIRE(tiny);
        struct stat st {};
        REQUIRE(::lstat((image.tree / "tiny").c_str(), &st) == 0);
        CHECK(tiny->modified_ns ==
              (st.st_mtim.tv_sec + (int64_t{1} << 32)) * 1'000'000'000 + 123456789);
        if (std::string(v.filesystem) == "ext4")
          CHECK(tiny->created_ns % 1'000'000'000 == 123456789);
      }
    }
  }
}

TEST_CASE("ext tree: lookup is exact and case-sensitive", "[fs][ext_tree]") {
  Image image;
  if (!make_image(image, "-t ext4")) {
    WARN("skipped: mkfs.ext4 not found (Debian package e2fsprogs)");
    return;
  }
  auto src = open_block_source(image.img.string());
  std::unique_ptr<FileTree> tree = open_ext_tree(*src);
  REQUIRE(tree);
  auto deep = tree->lookup({"dir", "sub", "deep", "file.txt"});
  REQUIRE(deep);
  CHECK(deep->name == "file.txt");
  CHECK(deep->size == 5000);
  auto unicode = tree->lookup({k_unicode_dir, k_unicode_file});
  REQUIRE(unicode);
  bool same =
      read_all(*tree, *unicode).bytes == read_file(image.tree / k_unicode_dir / k_unicode_file);
  CHECK(same);
  CHECK_FALSE(tree->lookup({"DIR"}));
  CHECK_FALSE(tree->lookup({"dir", "missing"}));
  CHECK_FALSE(tree->lookup({"big.bin", "x"}));    // through a file
  CHECK_FALSE(tree->lookup({"fast-link", "x"}));  // symlinks are not followed
  CHECK_FALSE(tree->lookup({"dir", ".."}));
  auto root = tree->lookup({});
  REQUIRE(root);
  CHECK(root->type == EntryType::directory);
  auto link = tree->lookup({"fast-link"});
  REQUIRE(link);
  CHECK(link->link_target == "dir/sub/deep/file.txt");
  CHECK_THROWS_AS(tree->read(*link, "", [](uint64_t, const uint8_t*, size_t) {}), Error);
  CHECK_THROWS_AS(tree->read(*deep, "stream", [](uint64_t, const uint8_t*, size_t) {}), Error);
}

TEST_CASE("ext tree: a damaged inode is Error(damage) naming the path", "[fs][ext_tree]") {
  Image image;
  std::string debugfs = find_tool("debugfs");
  if (debugfs.empty() || !make_image(image, "-t ext4 -b 4096")) {
    WARN("skipped: mkfs.ext4/debugfs not found (Debian package e2fsprogs)");
    return;
  }
  std::string out;
  REQUIRE(run(debugfs + " -R " + quote("imap /dir/sub/deep/file.txt") + " " + quote(image.img),
              &out) == 0);
  // "Inode 14 is part of block group 0\n\tlocated at block 36, offset 0x0d00"
  auto at = out.find("located at block ");
  REQUIRE(at != std::string::npos);
  uint64_t block = std::stoull(out.substr(at + 17));
  uint64_t offset = std::stoull(out.substr(out.find("offset ") + 7), nullptr, 16);
  std::vector<uint8_t> bytes = read_file(image.img);
  bytes[block * 4096 + offset + 0x10] ^= 0xFF;  // i_mtime: the inode checksum fails
  MemorySource src(std::move(bytes));
  std::unique_ptr<FileTree> tree = open_ext_tree(src);
  REQUIRE(tree);
  try {
    tree->lookup({"dir", "sub", "deep", "file.txt"});
    FAIL("no error for a damaged inode");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
    CHECK_THAT(e.what(), Catch::Contains("/dir/sub/deep/file.txt") && Catch::Contains("checksum"));
  }
  auto deep = tree->lookup({"dir", "sub", "deep"});
  REQUIRE(deep);
  CHECK_THROWS_AS(tree->list(*deep), Error);
  CHECK(tree->lookup({"big.bin"}));  // the rest is still readable
}

TEST_CASE("ext tree: other filesystems are not ext", "[fs][ext_tree]") {
  MemorySource zeros(std::vector<uint8_t>(1 << 20, 0));
  CHECK(open_ext_tree(zeros) == nullptr);
  MemorySource tiny(std::vector<uint8_t>(100, 0));
  CHECK(open_ext_tree(tiny) == nullptr);
  std::vector<uint8_t> bad(1 << 20, 0);
  bad[1024 + 56] = 0x53;  // an ext magic with an absurd geometry
  bad[1024 + 57] = 0xEF;
  MemorySource damaged(std::move(bad));
  CHECK_THROWS_AS(open_ext_tree(damaged), Error);
}
