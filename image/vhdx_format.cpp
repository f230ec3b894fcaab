#include "image/vhdx_format.hpp"

#include "core/base/bytes.hpp"
#include "core/base/crc.hpp"
#include "core/base/error.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>

namespace vssimg {

namespace {

void set_u16_at(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void put_guid(uint8_t* p, const char* text) {
  std::memcpy(p, guid_from_string(text).bytes.data(), 16);
}

void check_geometry(const VhdxGeometry& g) {
  const bool block_ok = g.block_size >= vhdx::k_mib && g.block_size <= 256 * vhdx::k_mib &&
                        (g.block_size & (g.block_size - 1)) == 0;
  const bool sectors_ok = (g.logical_sector == 512 || g.logical_sector == 4096) &&
                          (g.physical_sector == 512 || g.physical_sector == 4096);
  if (!block_ok || !sectors_ok || g.virtual_size == 0 ||
      g.virtual_size > vhdx::k_max_virtual_size || g.virtual_size % g.logical_sector != 0) {
    throw Error("writing VHDX", fmt::format("disk of {} bytes", g.virtual_size),
                fmt::format("block size {} / sectors {}/{} not allowed by the format", g.block_size,
                            g.logical_sector, g.physical_sector));
  }
}

void encode_header(uint8_t* h, uint64_t sequence, const VhdxIdentity& id) {
  std::memcpy(h, "head", 4);
  set_u64(h + 8, sequence);
  std::memcpy(h + 16, id.file_write.bytes.data(), 16);
  std::memcpy(h + 32, id.data_write.bytes.data(), 16);
  // LogGuid (48) stays zero: there is nothing in the log to replay.
  set_u16_at(h + 64, 0);  // log version
  set_u16_at(h + 66, 1);  // version
  set_u32(h + 68, vhdx::k_log_length);
  set_u64(h + 72, vhdx::k_log_offset);
  set_u32(h + 4, crc32c(h, vhdx::k_header_size));
}

void encode_region_table(uint8_t* r, const VhdxGeometry& g) {
  std::memcpy(r, "regi", 4);
  set_u32(r + 8, 2);
  put_guid(r + 16, vhdx::k_bat_region);
  set_u64(r + 32, vhdx::k_bat_offset);
  set_u32(r + 40, static_cast<uint32_t>(g.bat_length()));
  set_u32(r + 44, 1);  // required
  put_guid(r + 48, vhdx::k_metadata_region);
  set_u64(r + 64, vhdx::k_metadata_offset);
  set_u32(r + 72, vhdx::k_metadata_length);
  set_u32(r + 76, 1);
  set_u32(r + 4, crc32c(r, vhdx::k_region_size));
}

// The metadata table and its five items, packed after the 64 KiB table.
void encode_metadata(uint8_t* m, const VhdxGeometry& g, const VhdxIdentity& id) {
  struct Item {
    const char* guid;
    uint32_t length;
    uint32_t flags;  // bit 1: IsVirtualDisk, bit 2: IsRequired
  };
  const std::array<Item, 5> items = {{{vhdx::k_file_parameters, 8, 4},
                                      {vhdx::k_virtual_disk_size, 8, 6},
                                      {vhdx::k_virtual_disk_id, 16, 6},
                                      {vhdx::k_logical_sector_size, 4, 6},
                                      {vhdx::k_physical_sector_size, 4, 6}}};
  std::memcpy(m, "metadata", 8);
  set_u16_at(m + 10, static_cast<uint16_t>(items.size()));
  uint32_t offset = static_cast<uint32_t>(vhdx::k_metadata_table);
  for (size_t i = 0; i < items.size(); ++i) {
    uint8_t* e = m + 32 + 32 * i;
    put_guid(e, items[i].guid);
    set_u32(e + 16, offset);
    set_u32(e + 20, items[i].length);
    set_u32(e + 24, items[i].flags);
    offset += items[i].length;
  }
  uint8_t* v = m + vhdx::k_metadata_table;
  set_u32(v, g.block_size);
  set_u32(v + 4, 0);  // LeaveBlocksAllocated 0, HasParent 0
  set_u64(v + 8, g.virtual_size);
  std::memcpy(v + 16, id.disk_id.bytes.data(), 16);
  set_u32(v + 32, g.logical_sector);
  set_u32(v + 36, g.physical_sector);
}

}  // namespace

uint32_t crc32c(const void* data, size_t len) {
  return crc32_reflected<k_crc32_castagnoli>(data, len);
}

std::vector<uint8_t> encode_vhdx_head(const VhdxGeometry& g, const VhdxIdentity& id,
                                      const std::vector<uint64_t>& bat) {
  check_geometry(g);
  if (bat.size() != g.bat_entries()) {
    throw Error("writing VHDX", "BAT",
                fmt::format("{} entries, the geometry needs {}", bat.size(), g.bat_entries()));
  }
  std::vector<uint8_t> out(static_cast<size_t>(g.payload_start()), 0);
  std::memcpy(out.data(), "vhdxfile", 8);
  for (size_t i = 0; i < id.creator.size() && i < 255; ++i)
    set_u16_at(out.data() + 8 + 2 * i, static_cast<uint8_t>(id.creator[i]));
  encode_header(out.data() + vhdx::k_header1, 1, id);
  encode_header(out.data() + vhdx::k_header2, 2, id);
  encode_region_table(out.data() + vhdx::k_region1, g);
  encode_region_table(out.data() + vhdx::k_region2, g);
  encode_metadata(out.data() + vhdx::k_metadata_offset, g, id);
  uint8_t* b = out.data() + vhdx::k_bat_offset;
  for (size_t i = 0; i < bat.size(); ++i) set_u64(b + 8 * i, bat[i]);
  return out;
}

}  // namespace vssimg
