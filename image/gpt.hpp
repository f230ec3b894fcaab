// GUIDs in their on-disk (mixed-endian) form, CRC-32 (IEEE) and a one-partition GPT disk
// as export writes it: protective MBR, primary header and entries at the start, backup
// entries and header at the end (UEFI 2.x, 512-byte logical sectors).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vssimg {

// A GUID as stored on disk: Data1 (u32), Data2 and Data3 (u16) little-endian, then the
// last 8 bytes as written.
struct Guid {
  std::array<uint8_t, 16> bytes{};
  bool is_zero() const;
  bool operator==(const Guid& other) const { return bytes == other.bytes; }
  bool operator!=(const Guid& other) const { return bytes != other.bytes; }
  // "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
  std::string str() const;
};

// Parses the canonical text form; throws Error(failure) on anything else (constants only).
Guid guid_from_string(std::string_view text);
// A version-4-shaped GUID that depends only on `seed`: exporting the same point twice
// gives the same identities, so that the two files are byte for byte equal.
Guid derive_guid(std::string_view seed);

// CRC-32 of IEEE 802.3 (reflected 0xEDB88320, as GPT uses).
uint32_t crc32_ieee(const void* data, size_t len);

namespace gpt {
inline constexpr uint32_t k_sector = 512;
inline constexpr uint32_t k_entries = 128;
inline constexpr uint32_t k_entry_size = 128;
inline constexpr uint32_t k_entry_sectors = k_entries * k_entry_size / k_sector;  // 32
inline constexpr uint32_t k_primary_sectors = 2 + k_entry_sectors;  // MBR, header, entries
inline constexpr uint32_t k_backup_sectors = k_entry_sectors + 1;   // entries, header
inline constexpr char k_basic_data[] = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
inline constexpr char k_linux_data[] = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
}  // namespace gpt

struct GptDisk {
  uint64_t sectors = 0;  // the whole disk, in 512-byte sectors
  Guid disk_guid;
  Guid type;  // of the one partition
  Guid partition_guid;
  uint64_t first_lba = 0;  // the partition, inclusive
  uint64_t last_lba = 0;
  std::string name;  // ASCII, at most 36 characters (stored as UTF-16LE)
};

// The first gpt::k_primary_sectors sectors of the disk (MBR, header at LBA 1, entries
// at LBA 2). Throws Error(failure) if the partition does not fit between the tables.
std::vector<uint8_t> encode_gpt_primary(const GptDisk& disk);
// The last gpt::k_backup_sectors sectors (entries, then the header at the last LBA).
std::vector<uint8_t> encode_gpt_backup(const GptDisk& disk);

}  // namespace vssimg
