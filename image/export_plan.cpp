#include "image/export_plan.hpp"

#include "core/base/error.hpp"
#include "core/fs/fs_volume.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vssimg {

namespace {

constexpr uint64_t k_mib = 1u << 20;

uint64_t round_up(uint64_t v, uint64_t to) {
  return (v + to - 1) / to * to;
}

enum class Content { data, zero, absent };

// What payload block `b` holds: a GPT table or a data block makes it data; ZERO and
// UNREADABLE blocks (both read back as zeros) make it zero; FREE and nothing, absent.
Content classify(const ExportLayout& l, const std::vector<BlockId>& map, uint64_t b) {
  const uint64_t disk = l.geometry.virtual_size;
  const uint64_t start = l.block_start(b);
  const uint64_t end = std::min<uint64_t>(start + l.geometry.block_size, disk);
  const uint64_t primary_end = uint64_t{gpt::k_primary_sectors} * gpt::k_sector;
  const uint64_t backup_start = disk - uint64_t{gpt::k_backup_sectors} * gpt::k_sector;
  if (start < primary_end || end > backup_start) return Content::data;
  const uint64_t lo = std::max(start, k_partition_offset);
  const uint64_t hi = std::min(end, k_partition_offset + l.volume_size);
  Content c = Content::absent;
  if (lo >= hi) return c;
  for (uint64_t s = (lo - k_partition_offset) / l.store_block;
       s <= (hi - 1 - k_partition_offset) / l.store_block; ++s) {
    const BlockId& id = map[s];
    if (!id.is_marker()) return Content::data;
    if (!id.is_free()) c = Content::zero;
  }
  return c;
}

}  // namespace

uint64_t export_disk_size(uint64_t volume_size, uint32_t vhdx_block) {
  return round_up(k_partition_offset + round_up(volume_size, k_mib) + k_mib, vhdx_block);
}

ExportLayout plan_export(const std::vector<BlockId>& map, uint32_t store_block,
                         uint64_t volume_size, uint32_t vhdx_block, const Guid& partition_type,
                         const std::string& point_id) {
  ExportLayout l;
  l.volume_size = volume_size;
  l.store_block = store_block;
  l.geometry.block_size = vhdx_block;
  l.geometry.virtual_size = export_disk_size(volume_size, vhdx_block);
  if (store_block == 0 || (volume_size + store_block - 1) / store_block != map.size() ||
      l.geometry.virtual_size > vhdx::k_max_virtual_size) {
    throw Error("planning VHDX", "point " + point_id,
                fmt::format("a volume of {} bytes in {} blocks of {} does not fit a VHDX of at "
                            "most 64 TiB",
                            volume_size, map.size(), store_block));
  }
  l.disk.sectors = l.geometry.virtual_size / gpt::k_sector;
  l.disk.disk_guid = derive_guid("gpt disk " + point_id);
  l.disk.partition_guid = derive_guid("gpt partition " + point_id);
  l.disk.type = partition_type;
  l.disk.first_lba = k_partition_offset / gpt::k_sector;
  l.disk.last_lba = l.disk.first_lba + (volume_size + gpt::k_sector - 1) / gpt::k_sector - 1;
  l.disk.name = "vssimg " + point_id;

  l.bat.assign(l.geometry.bat_entries(), vhdx::k_sb_not_present);
  const uint64_t first_mb = l.geometry.payload_start() / k_mib;
  for (uint64_t b = 0; b < l.geometry.payload_blocks(); ++b) {
    uint64_t& entry = l.bat[l.geometry.bat_index(b)];
    switch (classify(l, map, b)) {
      case Content::data:
        entry = vhdx::k_payload_fully_present |
                ((first_mb + l.present.size() * (vhdx_block / k_mib)) << 20);
        l.present.push_back(b);
        break;
      case Content::zero:
        entry = vhdx::k_payload_zero;
        ++l.zero_blocks;
        break;
      case Content::absent:
        entry = vhdx::k_payload_not_present;
        ++l.absent_blocks;
        break;
    }
  }
  l.file_size = l.file_offset(l.present.size());
  return l;
}

Guid partition_type_for(const std::string& filesystem, const uint8_t* first4k) {
  const bool ext =
      filesystem.empty() ? first4k && looks_like_ext(first4k) : filesystem.rfind("ext", 0) == 0;
  return guid_from_string(ext ? gpt::k_linux_data : gpt::k_basic_data);
}

VhdxIdentity export_identity(const std::string& point_id) {
  VhdxIdentity id;
  id.file_write = derive_guid("vhdx file write " + point_id);
  id.data_write = derive_guid("vhdx data write " + point_id);
  id.disk_id = derive_guid("vhdx disk " + point_id);
  id.creator = "vssimg";
  return id;
}

}  // namespace vssimg
