// The pieces of the NTFS tree reader that need no image: LZNT1 decompression, UTF-16
// names and $UpCase folding, and the CLI's path parsing (both builds; Wine runs them).
#include "cli/tree_path.hpp"
#include "core/base/error.hpp"
#include "core/fs/fs_ntfs_lznt1.hpp"
#include "core/fs/fs_ntfs_names.hpp"
#include "core/fs/fs_volume.hpp"

#include "tests/catch.hpp"

#include <string>
#include <vector>

using namespace vssimg;

TEST_CASE("LZNT1: literals and an overlapping back-reference", "[ntfs][lznt1]") {
  // "abc", then (offset 3, length 9): "abcabcabcabc"; header 0xB005 = compressed, 6 bytes.
  const std::vector<uint8_t> in = {0x05, 0xB0, 0x08, 'a', 'b', 'c', 0x06, 0x20};
  std::vector<uint8_t> out(8192, 0xEE);
  ntfs::lznt1_decompress(in.data(), in.size(), out.data(), out.size(), "test");
  CHECK(std::string(out.begin(), out.begin() + 12) == "abcabcabcabc");
  for (size_t i = 12; i < out.size(); ++i) REQUIRE(out[i] == 0);
}

TEST_CASE("LZNT1: a raw chunk, then a compressed one at 4096", "[ntfs][lznt1]") {
  std::vector<uint8_t> in = {0xFF, 0x3F};  // raw, 4096 bytes
  for (int i = 0; i < 4096; ++i) in.push_back(static_cast<uint8_t>(i * 7));
  for (int b : {0x02, 0xB0, 0x00, int{'x'}, int{'y'}}) in.push_back(static_cast<uint8_t>(b));
  std::vector<uint8_t> out(8192);
  ntfs::lznt1_decompress(in.data(), in.size(), out.data(), out.size(), "test");
  CHECK(out[4095] == static_cast<uint8_t>(4095 * 7));
  CHECK(out[4096] == 'x');
  CHECK(out[4097] == 'y');
  CHECK(out[4098] == 0);
}

TEST_CASE("LZNT1: hostile input is rejected, never read or written out of bounds",
          "[ntfs][lznt1]") {
  std::vector<uint8_t> out(4096);
  SECTION("back-reference before the chunk") {
    const std::vector<uint8_t> in = {0x02, 0xB0, 0x01, 0x00, 0x00};
    CHECK_THROWS_AS(ntfs::lznt1_decompress(in.data(), in.size(), out.data(), out.size(), "t"),
                    FsRejected);
  }
  SECTION("chunk longer than the stored bytes") {
    const std::vector<uint8_t> in = {0xFF, 0xBF, 0x00, 'a'};
    CHECK_THROWS_AS(ntfs::lznt1_decompress(in.data(), in.size(), out.data(), out.size(), "t"),
                    FsRejected);
  }
  SECTION("output longer than the unit") {
    std::vector<uint8_t> small(8);
    const std::vector<uint8_t> in = {0x05, 0xB0, 0x08, 'a', 'b', 'c', 0x06, 0x20};
    CHECK_THROWS_AS(ntfs::lznt1_decompress(in.data(), in.size(), small.data(), small.size(), "t"),
                    FsRejected);
  }
  SECTION("a cut token") {
    const std::vector<uint8_t> in = {0x02, 0xB0, 0x02, 'a', 0x00};
    CHECK_THROWS_AS(ntfs::lznt1_decompress(in.data(), in.size(), out.data(), out.size(), "t"),
                    FsRejected);
  }
}

TEST_CASE("NTFS names: UTF-16 and UTF-8 both ways; $UpCase folding", "[ntfs][names]") {
  const std::string name = "Grüße 日本 😀.txt";
  const std::u16string units = ntfs::utf8_to_utf16(name);
  CHECK(units.size() == 15);  // the emoji is a surrogate pair
  CHECK(ntfs::utf16_to_utf8(units) == name);
  CHECK(ntfs::utf16_to_utf8(std::u16string{char16_t(0xD800), u'a'}) ==
        "\xEF\xBF\xBD"
        "a");
  CHECK(ntfs::utf8_to_utf16("\xFF") == std::u16string{char16_t(0xFFFD)});

  ntfs::UpCase ascii;
  const std::u16string upper = u"README.TXT";
  CHECK(ascii.compare(u"readme.txt", upper.data(), upper.size()) == 0);
  CHECK(ascii.compare(u"readme", upper.data(), upper.size()) < 0);
  CHECK(ascii.compare(u"z", upper.data(), upper.size()) > 0);
  std::vector<uint8_t> table(2 * 65536);
  for (size_t c = 0; c < 65536; ++c) {
    const size_t up = (c >= 'a' && c <= 'z') || c == 0xFC ? c - 32 : c;  // and ü -> Ü
    table[2 * c] = static_cast<uint8_t>(up);
    table[2 * c + 1] = static_cast<uint8_t>(up >> 8);
  }
  ntfs::UpCase volume(table);
  const std::u16string u_upper = u"\u00DC";
  CHECK(volume.compare(u"\u00FC", u_upper.data(), 1) == 0);
  CHECK(ascii.compare(u"\u00FC", u_upper.data(), 1) != 0);
}

TEST_CASE("ls/extract paths: drive letters, both separators, streams", "[ntfs][cli]") {
  using vssimg::cli::parse_tree_path;
  const std::vector<std::string> want = {"Users", "x", "a.txt"};
  CHECK(parse_tree_path("C:\\Users\\x\\a.txt", true).components == want);
  CHECK(parse_tree_path("\\Users\\x\\a.txt", true).components == want);
  CHECK(parse_tree_path("/Users/x/a.txt", true).components == want);
  CHECK(parse_tree_path("d:/Users/./y/../x//a.txt", true).components == want);
  CHECK(parse_tree_path("/../..", true).components.empty());
  CHECK(parse_tree_path("", true).components.empty());
  auto s = parse_tree_path("\\Users\\x\\a.txt:Zone.Identifier", true);
  CHECK(s.components == want);
  CHECK(s.stream == "Zone.Identifier");
  CHECK(parse_tree_path("/a.txt:Zone.Identifier:$DATA", true).stream == "Zone.Identifier");
  CHECK(parse_tree_path("/a.txt::$DATA", true).stream.empty());
  CHECK(parse_tree_path("/a:b", false).components.back() == "a:b");
  CHECK_THROWS_AS(parse_tree_path("/a.txt:", true), Error);
  CHECK_THROWS_AS(parse_tree_path("/:s", true), Error);
  CHECK_FALSE(vssimg::cli::is_safe_name(".."));
  CHECK_FALSE(vssimg::cli::is_safe_name("a/b"));
  CHECK_FALSE(vssimg::cli::is_safe_name(""));
  CHECK(vssimg::cli::is_safe_name("a.txt"));
}
