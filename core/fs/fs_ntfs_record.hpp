// NTFS structures read in place: the boot sector's geometry, the multi-sector protection
// of records, and the attributes of an MFT record. Everything here parses hostile bytes:
// a field that does not add up throws FsRejected naming `what`.
#pragma once

#include "core/fs/fs_volume.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vssimg::ntfs {

inline bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// The volume geometry from the boot sector, every value checked against the volume.
struct Geometry {
  uint32_t sector_size = 0;
  uint64_t cluster_size = 0;
  uint64_t total_clusters = 0;
  uint64_t mft_lcn = 0;
  uint64_t mftmirr_lcn = 0;
  uint32_t record_size = 0;
};

// Reads the geometry from the first 512 bytes of the volume (`b`).
Geometry parse_boot_sector(const uint8_t* b, uint64_t volume_size);

// Reverses NTFS multi-sector protection in place on a record or restart page whose
// signature must be `magic` ("FILE", "RSTR"): the last two bytes of every 512-byte
// stride were replaced on write by the update sequence number and saved in the update
// sequence array. A mismatch is a torn write or not a record at all.
void apply_fixups(std::vector<uint8_t>& rec, const char* magic, const std::string& what);

// One attribute of an MFT record; its pointers point into the record's bytes, and every
// length was checked to stay inside the attribute.
struct Attribute {
  uint32_t type = 0;
  const uint8_t* p = nullptr;  // start of the attribute header inside the record
  uint32_t length = 0;
  bool non_resident = false;
  uint8_t name_length = 0;
  uint16_t flags = 0;
  // Non-resident:
  uint64_t lowest_vcn = 0;
  uint64_t highest_vcn = 0;
  const uint8_t* mapping_pairs = nullptr;
  size_t mapping_pairs_len = 0;
  uint64_t allocated_size = 0;
  uint64_t data_size = 0;
  uint64_t initialized_size = 0;
  // Resident:
  const uint8_t* value = nullptr;
  uint32_t value_length = 0;
};

// Checks the header of record `number` (fixups already applied) and lists its
// attributes up to the end marker. The result points into `rec`.
std::vector<Attribute> record_attributes(const std::vector<uint8_t>& rec, uint64_t number,
                                         const std::string& what);

}  // namespace vssimg::ntfs
