// An NTFS file as the tree reader sees it: every attribute of its base record and of
// the extension records its $ATTRIBUTE_LIST names, copied out of the records, and whole
// attributes assembled from their segments. Everything is parsed from hostile bytes:
// what does not add up throws FsRejected naming the record.
#pragma once

#include "core/fs/fs_ntfs_runlist.hpp"
#include "core/fs/fs_ntfs_volume.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vssimg::ntfs {

// Attribute types and layout the tree reader needs beyond fs_ntfs_layout.hpp.
constexpr uint32_t k_attr_standard_information = 0x10;
constexpr uint32_t k_attr_file_name = 0x30;
constexpr uint32_t k_attr_index_root = 0x90;
constexpr uint32_t k_attr_index_allocation = 0xA0;
constexpr uint32_t k_attr_bitmap = 0xB0;
constexpr uint32_t k_attr_reparse_point = 0xC0;
constexpr uint16_t k_attr_flag_sparse = 0x8000;
constexpr uint16_t k_record_is_directory = 0x0002;
constexpr uint64_t k_record_root = 5;
constexpr uint64_t k_record_upcase = 10;
constexpr uint64_t k_first_user_record = 16;

// One segment of one attribute, owning its bytes.
struct FileAttribute {
  uint32_t type = 0;
  std::string name;  // UTF-8; "" for the unnamed attribute
  uint16_t flags = 0;
  bool non_resident = false;
  std::vector<uint8_t> value;  // resident value
  uint64_t lowest_vcn = 0;     // non-resident: this segment's VCNs and runs
  uint64_t highest_vcn = 0;
  std::vector<Run> runs;
  uint64_t allocated_size = 0;  // meaningful in the segment at VCN 0
  uint64_t data_size = 0;
  uint64_t initialized_size = 0;
  uint8_t compression_unit = 0;  // log2 clusters per compression unit, 0 = none
};

struct MftFile {
  uint64_t number = 0;
  uint16_t sequence = 0;
  uint16_t link_count = 0;
  bool is_directory = false;
  std::vector<FileAttribute> attributes;
};

// Base record `number` and its extension records. A record not in use, an extension
// record (as `number`), or one whose extension records do not point back throws.
MftFile load_file(Volume& volume, uint64_t number);

// A whole attribute, its segments joined in VCN order.
struct Stream {
  bool resident = false;
  std::vector<uint8_t> value;  // resident
  std::vector<Run> runs;       // non-resident, covering VCN 0 to the end
  uint64_t data_size = 0;
  uint64_t initialized_size = 0;
  uint64_t allocated_size = 0;
  uint16_t flags = 0;
  uint8_t compression_unit = 0;
};

// The attribute `type` called `name` of `file`, or nullopt when it has none. Segments
// that leave gaps or overlap, and sizes that do not fit the runs, throw.
std::optional<Stream> find_stream(const MftFile& file, uint32_t type, const std::string& name,
                                  uint64_t cluster_size);

// Messages name a record as "MFT record N".
std::string record_name(uint64_t number);

}  // namespace vssimg::ntfs
