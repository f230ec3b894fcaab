// A checking reader of VHDX files (dynamic or fixed, no parent, nothing in the log):
// what the tests read exports back with and the fuzz target feeds hostile bytes to. It
// checks more than qemu-img check does: both headers (signature, CRC-32C, version) and
// which one is current by sequence number, a zero LogGuid, both region tables (CRC-32C,
// identical, required entries known, 1 MiB aligned, inside the file, not overlapping),
// every metadata entry (known required items, sizes, values), and every BAT entry
// (valid payload and sector-bitmap states, reserved bits zero, present blocks 1 MiB
// aligned, inside the file and overlapping neither each other nor a region).
#pragma once

#include "core/source/block_source.hpp"
#include "image/vhdx_format.hpp"

#include <cstdint>
#include <vector>

namespace vssimg {

class VhdxReader {
 public:
  // Parses and checks `file` (which must outlive the reader). Throws
  // Error(damage, "reading VHDX", file name, the first problem found).
  explicit VhdxReader(BlockSource& file);

  const VhdxGeometry& geometry() const { return m_geometry; }
  const Guid& disk_id() const { return m_disk_id; }
  uint64_t sequence() const { return m_sequence; }  // of the current header
  // The BAT entry of payload block `b` (< geometry().payload_blocks()).
  uint64_t payload_entry(uint64_t b) const { return m_bat[m_geometry.bat_index(b)]; }
  uint64_t payload_state(uint64_t b) const { return payload_entry(b) & 7; }
  // Reads the virtual disk's [offset, offset+len): zeros where no block is present.
  // Throws Error(usage) for a range past the end of the disk.
  void read(void* buf, size_t len, uint64_t offset) const;

 private:
  struct Range {
    uint64_t offset;
    uint64_t length;
    const char* what;
  };
  std::vector<uint8_t> read_file(uint64_t offset, size_t len, const char* what) const;
  [[noreturn]] void fail(const std::string& cause) const;
  void read_headers();
  void read_region_tables();
  void read_metadata();
  void read_metadata_item(const uint8_t* entry, const std::vector<uint8_t>& region, int& seen);
  void read_bat();
  void check_no_overlap(std::vector<Range> ranges) const;

  BlockSource& m_file;
  uint64_t m_size = 0;
  VhdxGeometry m_geometry;
  Guid m_disk_id;
  uint64_t m_sequence = 0;
  Range m_log{0, 0, "log"};
  Range m_bat_region{0, 0, "BAT region"};
  Range m_metadata_region{0, 0, "metadata region"};
  std::vector<uint64_t> m_bat;
};

}  // namespace vssimg
