// Export of real points from a store, read back with our VHDX reader and compared with
// the source and with restore's output.
#include "core/base/error.hpp"
#include "core/source/block_source.hpp"
#include "image/backup.hpp"
#include "image/export.hpp"
#include "image/point_meta.hpp"
#include "image/restore.hpp"
#include "image/vhdx_reader.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t k_mib = 1u << 20;

class MemorySink : public ExportSink {
 public:
  void write(const uint8_t* data, size_t len) override {
    bytes.insert(bytes.end(), data, data + len);
  }
  void finish() override { finished = true; }
  std::vector<uint8_t> bytes;
  bool finished = false;
};

// A volume of 3 MiB + 1000 bytes: random data, one zero block, an ext superblock magic.
std::vector<uint8_t> sample_volume() {
  auto data = test::pseudo_random(3 * k_mib + 1000, 11);
  std::memset(data.data() + 2 * 65536, 0, 65536);
  data[1024 + 56] = 0x53;
  data[1024 + 57] = 0xEF;
  return data;
}

std::string backup(Store& store, const std::vector<uint8_t>& data) {
  test::MemorySource src(data, "vol");
  return run_backup(store, src, BackupOptions{}, null_progress()).point_id;
}

std::vector<uint8_t> disk_range(VhdxReader& r, uint64_t offset, size_t len) {
  std::vector<uint8_t> out(len);
  r.read(out.data(), len, offset);
  return out;
}

}  // namespace

TEST_CASE("export: the VHDX holds a GPT disk whose partition equals restore's output") {
  test::TempDir dir;
  Store::create(dir / "store", 65536);
  Store store(dir / "store");
  const auto data = sample_volume();
  const Point point = store.load_point(backup(store, data));
  const fs::path out = dir / "p.vhdx";
  ExportStats stats;
  {
    auto sink = open_export_file(out, false);
    stats = run_export(store, point, *sink, ExportOptions{}, null_progress());
  }
  CHECK(stats.partition_type == "linux-data");  // no filesystem recorded: the probe
  CHECK(stats.disk_bytes == 6 * k_mib);
  CHECK(fs::file_size(out) == stats.file_bytes);
  auto file = open_block_source(out.string());
  VhdxReader reader(*file);
  CHECK(reader.geometry().virtual_size == stats.disk_bytes);
  CHECK(disk_range(reader, k_mib, data.size()) == data);
  const auto gpt = disk_range(reader, 512, 8);
  CHECK(std::memcmp(gpt.data(), "EFI PART", 8) == 0);
  const auto backup_header = disk_range(reader, stats.disk_bytes - 512, 8);
  CHECK(std::memcmp(backup_header.data(), "EFI PART", 8) == 0);

  run_restore(store, point.id, dir / "restored.img", RestoreOptions{}, null_progress());
  CHECK(test::read_file(dir / "restored.img") == data);

  // The same point exported again (to memory, 2 MiB blocks then 1 MiB): identities
  // come from the point id, so the files are equal byte for byte.
  MemorySink again;
  run_export(store, point, again, ExportOptions{}, null_progress());
  CHECK(again.finished);
  CHECK(again.bytes == test::read_file(out));
  ExportOptions two;
  two.block_size = 2 << 20;
  two.threads = 1;
  MemorySink big;
  run_export(store, point, big, two, null_progress());
  test::MemorySource mem(big.bytes, "big.vhdx");
  VhdxReader r2(mem);
  CHECK(r2.geometry().block_size == (2u << 20));
  CHECK(disk_range(r2, k_mib, data.size()) == data);
}

TEST_CASE("export: an existing file is kept without --force") {
  test::TempDir dir;
  Store::create(dir / "store", 65536);
  Store store(dir / "store");
  const Point point = store.load_point(backup(store, sample_volume()));
  test::write_file(dir / "p.vhdx", {1, 2, 3});
  try {
    open_export_file(dir / "p.vhdx", false);
    FAIL("an existing file was opened");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::usage);
  }
  CHECK(fs::file_size(dir / "p.vhdx") == 3);
  auto sink = open_export_file(dir / "p.vhdx", true);
  run_export(store, point, *sink, ExportOptions{}, null_progress());
  sink.reset();
  auto file = open_block_source((dir / "p.vhdx").string());
  CHECK_NOTHROW(VhdxReader(*file));
}

TEST_CASE("export: a damaged block stops it and leaves no file") {
  test::TempDir dir;
  Store::create(dir / "store", 65536);
  Store store(dir / "store");
  const Point point = store.load_point(backup(store, sample_volume()));
  for (const auto& e : fs::recursive_directory_iterator(dir / "store" / "packs")) {
    if (e.path().extension() != ".pack") continue;
    auto bytes = test::read_file(e.path());
    bytes[32 + 48 + 100] ^= 0x5A;  // inside the first record's payload
    test::write_file(e.path(), bytes);
  }
  const fs::path out = dir / "p.vhdx";
  try {
    auto sink = open_export_file(out, false);
    run_export(store, point, *sink, ExportOptions{}, null_progress());
    FAIL("a damaged block was exported");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
    INFO(e.what());
    CHECK(std::string(e.what()).find("volume offset") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("export: a sparse point over 2 TiB") {
  test::TempDir dir;
  Store::create(dir / "store", 4 << 20);
  Store store(dir / "store");
  const auto data = test::pseudo_random(8 * k_mib, 12);
  Point point = store.load_point(backup(store, data));
  // The two data blocks at the start and at the very end of a 3 TiB volume, FREE between.
  const uint64_t vol = 3ull << 40;
  const BlockId last = point.map[1];
  point.map.resize(vol / (4 << 20), BlockId::free_marker());
  point.map[1] = BlockId::free_marker();
  point.map.back() = last;
  point.meta.set_int(point_key::k_source_size, static_cast<int64_t>(vol));
  point.meta.set(point_key::k_filesystem, "ntfs");
  MemorySink sink;
  const ExportStats stats = run_export(store, point, sink, ExportOptions{}, null_progress());
  CHECK(stats.partition_type == "basic-data");
  CHECK(stats.disk_bytes == vol + 2 * k_mib);
  CHECK(stats.blocks_present == 1 + 4 + 4 + 1);  // GPT, two 4 MiB blocks, backup GPT
  CHECK(sink.bytes.size() == stats.file_bytes);
  CHECK(sink.bytes.size() < 64 * k_mib);
  test::MemorySource mem(std::move(sink.bytes), "big.vhdx");
  VhdxReader reader(mem);
  CHECK(reader.geometry().virtual_size == vol + 2 * k_mib);
  CHECK(disk_range(reader, k_mib, 4 * k_mib) ==
        std::vector<uint8_t>(data.begin(), data.begin() + 4 * k_mib));
  CHECK(disk_range(reader, k_mib + vol - 4 * k_mib, 4 * k_mib) ==
        std::vector<uint8_t>(data.begin() + 4 * k_mib, data.end()));
  CHECK(disk_range(reader, 2ull << 40, 4096) == std::vector<uint8_t>(4096, 0));
  CHECK(reader.payload_state(1 + (2ull << 40) / k_mib) == vhdx::k_payload_not_present);
}
