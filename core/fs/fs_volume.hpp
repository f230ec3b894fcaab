// Internal to the filesystem parsers (fs_*.cpp): bounds-checked volume reads, the
// "this filesystem fails a check" exception, and range building. Not for image/ or cli/.
#pragma once

#include "core/fs/alloc_map.hpp"
#include "core/source/block_source.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace vssimg {

// Thrown by a parser when the on-disk structures fail a check. read_allocation_map
// turns it into "no map" and a note; it never leaves core/. The message completes
// "<filesystem>: <message>: imaging all blocks".
class FsRejected : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads from a block source on behalf of a parser. An offset or length taken from disk
// that falls outside the source is a damaged filesystem (FsRejected), not an I/O error;
// alignment for unbuffered sources is handled here.
class VolumeReader {
 public:
  explicit VolumeReader(BlockSource& source) : m_source(source) {}
  uint64_t size() const { return m_source.size(); }
  BlockSource& source() { return m_source; }
  // Reads [offset, offset+len) into out (resized to len). `what` names the structure
  // for the rejection message ("NTFS boot sector").
  void read(uint64_t offset, size_t len, std::vector<uint8_t>& out, const char* what);
  std::vector<uint8_t> read(uint64_t offset, size_t len, const char* what) {
    std::vector<uint8_t> out;
    read(offset, len, out, what);
    return out;
  }

 private:
  BlockSource& m_source;
};

// Collects ranges in increasing order, merging each with the previous one when they
// touch, so a bitmap of a large volume becomes as few ranges as it has runs.
class RangeBuilder {
 public:
  void add(uint64_t offset, uint64_t length);
  std::vector<ByteRange>& ranges() { return m_ranges; }

 private:
  std::vector<ByteRange> m_ranges;
};

// Adds a range per run of set bits in `bits` (LSB first, as NTFS, ext and Windows store
// them), bit i standing for cluster first_cluster + i; only the first bit_count bits
// are read. Caller guarantees bits holds at least ceil(bit_count / 8) bytes and that
// (first_cluster + bit_count) * cluster_size does not overflow.
void add_bitmap_runs(RangeBuilder& out, const uint8_t* bits, uint64_t bit_count,
                     uint64_t first_cluster, uint64_t cluster_size);

struct FsScan {
  std::string filesystem;       // "ntfs", "ext4", "fat32": the map's filesystem name
  std::string summary;          // what was read, for the note ("$Bitmap, 3 runs")
  std::vector<ByteRange> used;  // in any order; AllocationMap normalises
};

// Per-filesystem readers. Each returns the used ranges or throws FsRejected; I/O errors
// of the source propagate as Error.
FsScan scan_ntfs(VolumeReader& volume);
// ext2/3/4 through libext2fs (fs_ext_libext2fs.cpp); the build without libext2fs
// (fs_ext_fallback.cpp) throws FsRejected saying so.
FsScan scan_ext(VolumeReader& volume);

// Cheap signature checks on the first 4 KiB of the volume.
bool looks_like_ntfs(const uint8_t* first4k);
bool looks_like_ext(const uint8_t* first4k);
bool looks_like_fat32(const uint8_t* first4k);
bool looks_like_exfat(const uint8_t* first4k);

}  // namespace vssimg
