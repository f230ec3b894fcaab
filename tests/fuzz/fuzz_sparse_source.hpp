// A BlockSource over a compact fuzz input, so whole filesystem images fit in a few KiB:
//   u32 volume size in 512-byte sectors (at most 64 MiB), then records of either
//   u32 sector index + up to 512 bytes of that sector's content, or
//   u32 (sector index | 0x80000000) + 1 byte that fills the whole sector (0xFF runs:
//   NTFS $LogFile, ext bitmap padding).
// Sectors no record names read as zeros. tests/fuzz/pack_image.cpp writes this format.
#pragma once

#include "core/source/block_source.hpp"
#include "core/base/bytes.hpp"

#include <algorithm>
#include <cstring>
#include <map>

namespace vssimg::fuzz {

constexpr size_t k_sector = 512;
constexpr uint64_t k_max_sectors = (64u << 20) / k_sector;

class SparseSource final : public BlockSource {
 public:
  SparseSource(const uint8_t* data, size_t len) {
    if (len < 4) return;
    m_sectors = std::min<uint64_t>(get_u32(data), k_max_sectors);
    for (size_t off = 4; off + 4 < len;) {
      uint32_t word = get_u32(data + off);
      uint64_t index = word & 0x7FFFFFFF;
      if (word & 0x80000000) {
        if (index < m_sectors) m_fill[index] = data[off + 4];
        m_map.erase(index);
        off += 5;
      } else {
        if (index < m_sectors) m_map[index] = {data + off + 4, std::min(k_sector, len - off - 4)};
        m_fill.erase(index);
        off += 4 + k_sector;
      }
    }
  }
  std::string name() const override { return "fuzz input"; }
  uint64_t size() const override { return m_sectors * k_sector; }
  void read_at(void* buf, size_t len, uint64_t offset) override {
    // VolumeReader checks bounds first: a read past the end here is a parser bug.
    if (offset > size() || len > size() - offset) __builtin_trap();
    auto* out = static_cast<uint8_t*>(buf);
    std::memset(out, 0, len);
    for (auto f = m_fill.lower_bound(offset / k_sector);
         f != m_fill.end() && f->first * k_sector < offset + len; ++f) {
      uint64_t from = std::max(f->first * k_sector, offset);
      uint64_t to = std::min(f->first * k_sector + k_sector, offset + len);
      std::memset(out + (from - offset), f->second, to - from);
    }
    auto it = m_map.lower_bound(offset / k_sector);
    for (; it != m_map.end() && it->first * k_sector < offset + len; ++it) {
      uint64_t s = it->first * k_sector;
      uint64_t from = std::max(s, offset);
      uint64_t to = std::min(s + it->second.second, offset + len);
      if (from < to) std::memcpy(out + (from - offset), it->second.first + (from - s), to - from);
    }
  }

 private:
  uint64_t m_sectors = 0;
  std::map<uint64_t, std::pair<const uint8_t*, size_t>> m_map;
  std::map<uint64_t, uint8_t> m_fill;
};

}  // namespace vssimg::fuzz
