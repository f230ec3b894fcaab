#include "image/gpt.hpp"

#include "core/base/bytes.hpp"
#include "core/base/crc.hpp"
#include "core/base/error.hpp"
#include "core/base/hash.hpp"

#include <fmt/format.h>

#include <cstring>

namespace vssimg {

namespace {

// Byte positions of the text form's hex pairs, in on-disk order (Data1-3 reversed).
constexpr int k_text_pos[16] = {6, 4, 2, 0, 11, 9, 16, 14, 19, 21, 24, 26, 28, 30, 32, 34};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void set_u16_at(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

// The 92-byte header of GPT, at `my_lba`, describing entries at `entries_lba`.
void encode_header(uint8_t* h, const GptDisk& disk, uint64_t my_lba, uint64_t other_lba,
                   uint64_t entries_lba, uint32_t entries_crc) {
  std::memcpy(h, "EFI PART", 8);
  set_u32(h + 8, 0x00010000);  // revision 1.0
  set_u32(h + 12, 92);
  set_u64(h + 24, my_lba);
  set_u64(h + 32, other_lba);
  set_u64(h + 40, gpt::k_primary_sectors);                    // first usable LBA
  set_u64(h + 48, disk.sectors - gpt::k_backup_sectors - 1);  // last usable LBA
  std::memcpy(h + 56, disk.disk_guid.bytes.data(), 16);
  set_u64(h + 72, entries_lba);
  set_u32(h + 80, gpt::k_entries);
  set_u32(h + 84, gpt::k_entry_size);
  set_u32(h + 88, entries_crc);
  set_u32(h + 16, crc32_ieee(h, 92));
}

std::vector<uint8_t> encode_entries(const GptDisk& disk) {
  if (disk.sectors < gpt::k_primary_sectors + gpt::k_backup_sectors + 1 ||
      disk.first_lba < gpt::k_primary_sectors || disk.last_lba < disk.first_lba ||
      disk.last_lba > disk.sectors - gpt::k_backup_sectors - 1 || disk.name.size() > 36) {
    throw Error("writing GPT", fmt::format("disk of {} sectors", disk.sectors),
                fmt::format("partition {}-{} does not fit between the tables", disk.first_lba,
                            disk.last_lba));
  }
  std::vector<uint8_t> entries(size_t{gpt::k_entries} * gpt::k_entry_size, 0);
  uint8_t* e = entries.data();
  std::memcpy(e, disk.type.bytes.data(), 16);
  std::memcpy(e + 16, disk.partition_guid.bytes.data(), 16);
  set_u64(e + 32, disk.first_lba);
  set_u64(e + 40, disk.last_lba);
  for (size_t i = 0; i < disk.name.size(); ++i)
    set_u16_at(e + 56 + 2 * i, static_cast<uint8_t>(disk.name[i]));
  return entries;
}

}  // namespace

bool Guid::is_zero() const {
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

std::string Guid::str() const {
  std::string s = "00000000-0000-0000-0000-000000000000";
  constexpr char k_hex[] = "0123456789ABCDEF";
  for (int i = 0; i < 16; ++i) {
    s[k_text_pos[i]] = k_hex[bytes[i] >> 4];
    s[k_text_pos[i] + 1] = k_hex[bytes[i] & 15];
  }
  return s;
}

Guid guid_from_string(std::string_view text) {
  Guid g;
  bool ok =
      text.size() == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-';
  for (int i = 0; ok && i < 16; ++i) {
    int hi = hex_value(text[k_text_pos[i]]), lo = hex_value(text[k_text_pos[i] + 1]);
    ok = hi >= 0 && lo >= 0;
    g.bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  if (!ok) throw Error("parsing GUID", std::string(text), "not of the form 8-4-4-4-12 hex digits");
  return g;
}

Guid derive_guid(std::string_view seed) {
  Guid g;
  std::string a = "vssimg guid a " + std::string(seed);
  std::string b = "vssimg guid b " + std::string(seed);
  set_u64(g.bytes.data(), checksum64(a.data(), a.size()));
  set_u64(g.bytes.data() + 8, checksum64(b.data(), b.size()));
  g.bytes[7] = static_cast<uint8_t>((g.bytes[7] & 0x0F) | 0x40);  // version 4 (Data3 high nibble)
  g.bytes[8] = static_cast<uint8_t>((g.bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return g;
}

uint32_t crc32_ieee(const void* data, size_t len) {
  return crc32_reflected<k_crc32_ieee>(data, len);
}

std::vector<uint8_t> encode_gpt_primary(const GptDisk& disk) {
  const std::vector<uint8_t> entries = encode_entries(disk);
  std::vector<uint8_t> out(size_t{gpt::k_primary_sectors} * gpt::k_sector, 0);
  // Protective MBR: one partition of type 0xEE from LBA 1 over the disk (capped at 2^32-1).
  uint8_t* p = out.data() + 446;
  p[1] = 0x00;
  p[2] = 0x02;
  p[3] = 0x00;
  p[4] = 0xEE;
  p[5] = p[6] = p[7] = 0xFF;
  set_u32(p + 8, 1);
  const uint64_t covered = disk.sectors - 1;
  set_u32(p + 12, covered > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(covered));
  out[510] = 0x55;
  out[511] = 0xAA;
  const uint32_t crc = crc32_ieee(entries.data(), entries.size());
  encode_header(out.data() + gpt::k_sector, disk, 1, disk.sectors - 1, 2, crc);
  std::memcpy(out.data() + 2 * gpt::k_sector, entries.data(), entries.size());
  return out;
}

std::vector<uint8_t> encode_gpt_backup(const GptDisk& disk) {
  const std::vector<uint8_t> entries = encode_entries(disk);
  std::vector<uint8_t> out(size_t{gpt::k_backup_sectors} * gpt::k_sector, 0);
  std::memcpy(out.data(), entries.data(), entries.size());
  const uint32_t crc = crc32_ieee(entries.data(), entries.size());
  encode_header(out.data() + size_t{gpt::k_entry_sectors} * gpt::k_sector, disk, disk.sectors - 1,
                1, disk.sectors - gpt::k_backup_sectors, crc);
  return out;
}

}  // namespace vssimg
