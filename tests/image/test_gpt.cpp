#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "image/gpt.hpp"
#include "tests/catch.hpp"

#include <cstring>
#include <string>
#include <vector>

using namespace vssimg;

namespace {

GptDisk sample_disk() {
  GptDisk d;
  d.sectors = 20480;  // 10 MiB
  d.disk_guid = derive_guid("disk");
  d.partition_guid = derive_guid("partition");
  d.type = guid_from_string(gpt::k_basic_data);
  d.first_lba = 2048;
  d.last_lba = 2048 + 16384 - 1;
  d.name = "vssimg test";
  return d;
}

// The header's CRC-32 recomputed with its field zeroed, as a GPT reader checks it.
bool header_crc_ok(const uint8_t* h) {
  std::vector<uint8_t> copy(h, h + 92);
  const uint32_t stored = get_u32(copy.data() + 16);
  set_u32(copy.data() + 16, 0);
  return crc32_ieee(copy.data(), copy.size()) == stored;
}

}  // namespace

TEST_CASE("gpt: CRC-32 known vectors") {
  const std::string digits = "123456789";
  CHECK(crc32_ieee(digits.data(), digits.size()) == 0xCBF43926u);
  CHECK(crc32_ieee("", 0) == 0u);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  CHECK(crc32_ieee(fox.data(), fox.size()) == 0x414FA339u);
}

TEST_CASE("gpt: GUIDs are stored mixed-endian and round-trip through text") {
  const Guid g = guid_from_string(gpt::k_basic_data);
  CHECK(g.bytes[0] == 0xA2);  // Data1 0xEBD0A0A2, little-endian
  CHECK(g.bytes[3] == 0xEB);
  CHECK(g.bytes[4] == 0xE5);  // Data2 0xB9E5
  CHECK(g.bytes[8] == 0x87);  // Data4 as written
  CHECK(g.str() == gpt::k_basic_data);
  CHECK(guid_from_string(gpt::k_linux_data).str() == gpt::k_linux_data);
  CHECK_THROWS_AS(guid_from_string("EBD0A0A2-B9E5-4433-87C0-68B6B72699C"), Error);
  CHECK_THROWS_AS(guid_from_string("EBD0A0A2xB9E5-4433-87C0-68B6B72699C7"), Error);
  const Guid d = derive_guid("x");
  CHECK(d == derive_guid("x"));
  CHECK(d != derive_guid("y"));
  CHECK((d.bytes[7] >> 4) == 4);       // version 4
  CHECK((d.bytes[8] & 0xC0) == 0x80);  // RFC 4122 variant
}

TEST_CASE("gpt: primary and backup tables of a one-partition disk") {
  const GptDisk d = sample_disk();
  const auto primary = encode_gpt_primary(d);
  const auto backup = encode_gpt_backup(d);
  REQUIRE(primary.size() == 34 * 512);
  REQUIRE(backup.size() == 33 * 512);
  // Protective MBR: one 0xEE partition from LBA 1 over the rest of the disk.
  CHECK(primary[510] == 0x55);
  CHECK(primary[511] == 0xAA);
  CHECK(primary[446 + 4] == 0xEE);
  CHECK(get_u32(primary.data() + 446 + 8) == 1);
  CHECK(get_u32(primary.data() + 446 + 12) == d.sectors - 1);

  const uint8_t* h = primary.data() + 512;
  CHECK(std::memcmp(h, "EFI PART", 8) == 0);
  CHECK(header_crc_ok(h));
  CHECK(get_u64(h + 24) == 1);
  CHECK(get_u64(h + 32) == d.sectors - 1);
  CHECK(get_u64(h + 40) == 34);
  CHECK(get_u64(h + 48) == d.sectors - 34);
  CHECK(get_u64(h + 72) == 2);
  const uint8_t* entries = primary.data() + 1024;
  CHECK(get_u32(h + 88) == crc32_ieee(entries, 128 * 128));
  CHECK(std::memcmp(entries, d.type.bytes.data(), 16) == 0);
  CHECK(get_u64(entries + 32) == 2048);
  CHECK(get_u64(entries + 40) == d.last_lba);
  CHECK(entries[56] == 'v');
  CHECK(entries[57] == 0);

  const uint8_t* bh = backup.data() + 32 * 512;
  CHECK(std::memcmp(bh, "EFI PART", 8) == 0);
  CHECK(header_crc_ok(bh));
  CHECK(get_u64(bh + 24) == d.sectors - 1);
  CHECK(get_u64(bh + 32) == 1);
  CHECK(get_u64(bh + 72) == d.sectors - 33);
  CHECK(std::memcmp(backup.data(), entries, 128 * 128) == 0);
  CHECK(get_u32(bh + 88) == get_u32(h + 88));
}

TEST_CASE("gpt: a partition that does not fit between the tables is refused") {
  GptDisk d = sample_disk();
  d.last_lba = d.sectors - 33;  // inside the backup entries
  CHECK_THROWS_AS(encode_gpt_primary(d), Error);
  d.last_lba = d.sectors - 34;  // the last usable LBA
  CHECK_NOTHROW(encode_gpt_primary(d));
  d.first_lba = 33;
  CHECK_THROWS_AS(encode_gpt_backup(d), Error);
}
