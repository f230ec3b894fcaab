#include "core/fs/alloc_map.hpp"

#include <algorithm>

namespace vssimg {

AllocationMap::AllocationMap(std::string filesystem, uint64_t volume_size,
                             std::vector<ByteRange> ranges)
    : m_filesystem(std::move(filesystem)), m_volume_size(volume_size) {
  // Normalised in place: a huge volume's runs are held once, not twice.
  std::sort(ranges.begin(), ranges.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
  size_t kept = 0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    ByteRange r = ranges[i];
    if (r.length == 0 || r.offset >= volume_size) continue;
    if (r.length > volume_size - r.offset) r.length = volume_size - r.offset;
    if (kept && r.offset <= ranges[kept - 1].end()) {
      ranges[kept - 1].length = std::max(ranges[kept - 1].end(), r.end()) - ranges[kept - 1].offset;
    } else {
      ranges[kept++] = r;
    }
  }
  const bool shrink = kept < ranges.size() / 2;  // else copying would double the peak
  ranges.resize(kept);
  if (shrink) ranges.shrink_to_fit();
  m_used = std::move(ranges);
}

uint64_t AllocationMap::used_bytes() const {
  uint64_t total = 0;
  for (const auto& r : m_used) total += r.length;
  return total;
}

bool AllocationMap::any_used(uint64_t offset, uint64_t length) const {
  if (length == 0) return false;
  // First range whose end is beyond offset.
  auto it = std::upper_bound(m_used.begin(), m_used.end(), offset,
                             [](uint64_t off, const ByteRange& r) { return off < r.end(); });
  return it != m_used.end() && it->offset < offset + length;
}

void AllocationMap::clear(ByteRange range) {
  std::vector<ByteRange> out;
  out.reserve(m_used.size() + 1);
  for (const auto& r : m_used) {
    if (r.end() <= range.offset || r.offset >= range.end()) {
      out.push_back(r);
      continue;
    }
    if (r.offset < range.offset) out.push_back({r.offset, range.offset - r.offset});
    if (r.end() > range.end()) out.push_back({range.end(), r.end() - range.end()});
  }
  m_used = std::move(out);
}

}  // namespace vssimg
