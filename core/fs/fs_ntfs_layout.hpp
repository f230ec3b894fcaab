// NTFS on-disk layout: byte offsets of the fields the allocation-map reader uses, in the
// structures it reads (boot sector, multi-sector header, FILE record, attribute header,
// attribute list entry, $VOLUME_INFORMATION, $LogFile restart page and area), and their
// type codes and flags. All fields are little-endian.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vssimg::ntfs {

// Boot sector (BIOS parameter block and NTFS extension).
constexpr size_t k_boot_sector_size = 512;
constexpr size_t k_boot_bytes_per_sector = 0x0B;     // u16
constexpr size_t k_boot_sectors_per_cluster = 0x0D;  // u8, > 0x80: 2^(256 - value)
constexpr size_t k_boot_total_sectors = 0x28;        // u64
constexpr size_t k_boot_mft_lcn = 0x30;              // u64
constexpr size_t k_boot_mftmirr_lcn = 0x38;          // u64
constexpr size_t k_boot_clusters_per_record = 0x40;  // i8, < 0: 2^-value bytes

// Multi-sector header, shared by FILE records and $LogFile restart pages.
constexpr size_t k_multi_sector_magic_size = 4;
constexpr size_t k_usa_offset = 0x04;  // u16: offset of the update sequence array
constexpr size_t k_usa_count = 0x06;   // u16: entries, the update sequence number included
// Multi-sector protection works in 512-byte strides whatever the sector size.
constexpr size_t k_fixup_stride = 512;

// FILE record header.
constexpr size_t k_record_first_attribute = 0x14;  // u16
constexpr size_t k_record_flags = 0x16;            // u16
constexpr size_t k_record_bytes_in_use = 0x18;     // u32
constexpr size_t k_record_base_reference = 0x20;   // u64 MFT reference, 0 in base records
constexpr size_t k_record_number = 0x2C;           // u32, NTFS 3.1 records only
// Where the 3.1 header (with its record number) puts the update sequence array.
constexpr size_t k_record_header_31_usa = 0x30;
constexpr uint16_t k_record_in_use = 0x0001;

// Attribute header, common part.
constexpr size_t k_attr_type = 0x00;          // u32
constexpr size_t k_attr_length = 0x04;        // u32, a multiple of 8
constexpr size_t k_attr_non_resident = 0x08;  // u8
constexpr size_t k_attr_name_length = 0x09;   // u8, in UTF-16 units
constexpr size_t k_attr_name_offset = 0x0A;   // u16
constexpr size_t k_attr_flags = 0x0C;         // u16
constexpr size_t k_attr_header_size = 24;     // the resident header
// Resident attribute.
constexpr size_t k_attr_value_length = 0x10;  // u32
constexpr size_t k_attr_value_offset = 0x14;  // u16
// Non-resident attribute.
constexpr size_t k_attr_lowest_vcn = 0x10;         // u64
constexpr size_t k_attr_highest_vcn = 0x18;        // u64, -1 when empty
constexpr size_t k_attr_mapping_pairs = 0x20;      // u16: offset of the runlist
constexpr size_t k_attr_allocated_size = 0x28;     // u64
constexpr size_t k_attr_data_size = 0x30;          // u64
constexpr size_t k_attr_initialized_size = 0x38;   // u64
constexpr size_t k_attr_non_resident_size = 0x40;  // the header without compression fields

constexpr uint32_t k_attr_attribute_list = 0x20;
constexpr uint32_t k_attr_volume_information = 0x70;
constexpr uint32_t k_attr_data = 0x80;
constexpr uint32_t k_attr_end = 0xFFFFFFFF;
constexpr uint16_t k_attr_flag_compressed = 0x0001;
constexpr uint16_t k_attr_flag_encrypted = 0x4000;

// $ATTRIBUTE_LIST entry.
constexpr size_t k_list_type = 0x00;          // u32
constexpr size_t k_list_entry_length = 0x04;  // u16
constexpr size_t k_list_name_length = 0x06;   // u8
constexpr size_t k_list_lowest_vcn = 0x08;    // u64
constexpr size_t k_list_record = 0x10;        // u64 MFT reference of the holding record
constexpr size_t k_list_entry_min_size = 0x1A;

// An MFT reference: the record number in the low 48 bits, a sequence number above.
constexpr uint64_t k_reference_record_mask = 0xFFFFFFFFFFFFull;

// $VOLUME_INFORMATION value.
constexpr size_t k_volume_info_flags = 0x0A;  // u16
constexpr size_t k_volume_info_size = 0x0C;
constexpr uint16_t k_volume_dirty = 0x0001;

// $LogFile restart page header, and the restart area it points to.
constexpr size_t k_restart_page_size = 0x10;    // u32: system page size
constexpr size_t k_restart_area_offset = 0x18;  // u16
constexpr size_t k_restart_header_size = 0x1E;  // the restart area starts no earlier
constexpr size_t k_restart_in_use_list = 0x0C;  // u16 in the restart area
constexpr size_t k_restart_flags = 0x0E;        // u16 in the restart area
constexpr size_t k_restart_area_min_size = 0x10;
constexpr uint16_t k_restart_no_client = 0xFFFF;
constexpr uint16_t k_restart_volume_is_clean = 0x0002;

// MFT record numbers of the system files read.
constexpr uint64_t k_record_mft = 0;
constexpr uint64_t k_record_logfile = 2;
constexpr uint64_t k_record_volume = 3;
constexpr uint64_t k_record_bitmap = 6;

}  // namespace vssimg::ntfs
