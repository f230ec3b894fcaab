// Which byte ranges of a volume the filesystem uses. The backup pipeline reads only
// blocks that overlap a used range and records the others as FREE.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t end() const { return offset + length; }
};

class AllocationMap {
 public:
  AllocationMap() = default;
  // `ranges` need not be sorted or disjoint; they are normalised here.
  AllocationMap(std::string filesystem, uint64_t volume_size, std::vector<ByteRange> ranges);

  const std::string& filesystem() const { return m_filesystem; }
  uint64_t volume_size() const { return m_volume_size; }
  const std::vector<ByteRange>& used() const { return m_used; }
  uint64_t used_bytes() const;
  // True if any byte of [offset, offset+length) is used.
  bool any_used(uint64_t offset, uint64_t length) const;
  // Marks a range as unused (pagefile, hiberfil) — never used for filesystem metadata.
  void clear(ByteRange range);

 private:
  std::string m_filesystem;
  uint64_t m_volume_size = 0;
  std::vector<ByteRange> m_used;  // sorted, disjoint, non-adjacent
};

}  // namespace vssimg
