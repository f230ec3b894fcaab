// The VHDX container (MS-VHDX v1) as export writes it and vhdx_reader checks it: the
// fixed offsets, the GUIDs of the regions and metadata items, CRC-32C, the geometry of
// a dynamic disk (BAT size, chunk ratio, where payload blocks start) and the encoder of
// everything before the first payload block. docs/export.md describes the layout.
#pragma once

#include "image/gpt.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

// CRC-32C (Castagnoli, reflected 0x82F63B78), as VHDX headers and region tables use.
uint32_t crc32c(const void* data, size_t len);

namespace vhdx {
inline constexpr uint64_t k_mib = 1u << 20;
inline constexpr uint64_t k_header1 = 64u << 10;
inline constexpr uint64_t k_header2 = 128u << 10;
inline constexpr uint64_t k_region1 = 192u << 10;
inline constexpr uint64_t k_region2 = 256u << 10;
inline constexpr size_t k_header_size = 4096;       // checksummed part of a header
inline constexpr size_t k_region_size = 64u << 10;  // a region table, checksummed whole
inline constexpr size_t k_metadata_table = 64u << 10;
inline constexpr uint64_t k_log_offset = 1 * k_mib;  // our layout: log, metadata, BAT
inline constexpr uint32_t k_log_length = 1 * k_mib;
inline constexpr uint64_t k_metadata_offset = 2 * k_mib;
inline constexpr uint32_t k_metadata_length = 1 * k_mib;
inline constexpr uint64_t k_bat_offset = 3 * k_mib;
inline constexpr uint64_t k_max_virtual_size = 64ull << 40;  // 64 TiB, the format's limit

// BAT entry states (low 3 bits; the file offset in MiB is in bits 20-63).
inline constexpr uint64_t k_payload_not_present = 0;
inline constexpr uint64_t k_payload_undefined = 1;
inline constexpr uint64_t k_payload_zero = 2;
inline constexpr uint64_t k_payload_unmapped = 3;
inline constexpr uint64_t k_payload_fully_present = 6;
inline constexpr uint64_t k_payload_partially_present = 7;
inline constexpr uint64_t k_sb_not_present = 0;
inline constexpr uint64_t k_sb_present = 6;

inline constexpr char k_bat_region[] = "2DC27766-F623-4200-9D64-115E9BFD4A08";
inline constexpr char k_metadata_region[] = "8B7CA206-4790-4B9A-B8FE-575F050F886E";
inline constexpr char k_file_parameters[] = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B";
inline constexpr char k_virtual_disk_size[] = "2FA54224-CD1B-4876-B211-5DBED83BF4B8";
inline constexpr char k_virtual_disk_id[] = "BECA12AB-B2E6-4523-93EF-C309E000C746";
inline constexpr char k_logical_sector_size[] = "8141BF1D-A96F-4709-BA47-F233A8FAAB5F";
inline constexpr char k_physical_sector_size[] = "CDA348C7-445D-4471-9CC9-E9885251C556";
inline constexpr char k_parent_locator[] = "A8D35F2D-B30B-454D-ABF7-D3D84834AB0C";
}  // namespace vhdx

// The shape of a dynamic VHDX without a parent.
struct VhdxGeometry {
  uint64_t virtual_size = 0;
  uint32_t block_size = 0;  // payload block: a power of two, 1 MiB to 256 MiB
  uint32_t logical_sector = 512;
  uint32_t physical_sector = 4096;

  // Payload blocks per sector-bitmap block: 2^23 sectors / sectors per block.
  uint64_t chunk_ratio() const { return (uint64_t{1} << 23) * logical_sector / block_size; }
  uint64_t payload_blocks() const { return (virtual_size + block_size - 1) / block_size; }
  // Payload entries with a sector-bitmap entry after every chunk_ratio of them.
  uint64_t bat_entries() const {
    const uint64_t n = payload_blocks();
    return n == 0 ? 0 : n + (n - 1) / chunk_ratio();
  }
  uint64_t bat_index(uint64_t payload_block) const {
    return payload_block + payload_block / chunk_ratio();
  }
  uint64_t bat_length() const {
    return (bat_entries() * 8 + vhdx::k_mib - 1) / vhdx::k_mib * vhdx::k_mib;
  }
  // Where the first payload block may go: after the BAT region.
  uint64_t payload_start() const { return vhdx::k_bat_offset + bat_length(); }
};

struct VhdxIdentity {
  Guid file_write;
  Guid data_write;
  Guid disk_id;
  std::string creator;  // the file identifier's creator (ASCII, stored as UTF-16LE)
};

// Everything from offset 0 to geometry.payload_start(): file identifier, both headers
// (sequence numbers 1 and 2, LogGuid zero), both region tables, an empty log, the
// metadata and the BAT (`bat` holds geometry.bat_entries() entries). Throws
// Error(failure) for a geometry the format does not allow.
std::vector<uint8_t> encode_vhdx_head(const VhdxGeometry& geometry, const VhdxIdentity& identity,
                                      const std::vector<uint64_t>& bat);

}  // namespace vssimg
