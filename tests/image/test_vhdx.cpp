// The VHDX container: CRC-32C, geometry, the export plan's BAT states, and the checking
// reader's refusals on hand-damaged files.
#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "image/export_plan.hpp"
#include "image/vhdx_format.hpp"
#include "image/vhdx_reader.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstring>
#include <string>
#include <vector>

using namespace vssimg;

namespace {

constexpr uint64_t k_mib = 1u << 20;

BlockId data_id(uint8_t n) {
  BlockId id;
  id.bytes.fill(n);
  id.bytes[0] = 0x42;
  return id;
}

// A whole VHDX in memory: the head of `plan` and its present blocks filled with `fill`.
std::vector<uint8_t> build_file(const ExportLayout& plan, uint8_t fill) {
  std::vector<uint8_t> file =
      encode_vhdx_head(plan.geometry, export_identity("0123456789abcdef"), plan.bat);
  file.resize(plan.file_size, fill);
  return file;
}

ExportLayout small_plan() {
  // 8 store blocks of 1 MiB: data, free, zero, free, unreadable, data, free, free.
  std::vector<BlockId> map = {data_id(1),
                              BlockId::free_marker(),
                              BlockId::zero_marker(),
                              BlockId::free_marker(),
                              BlockId::unreadable_marker(),
                              data_id(2),
                              BlockId::free_marker(),
                              BlockId::free_marker()};
  return plan_export(map, 1 << 20, 8 * k_mib, 1 << 20, guid_from_string(gpt::k_basic_data),
                     "0123456789abcdef");
}

void fix_header_crc(std::vector<uint8_t>& f, uint64_t at) {
  set_u32(f.data() + at + 4, 0);
  set_u32(f.data() + at + 4, crc32c(f.data() + at, vhdx::k_header_size));
}

void fix_region_crcs(std::vector<uint8_t>& f) {
  for (uint64_t at : {vhdx::k_region1, vhdx::k_region2}) {
    set_u32(f.data() + at + 4, 0);
    set_u32(f.data() + at + 4, crc32c(f.data() + at, vhdx::k_region_size));
  }
}

std::string refusal(std::vector<uint8_t> bytes) {
  test::MemorySource src(std::move(bytes), "t.vhdx");
  try {
    VhdxReader reader(src);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("vhdx: CRC-32C known vectors") {
  const std::string digits = "123456789";
  CHECK(crc32c(digits.data(), digits.size()) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xFF);
  CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);  // RFC 3720 B.4
  CHECK(crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
}

TEST_CASE("vhdx: geometry interleaves a sector-bitmap entry after every chunk") {
  VhdxGeometry g;
  g.block_size = 1 << 20;
  g.virtual_size = 4097 * k_mib;
  CHECK(g.chunk_ratio() == 4096);
  CHECK(g.payload_blocks() == 4097);
  CHECK(g.bat_entries() == 4098);  // 4096 payload, 1 bitmap, 1 payload
  CHECK(g.bat_index(4095) == 4095);
  CHECK(g.bat_index(4096) == 4097);
  CHECK(g.bat_length() == k_mib);
  CHECK(g.payload_start() == 4 * k_mib);
  g.virtual_size = 4096 * k_mib;  // exactly one chunk: no trailing bitmap entry
  CHECK(g.bat_entries() == 4096);
  g.block_size = 32 << 20;
  g.virtual_size = 3ull << 40;  // 3 TiB
  CHECK(g.chunk_ratio() == 128);
  CHECK(g.payload_blocks() == 98304);
  CHECK(g.bat_entries() == 98304 + 767);
  g.logical_sector = 4096;
  CHECK(g.chunk_ratio() == 1024);
}

TEST_CASE("vhdx: the plan allocates data and GPT blocks only") {
  const ExportLayout plan = small_plan();
  REQUIRE(plan.geometry.virtual_size == 10 * k_mib);
  REQUIRE(plan.geometry.payload_blocks() == 10);
  const uint64_t expect[10] = {
      vhdx::k_payload_fully_present,  // primary GPT
      vhdx::k_payload_fully_present,  // data
      vhdx::k_payload_not_present,    // free
      vhdx::k_payload_zero,           // zero
      vhdx::k_payload_not_present,
      vhdx::k_payload_zero,  // unreadable: zeros
      vhdx::k_payload_fully_present, vhdx::k_payload_not_present,
      vhdx::k_payload_not_present,   vhdx::k_payload_fully_present};  // backup GPT
  uint64_t next_mb = plan.geometry.payload_start() / k_mib;
  for (uint64_t b = 0; b < 10; ++b) {
    const uint64_t e = plan.bat[plan.geometry.bat_index(b)];
    CHECK((e & 7) == expect[b]);
    if ((e & 7) == vhdx::k_payload_fully_present) CHECK((e >> 20) == next_mb++);
  }
  CHECK(plan.present == std::vector<uint64_t>{0, 1, 6, 9});
  CHECK(plan.zero_blocks == 2);
  CHECK(plan.absent_blocks == 4);
  CHECK(plan.file_size == plan.geometry.payload_start() + 4 * k_mib);
  CHECK(plan.disk.first_lba == 2048);
  CHECK(plan.disk.last_lba == 2048 + 8 * 2048 - 1);
}

TEST_CASE("vhdx: a volume with a hole at its end and an odd size") {
  // 5 MiB + 4 KiB of 64 KiB blocks (the last one short), only the first block data.
  const uint64_t vol = 5 * k_mib + 4096;
  std::vector<BlockId> map((vol + 65535) / 65536, BlockId::free_marker());
  map[0] = data_id(3);
  const ExportLayout plan = plan_export(map, 65536, vol, 2 << 20,
                                        guid_from_string(gpt::k_linux_data), "00000000000000aa");
  CHECK(plan.geometry.virtual_size == 8 * k_mib);  // 1 + 6 (rounded) + 1, to 2 MiB blocks
  CHECK(plan.disk.last_lba == 2048 + vol / 512 - 1);
  CHECK(plan.present == std::vector<uint64_t>{0, 3});  // GPT + first data, backup GPT
  CHECK(plan.absent_blocks == 2);
}

TEST_CASE("vhdx: a sparse disk over 2 TiB is BAT entries only") {
  const uint64_t vol = 3ull << 40;
  std::vector<BlockId> map(vol / (4 << 20), BlockId::free_marker());
  map.back() = data_id(4);
  const ExportLayout plan = plan_export(map, 4 << 20, vol, 32 << 20,
                                        guid_from_string(gpt::k_basic_data), "00000000000000bb");
  CHECK(plan.geometry.virtual_size == vol + 32 * k_mib);
  // The first block (primary GPT); the last data block straddles the last two payload
  // blocks, the second of which also holds the backup GPT.
  const uint64_t n = plan.geometry.payload_blocks();
  CHECK(plan.present == std::vector<uint64_t>{0, n - 2, n - 1});
  CHECK(plan.file_size == plan.geometry.payload_start() + 3 * 32 * k_mib);
  CHECK(plan.absent_blocks == n - 3);
  CHECK(plan.geometry.bat_entries() == n + (n - 1) / 128);
  CHECK(export_disk_size(64ull << 40, 32 << 20) > vhdx::k_max_virtual_size);
  CHECK_THROWS_AS(plan_export({}, 4 << 20, 64ull << 40, 32 << 20,
                              guid_from_string(gpt::k_basic_data), "00000000000000dd"),
                  Error);
}

TEST_CASE("vhdx reader: reads a well-formed file back") {
  const ExportLayout plan = small_plan();
  test::MemorySource src(build_file(plan, 0xAB), "t.vhdx");
  VhdxReader reader(src);
  CHECK(reader.geometry().virtual_size == 10 * k_mib);
  CHECK(reader.geometry().block_size == k_mib);
  CHECK(reader.geometry().logical_sector == 512);
  CHECK(reader.geometry().physical_sector == 4096);
  CHECK(reader.sequence() == 2);
  CHECK(reader.disk_id() == export_identity("0123456789abcdef").disk_id);
  std::vector<uint8_t> buf(2 * k_mib);
  reader.read(buf.data(), buf.size(), k_mib);  // data, then a free block
  CHECK(buf[0] == 0xAB);
  CHECK(buf[k_mib - 1] == 0xAB);
  CHECK(buf[k_mib] == 0);
  CHECK(buf.back() == 0);
  CHECK_THROWS_AS(reader.read(buf.data(), 2, 10 * k_mib - 1), Error);
}

TEST_CASE("vhdx reader: headers, sequence numbers and the log") {
  const ExportLayout plan = small_plan();
  const std::vector<uint8_t> good = build_file(plan, 1);
  auto f = good;
  f[vhdx::k_header2 + 100] ^= 1;  // header 2 (current) damaged: header 1 is used
  {
    test::MemorySource src(f, "t.vhdx");
    CHECK(VhdxReader(src).sequence() == 1);
  }
  f[vhdx::k_header1 + 100] ^= 1;
  CHECK(refusal(f).find("CRC-32C") != std::string::npos);
  f = good;
  f[vhdx::k_header2 + 48] = 1;  // LogGuid set, CRC fixed: a log to replay
  fix_header_crc(f, vhdx::k_header2);
  CHECK(refusal(f).find("LogGuid") != std::string::npos);
  f = good;
  set_u64(f.data() + vhdx::k_header1 + 8, 2);  // same sequence number, different content
  f[vhdx::k_header1 + 200] = 7;
  fix_header_crc(f, vhdx::k_header1);
  CHECK(refusal(f).find("sequence number") != std::string::npos);
  f = good;
  std::memcpy(f.data(), "vhdxfilX", 8);
  CHECK(refusal(f).find("identifier") != std::string::npos);
}

TEST_CASE("vhdx reader: region tables and metadata") {
  const ExportLayout plan = small_plan();
  const std::vector<uint8_t> good = build_file(plan, 1);
  auto f = good;
  f[vhdx::k_region2 + 1000] = 1;  // region table 2 damaged
  CHECK(refusal(f).find("region table 2") != std::string::npos);
  f = good;
  f[vhdx::k_region1 + 16 + 28 + 64] = 1;  // an unknown third entry, required
  set_u32(f.data() + vhdx::k_region1 + 8, 3);
  std::memcpy(f.data() + vhdx::k_region2, f.data() + vhdx::k_region1, vhdx::k_region_size);
  fix_region_crcs(f);
  CHECK(refusal(f).find("unknown required region") != std::string::npos);
  f = good;
  set_u64(f.data() + vhdx::k_region1 + 32, vhdx::k_metadata_offset);  // BAT onto metadata
  std::memcpy(f.data() + vhdx::k_region2, f.data() + vhdx::k_region1, vhdx::k_region_size);
  fix_region_crcs(f);
  CHECK(refusal(f).find("overlaps") != std::string::npos);
  f = good;
  const uint64_t m = vhdx::k_metadata_offset;
  set_u32(f.data() + m + 32 + 24, 0);  // the file parameters entry gets another GUID...
  f[m + 32] ^= 0xFF;
  set_u32(f.data() + m + 32 + 24, 4);  // ...and stays required
  CHECK(refusal(f).find("unknown required item") != std::string::npos);
  f = good;
  set_u32(f.data() + m + vhdx::k_metadata_table, 3 << 20);  // block size 3 MiB
  CHECK(refusal(f).find("block size") != std::string::npos);
  f = good;
  set_u32(f.data() + m + vhdx::k_metadata_table + 4, 2);  // HasParent
  CHECK(refusal(f).find("HasParent") != std::string::npos);
  f = good;
  set_u32(f.data() + m + vhdx::k_metadata_table + 32, 1024);  // logical sector 1024
  CHECK(refusal(f).find("sector size") != std::string::npos);
}

TEST_CASE("vhdx reader: invalid BAT states and overlapping blocks") {
  const ExportLayout plan = small_plan();
  const std::vector<uint8_t> good = build_file(plan, 1);
  const uint64_t bat = vhdx::k_bat_offset;
  auto f = good;
  set_u64(f.data() + bat + 8 * 2, vhdx::k_payload_partially_present);
  CHECK(refusal(f).find("payload state 7") != std::string::npos);
  f = good;
  set_u64(f.data() + bat + 8 * 2, get_u64(good.data() + bat + 8));  // two entries, one block
  CHECK(refusal(f).find("overlaps") != std::string::npos);
  f = good;
  set_u64(f.data() + bat + 8 * 2, vhdx::k_payload_fully_present | (uint64_t{3} << 20));
  CHECK(refusal(f).find("overlaps") != std::string::npos);  // onto the BAT region
  f = good;
  set_u64(f.data() + bat + 8 * 2, vhdx::k_payload_fully_present | (uint64_t{4096} << 20));
  CHECK(refusal(f).find("outside the file") != std::string::npos);
  f = good;
  set_u64(f.data() + bat + 8 * 2, uint64_t{1} << 8);  // reserved bits
  CHECK(refusal(f).find("reserved") != std::string::npos);
  f.resize(vhdx::k_mib - 1);
  CHECK(refusal(f).find("smaller") != std::string::npos);
}

TEST_CASE("vhdx reader: a sector-bitmap entry must be unallocated") {
  // 4097 payload blocks: entry 4096 is the first chunk's sector-bitmap entry.
  std::vector<BlockId> map(4095, BlockId::free_marker());
  const ExportLayout plan = plan_export(map, 1 << 20, 4095 * k_mib, 1 << 20,
                                        guid_from_string(gpt::k_basic_data), "00000000000000cc");
  REQUIRE(plan.geometry.payload_blocks() == 4097);
  auto f = build_file(plan, 0);
  test::MemorySource ok(f, "t.vhdx");
  CHECK_NOTHROW(VhdxReader(ok));
  set_u64(f.data() + vhdx::k_bat_offset + 8 * 4096, vhdx::k_sb_present | (uint64_t{1} << 20));
  CHECK(refusal(f).find("sector bitmap") != std::string::npos);
}
