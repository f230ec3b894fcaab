// The layout of a point exported as VHDX, computed from the point's block map alone
// (nothing is read): the disk around the volume (GPT, partition at 1 MiB), the VHDX
// geometry, the BAT and which payload blocks the file holds, in file order. A payload
// block is written only if it holds a GPT table or a data block of the point; one of
// only ZERO (or UNREADABLE, restored as zeros) blocks is PAYLOAD_BLOCK_ZERO, one of
// only FREE blocks, or past the end of the volume, PAYLOAD_BLOCK_NOT_PRESENT.
#pragma once

#include "core/base/hash.hpp"
#include "image/gpt.hpp"
#include "image/vhdx_format.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

inline constexpr uint64_t k_partition_offset = 1u << 20;  // the volume starts at 1 MiB

struct ExportLayout {
  VhdxGeometry geometry;
  GptDisk disk;
  uint64_t volume_size = 0;
  uint32_t store_block = 0;
  std::vector<uint64_t> bat;      // geometry.bat_entries() entries
  std::vector<uint64_t> present;  // payload blocks held by the file, in file order
  uint64_t file_size = 0;         // payload_start + present.size() * block size
  uint64_t zero_blocks = 0;       // payload blocks recorded PAYLOAD_BLOCK_ZERO
  uint64_t absent_blocks = 0;     // PAYLOAD_BLOCK_NOT_PRESENT

  // The virtual range of payload block `b` and the file offset it is written at.
  uint64_t block_start(uint64_t b) const { return b * geometry.block_size; }
  uint64_t file_offset(size_t present_index) const {
    return geometry.payload_start() + uint64_t{present_index} * geometry.block_size;
  }
};

// The virtual disk size for a volume: 1 MiB (MBR, primary GPT, alignment), the volume
// rounded up to 1 MiB, 1 MiB for the backup GPT, all rounded up to the block size.
uint64_t export_disk_size(uint64_t volume_size, uint32_t vhdx_block);

// Plans the export of a point (`map` of `store_block`-byte blocks covering
// `volume_size` bytes). `partition_type` is the GPT type of the volume's partition;
// `point_id` seeds the disk's identities. Throws Error(failure) if the disk would
// exceed the format's 64 TiB.
ExportLayout plan_export(const std::vector<BlockId>& map, uint32_t store_block,
                         uint64_t volume_size, uint32_t vhdx_block, const Guid& partition_type,
                         const std::string& point_id);

// The partition type for a point: Linux filesystem data for ext2/3/4, Basic Data for
// everything else (NTFS, FAT, exFAT, unknown). `filesystem` is the point's metadata
// (may be empty); `first4k` the volume's first 4 KiB, probed when it is empty (may be
// null when the first block is not data).
Guid partition_type_for(const std::string& filesystem, const uint8_t* first4k);

// The identities of the exported disk, derived from the point id.
VhdxIdentity export_identity(const std::string& point_id);

}  // namespace vssimg
