// core/os/path.hpp on both builds: UTF-8 <-> path, and paths outside every Windows code
// page (Chinese, Cyrillic, an emoji outside the BMP) through files, a store and a restore.
#include "core/base/error.hpp"
#include "core/os/atomic_file.hpp"
#include "core/os/file.hpp"
#include "core/os/path.hpp"
#include "image/backup.hpp"
#include "image/restore.hpp"
#include "image/storage_local.hpp"
#include "image/store.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstdio>
#include <filesystem>
#include <string>
#include <type_traits>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
// "备份-Жук-😀" as UTF-8 bytes and as UTF-16, spelt out so that neither depends on the
// source encoding the compiler assumes.
const std::string k_utf8 = "\xE5\xA4\x87\xE4\xBB\xBD-\xD0\x96\xD1\x83\xD0\xBA-\xF0\x9F\x98\x80";
const std::u16string k_utf16 = {0x5907, 0x4EFD, u'-', 0x0416, 0x0443, 0x043A, u'-', 0xD83D, 0xDE00};

constexpr bool k_wide_paths = std::is_same_v<fs::path::value_type, wchar_t>;
}  // namespace

TEST_CASE("path_from_utf8 / path_to_utf8: names outside every code page", "[path]") {
  const fs::path p = path_from_utf8(k_utf8);
  CHECK(p.u16string() == k_utf16);
  CHECK(path_to_utf8(p) == k_utf8);
  CHECK(path_to_utf8(fs::path(k_utf16)) == k_utf8);
  CHECK(path_from_utf8("").empty());
  CHECK(path_to_utf8(fs::path()).empty());

  // Joined and split again: components stay whole, separators stay separators.
  const fs::path joined = path_from_utf8("dir-" + k_utf8) / path_from_utf8(k_utf8 + ".img");
  CHECK(path_to_utf8(joined.filename()) == k_utf8 + ".img");
  CHECK(path_to_utf8(joined.parent_path()) == "dir-" + k_utf8);
  CHECK(path_to_utf8(joined.stem()) == k_utf8);
}

TEST_CASE("path_from_utf8: invalid UTF-8", "[path]") {
  const std::string bad =
      "a\xFF\xFE"
      "b";
  if constexpr (k_wide_paths) {
    try {
      (void)path_from_utf8(bad);
      FAIL("no error for invalid UTF-8");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::usage);
      CHECK(std::string(e.what()).find("not valid UTF-8") != std::string::npos);
    }
  } else {
    // POSIX names are bytes: kept as they are, and given back unchanged.
    CHECK(path_from_utf8(bad).string() == bad);
    CHECK(path_to_utf8(path_from_utf8(bad)) == bad);
  }
}

TEST_CASE("path_to_utf8: an unpaired surrogate becomes U+FFFD", "[path]") {
  if constexpr (k_wide_paths) {
    const std::wstring lone = {L'a', static_cast<wchar_t>(0xD800), L'b',
                               static_cast<wchar_t>(0xDC01)};
    CHECK(path_to_utf8(fs::path(lone)) ==
          "a\xEF\xBF\xBD"
          "b\xEF\xBF\xBD");
    // A valid pair next to a lone one: the pair is kept.
    const std::wstring mixed = {static_cast<wchar_t>(0xD83D), static_cast<wchar_t>(0xDE00),
                                static_cast<wchar_t>(0xDE00)};
    CHECK(path_to_utf8(fs::path(mixed)) == "\xF0\x9F\x98\x80\xEF\xBF\xBD");
  } else {
    SUCCEED("POSIX paths are bytes; no surrogates");
  }
}

TEST_CASE("files at UTF-8 paths: File, AtomicFile, open_stdio_file, listing", "[path]") {
  test::TempDir dir;
  const fs::path folder = dir.path() / path_from_utf8(k_utf8);
  fs::create_directory(folder);
  const fs::path name = folder / path_from_utf8(k_utf8 + ".bin");
  {
    File f(name, File::Open::create_new);
    f.append("abc", 3);
    CHECK(f.name() == path_to_utf8(name));
    CHECK(f.name().find(k_utf8 + ".bin") != std::string::npos);
  }
  {
    AtomicFile a(folder / path_from_utf8(k_utf8 + ".atomic"), folder);
    a.append("xyz", 3);
    a.commit(false);
  }
  std::FILE* log = open_stdio_file(folder / path_from_utf8(k_utf8 + ".log"), "ab");
  REQUIRE(log != nullptr);
  std::fputs("line\n", log);
  std::fclose(log);
  CHECK(read_small_file(folder / path_from_utf8(k_utf8 + ".log"), 100) == "line\n");
  CHECK(read_small_file(folder / path_from_utf8(k_utf8 + ".atomic"), 100) == "xyz");

  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    names.push_back(path_to_utf8(entry.path().filename()));
  }
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{k_utf8 + ".atomic", k_utf8 + ".bin", k_utf8 + ".log"});
  try {
    File missing(folder / path_from_utf8("missing-" + k_utf8), File::Open::read);
    FAIL("opened a missing file");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("missing-" + k_utf8) != std::string::npos);
  }
}

TEST_CASE("a store and a restore target at UTF-8 paths", "[path]") {
  test::TempDir dir;
  const fs::path root = dir.path() / path_from_utf8(k_utf8 + "-store");
  Store::create(root, 64 * 1024);
  Store store(root);
  CHECK(store.storage().location() == path_to_utf8(root));
  CHECK(store.storage().location().find(k_utf8 + "-store") != std::string::npos);
  test::MemorySource src(test::pseudo_random(3 * 64 * 1024 + 100, 9), "vol");
  BackupResult r = run_backup(store, src, BackupOptions{}, null_progress());
  const fs::path out = dir.path() / path_from_utf8(k_utf8 + ".img");
  run_restore(store, r.point_id, out, RestoreOptions{}, null_progress());
  CHECK(test::read_file(out) == src.data());
  try {
    run_restore(store, r.point_id, out, RestoreOptions{}, null_progress());
    FAIL("overwrote without --force");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::usage);
    CHECK(std::string(e.what()).find(k_utf8 + ".img") != std::string::npos);
  }
}
