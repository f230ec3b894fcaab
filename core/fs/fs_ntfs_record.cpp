// NTFS boot sector, multi-sector fixups and MFT record attributes: bounds-checked parsing
// of bytes read from disk (see fs_ntfs_record.hpp).
#include "core/fs/fs_ntfs_record.hpp"

#include "core/base/bytes.hpp"
#include "core/fs/fs_ntfs_layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg::ntfs {

namespace {

constexpr uint32_t k_max_cluster_size = 2u << 20;  // Windows' largest NTFS cluster
constexpr uint32_t k_max_record_size = 64u << 10;

// Sectors per cluster as the boot sector encodes them: values above 0x80 stand for
// 2^(256 - value) sectors (Windows 10 1903+).
uint64_t decode_sectors_per_cluster(uint8_t spc) {
  return spc <= 0x80 ? spc : uint64_t{1} << std::min(256 - spc, 31);
}

// The MFT record size: clusters per record if positive, else 2^-value bytes; 0 when the
// field is out of range.
uint64_t decode_record_size(int8_t cpr, uint64_t cluster_size) {
  if (cpr > 0) return static_cast<uint64_t>(cpr) * cluster_size;
  if (cpr >= -31) return uint64_t{1} << -cpr;
  return 0;
}

// Where a record's attributes lie: [first_attribute, in_use) of the record.
struct RecordBounds {
  size_t first_attribute = 0;
  size_t in_use = 0;
};

RecordBounds check_record_header(const std::vector<uint8_t>& rec, uint64_t number,
                                 const std::string& what) {
  const uint8_t* r = rec.data();
  uint16_t flags = get_u16(r + k_record_flags);
  if (!(flags & k_record_in_use)) throw FsRejected(fmt::format("{}: record not in use", what));
  size_t usa_end = get_u16(r + k_usa_offset) + 2 * size_t{get_u16(r + k_usa_count)};
  RecordBounds b;
  b.first_attribute = get_u16(r + k_record_first_attribute);
  b.in_use = get_u32(r + k_record_bytes_in_use);
  if (b.in_use > rec.size() || b.first_attribute < usa_end || b.first_attribute + 8 > b.in_use) {
    throw FsRejected(
        fmt::format("{}: header sizes (attributes at {}, {} bytes in use) are inconsistent", what,
                    b.first_attribute, b.in_use));
  }
  // NTFS 3.1 records carry their own number: catches a record read from the wrong place.
  if (get_u16(r + k_usa_offset) >= k_record_header_31_usa &&
      get_u32(r + k_record_number) != (number & 0xFFFFFFFF)) {
    throw FsRejected(fmt::format("{}: holds record number {}", what, get_u32(r + k_record_number)));
  }
  return b;
}

void read_non_resident_fields(Attribute& a, const std::string& what) {
  if (a.length < k_attr_non_resident_size)
    throw FsRejected(fmt::format("{}: non-resident attribute too short", what));
  a.lowest_vcn = get_u64(a.p + k_attr_lowest_vcn);
  a.highest_vcn = get_u64(a.p + k_attr_highest_vcn);
  size_t mp = get_u16(a.p + k_attr_mapping_pairs);
  if (mp < k_attr_non_resident_size || mp >= a.length)
    throw FsRejected(fmt::format("{}: mapping pairs offset {} out of range", what, mp));
  a.mapping_pairs = a.p + mp;
  a.mapping_pairs_len = a.length - mp;
  a.allocated_size = get_u64(a.p + k_attr_allocated_size);
  a.data_size = get_u64(a.p + k_attr_data_size);
  a.initialized_size = get_u64(a.p + k_attr_initialized_size);
}

void read_resident_fields(Attribute& a, const std::string& what) {
  a.value_length = get_u32(a.p + k_attr_value_length);
  size_t vo = get_u16(a.p + k_attr_value_offset);
  if (vo > a.length || a.value_length > a.length - vo) {
    throw FsRejected(fmt::format("{}: resident value past its attribute", what));
  }
  a.value = a.p + vo;
}

// The attribute of type `type` at r[off], its header inside the in_use bytes.
Attribute read_attribute(const uint8_t* r, size_t off, size_t in_use, uint32_t type,
                         const std::string& what) {
  Attribute a;
  a.type = type;
  if (off + k_attr_header_size > in_use)
    throw FsRejected(fmt::format("{}: attribute header past the record", what));
  a.length = get_u32(r + off + k_attr_length);
  if (a.length < k_attr_header_size || a.length % 8 != 0 || a.length > in_use - off) {
    throw FsRejected(fmt::format("{}: attribute 0x{:X} has bad length {}", what, a.type, a.length));
  }
  a.p = r + off;
  a.non_resident = a.p[k_attr_non_resident] != 0;
  a.name_length = a.p[k_attr_name_length];
  size_t name_offset = get_u16(a.p + k_attr_name_offset);
  a.flags = get_u16(a.p + k_attr_flags);
  if (a.name_length != 0 && name_offset + 2 * size_t{a.name_length} > a.length) {
    throw FsRejected(fmt::format("{}: attribute 0x{:X} name past its end", what, a.type));
  }
  if (a.non_resident) {
    read_non_resident_fields(a, what);
  } else {
    read_resident_fields(a, what);
  }
  return a;
}

}  // namespace

Geometry parse_boot_sector(const uint8_t* b, uint64_t volume_size) {
  Geometry g;
  g.sector_size = get_u16(b + k_boot_bytes_per_sector);
  if (g.sector_size < 256 || g.sector_size > 4096 || !is_power_of_two(g.sector_size)) {
    throw FsRejected(
        fmt::format("boot sector: bytes per sector {} is not 256..4096", g.sector_size));
  }
  uint8_t spc = b[k_boot_sectors_per_cluster];
  uint64_t sectors_per_cluster = decode_sectors_per_cluster(spc);
  if (!is_power_of_two(sectors_per_cluster)) {
    throw FsRejected(fmt::format("boot sector: sectors per cluster {} is not a power of two", spc));
  }
  g.cluster_size = sectors_per_cluster * g.sector_size;
  if (g.cluster_size > k_max_cluster_size) {
    throw FsRejected(fmt::format("boot sector: cluster size {} exceeds 2 MiB", g.cluster_size));
  }
  uint64_t total_sectors = get_u64(b + k_boot_total_sectors);
  if (total_sectors == 0 || total_sectors > volume_size / g.sector_size) {
    throw FsRejected(
        fmt::format("boot sector: {} sectors of {} bytes do not fit the {}-byte volume",
                    total_sectors, g.sector_size, volume_size));
  }
  g.total_clusters = total_sectors / sectors_per_cluster;
  g.mft_lcn = get_u64(b + k_boot_mft_lcn);
  g.mftmirr_lcn = get_u64(b + k_boot_mftmirr_lcn);
  if (g.mft_lcn == 0 || g.mft_lcn >= g.total_clusters || g.mftmirr_lcn >= g.total_clusters) {
    throw FsRejected(
        fmt::format("boot sector: $MFT at cluster {} / $MFTMirr at {} outside {} clusters",
                    g.mft_lcn, g.mftmirr_lcn, g.total_clusters));
  }
  uint64_t record_size =
      decode_record_size(static_cast<int8_t>(b[k_boot_clusters_per_record]), g.cluster_size);
  if (record_size < k_fixup_stride || record_size > k_max_record_size ||
      !is_power_of_two(record_size)) {
    throw FsRejected(fmt::format("boot sector: MFT record size {} is not 512..65536", record_size));
  }
  g.record_size = static_cast<uint32_t>(record_size);
  return g;
}

void apply_fixups(std::vector<uint8_t>& rec, const char* magic, const std::string& what) {
  if (rec.size() < k_fixup_stride ||
      std::memcmp(rec.data(), magic, k_multi_sector_magic_size) != 0) {
    throw FsRejected(fmt::format("{}: no '{}' signature", what, magic));
  }
  size_t usa_ofs = get_u16(rec.data() + k_usa_offset);
  size_t usa_count = get_u16(rec.data() + k_usa_count);
  size_t strides = rec.size() / k_fixup_stride;
  // The array must lie in the first stride, before that stride's own fixup bytes.
  if (usa_count != strides + 1 || usa_ofs < 8 || usa_ofs + 2 * usa_count > k_fixup_stride - 2) {
    throw FsRejected(fmt::format("{}: update sequence array (offset {}, count {}) does not fit",
                                 what, usa_ofs, usa_count));
  }
  uint16_t usn = get_u16(rec.data() + usa_ofs);
  for (size_t i = 1; i < usa_count; ++i) {
    uint8_t* tail = rec.data() + i * k_fixup_stride - 2;
    if (get_u16(tail) != usn)
      throw FsRejected(fmt::format("{}: torn write (update sequence mismatch)", what));
    std::memcpy(tail, rec.data() + usa_ofs + 2 * i, 2);
  }
}

std::vector<Attribute> record_attributes(const std::vector<uint8_t>& rec, uint64_t number,
                                         const std::string& what) {
  const RecordBounds bounds = check_record_header(rec, number, what);
  std::vector<Attribute> out;
  size_t off = bounds.first_attribute;
  while (true) {
    if (off + 4 > bounds.in_use)
      throw FsRejected(fmt::format("{}: attributes run past the record", what));
    uint32_t type = get_u32(rec.data() + off + k_attr_type);
    if (type == k_attr_end) break;
    out.push_back(read_attribute(rec.data(), off, bounds.in_use, type, what));
    off += out.back().length;
  }
  return out;
}

}  // namespace vssimg::ntfs
