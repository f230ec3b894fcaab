// core/*_win32.cpp: files, platform services and the unbuffered block source.
#include "tests/win32/win_test_util.hpp"

#include "core/source/block_source_win32.hpp"
#include "core/base/buffer.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/platform.hpp"
#include "core/os/win32.hpp"

#include "tests/catch.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <numeric>
#include <thread>
#include <vector>

using namespace vssimg;

namespace {
std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 131 + i / 4096) & 0xFF);
  return v;
}
}  // namespace

TEST_CASE("win32: files with UTF-8 names: write, read, resize, rename", "[win32]") {
  test::TempDir dir;
  auto name = dir.path() / std::filesystem::path(win32::widen("gr\xC3\xB6\xC3\x9F"
                                                              "e-\xE6\x97\xA5.bin"));
  {
    File f(name, File::Open::create_new);
    f.append("hello ", 6);
    f.append("world", 5);
    f.sync();
    CHECK(f.size() == 11);
    f.write_at("W", 1, 6);
    f.resize(20);
    CHECK(f.size() == 20);
  }
  CHECK_THROWS_AS(File(name, File::Open::create_new), Error);
  File f(name, File::Open::read);
  char buf[32] = {};
  CHECK(f.read_at(buf, sizeof buf, 0) == 20);
  CHECK(std::string(buf, 11) == "hello World");
  CHECK_THROWS_AS(f.read_exact_at(buf, 8, 16), Error);
  f.close();
  CHECK(read_small_file(name, 100).size() == 20);

  auto other = dir.path() / "other.bin";
  { File g(other, File::Open::create_trunc); }
  CHECK_FALSE(rename_no_replace(other, name));
  rename_replace(other, name);
  CHECK(std::filesystem::file_size(name) == 0);
}

TEST_CASE("win32: errors name the API, the symbolic code and the path", "[win32]") {
  test::TempDir dir;
  try {
    File f(dir.path() / "missing.bin", File::Open::read);
    FAIL("no error");
  } catch (const Error& e) {
    std::string text = e.what();
    CHECK(text.find("opening ") == 0);
    CHECK(text.find("missing.bin: CreateFileW: ERROR_FILE_NOT_FOUND (0x2): ") != std::string::npos);
  }
  CHECK(win32::describe_hresult("CoInitializeEx", static_cast<HRESULT>(0x80010106))
            .find("CoInitializeEx: RPC_E_CHANGED_MODE (0x80010106): ") == 0);
  CHECK(win32::describe_win32_error("ReadFile", 0x12345)
            .find("ReadFile: Win32 error 74565 (0x12345): ") == 0);
}

TEST_CASE("win32: platform services", "[win32]") {
  auto a = random_bytes(32), b = random_bytes(32);
  CHECK(a != b);
  CHECK_FALSE(host_name().empty());
  CHECK(process_alive(process_id()));
  CHECK_FALSE(process_alive(4000000000u));
  CHECK(hardware_threads() >= 1);
  CHECK(peak_rss_bytes() > 0);
  test::TempDir dir;
  auto file = dir.path() / "secret";
  { File f(file, File::Open::create_new); }
  restrict_to_owner(file);
  CHECK_FALSE(vssimg::is_symlink(file));
}

TEST_CASE("win32: unbuffered source reads unaligned ranges through the bounce buffer", "[win32]") {
  test::TempDir dir;
  auto image = dir.path() / "disk.img";
  const size_t size = 3 * 4096 + 100;  // an unaligned tail
  auto data = pattern(size);
  {
    File f(image, File::Open::create_new);
    f.append(data.data(), data.size());
  }
  win32::SourceOptions options;
  options.force_sector_size = 4096;
  auto source = win32::open_source(win32::utf8_path(image), options);
  CHECK(source->size() == size);
  CHECK(source->alignment() == 4096);
  CHECK_FALSE(source->is_device());

  std::vector<uint8_t> out(size);
  source->read_at(out.data(), size, 0);  // whole, ending in the unaligned tail
  CHECK(out == data);
  const std::pair<uint64_t, size_t> ranges[] = {
      {1, 10}, {4095, 2}, {5000, 4096}, {size - 7, 7}, {8192, 4096}};
  for (auto [offset, len] : ranges) {
    std::vector<uint8_t> piece(len + 1);  // +1: the buffer start is deliberately unaligned
    source->read_at(piece.data() + 1, len, offset);
    CHECK(std::memcmp(piece.data() + 1, data.data() + offset, len) == 0);
  }
  std::vector<uint8_t> big(100);
  CHECK_THROWS_AS(source->read_at(big.data(), 100, size - 50), Error);
}

TEST_CASE("win32: parallel reads of one source (overlapped handle, bounce buffer)", "[win32]") {
  test::TempDir dir;
  auto image = dir.path() / "disk.img";
  const size_t size = 64 * 65536 + 512;  // an unaligned tail
  auto data = pattern(size);
  {
    File f(image, File::Open::create_new);
    f.append(data.data(), data.size());
  }
  for (uint32_t sector : {1u, 4096u}) {
    win32::SourceOptions options;
    if (sector > 1) options.force_sector_size = sector;
    auto source = win32::open_source(win32::utf8_path(image), options);
    std::atomic<int> wrong{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        try {
          for (int round = 0; round < 8; ++round) {
            for (size_t i = t; i < 65; i += 4) {  // interleaved 64 KiB pieces, the tail too
              const uint64_t offset = i * 65536;
              const size_t len = std::min<size_t>(65536, size - offset);
              AlignedBuffer aligned(65536);
              source->read_at(aligned.data(), len, offset);  // aligned: direct
              if (std::memcmp(aligned.data(), data.data() + offset, len) != 0) ++wrong;
              std::vector<uint8_t> odd(len + 1);  // unaligned: the shared bounce buffer
              source->read_at(odd.data() + 1, len, offset);
              if (std::memcmp(odd.data() + 1, data.data() + offset, len) != 0) ++wrong;
            }
          }
        } catch (...) {
          ++failed;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(wrong == 0);
    CHECK(failed == 0);
  }
}

TEST_CASE("win32: sources: plain files, folders and missing paths", "[win32]") {
  test::TempDir dir;
  auto image = dir.path() / "small.img";
  {
    File f(image, File::Open::create_new);
    f.append("abcdefgh", 8);
  }
  auto source = open_block_source(win32::utf8_path(image));
  CHECK(source->alignment() == 1);
  char buf[4];
  source->read_at(buf, 4, 2);
  CHECK(std::string(buf, 4) == "cdef");
  CHECK_THROWS_AS(open_block_source(win32::utf8_path(dir.path() / "missing.img")), Error);
  try {
    open_block_source(win32::utf8_path(dir.path()));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("not a volume root") != std::string::npos);
  }
  { File empty(dir.path() / "empty.img", File::Open::create_new); }
  CHECK_THROWS_AS(open_block_source(win32::utf8_path(dir.path() / "empty.img")), Error);
}
