// A BlockSource over a compact fuzz input, so whole filesystem images fit in a few KiB:
//   u32 volume size in 512-byte sectors (at most 64 MiB), then records of
//   u32 sector index + up to 512 bytes of that sector's content.
// Sectors no record names read as zeros. tests/fuzz/pack_image.cpp writes this format.
#pragma once

#include "core/block_source.hpp"
#include "core/bytes.hpp"

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
    for (size_t off = 4; off + 4 < len; off += 4 + k_sector) {
      uint64_t index = get_u32(data + off);
      if (index >= m_sectors) continue;
      m_map[index] = {data + off + 4, std::min(k_sector, len - off - 4)};
    }
  }
  std::string name() const override { return "fuzz input"; }
  uint64_t size() const override { return m_sectors * k_sector; }
  void read_at(void* buf, size_t len, uint64_t offset) override {
    // VolumeReader checks bounds first: a read past the end here is a parser bug.
    if (offset > size() || len > size() - offset) __builtin_trap();
    auto* out = static_cast<uint8_t*>(buf);
    std::memset(out, 0, len);
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
};

}  // namespace vssimg::fuzz
