#include "image/point_source.hpp"

#include "core/base/error.hpp"

#include <algorithm>
#include <cstring>

namespace vssimg {

namespace {

const BlockIndex& load_whole_index(const Store& store, std::unique_ptr<BlockIndex>& owned) {
  owned = std::make_unique<BlockIndex>(store.load_index(nullptr));
  return *owned;
}

}  // namespace

PointSource::PointSource(const Store& store, Point point, size_t cache_blocks)
    : m_store(store),
      m_point(std::move(point)),
      m_index(load_whole_index(store, m_owned_index)),
      m_reader(store, m_index),
      m_cache_blocks(std::max<size_t>(cache_blocks, 1)) {}

PointSource::PointSource(const Store& store, Point point, const BlockIndex& index,
                         size_t cache_blocks)
    : m_store(store),
      m_point(std::move(point)),
      m_index(index),
      m_reader(store, m_index),
      m_cache_blocks(std::max<size_t>(cache_blocks, 1)) {}

PointSourceStats PointSource::stats() const {
  std::lock_guard lock(m_mutex);
  return m_stats;
}

std::shared_ptr<const std::vector<uint8_t>> PointSource::block(uint64_t index) {
  {
    std::lock_guard lock(m_mutex);
    auto it = m_cache.find(index);
    if (it != m_cache.end()) {
      m_lru.splice(m_lru.begin(), m_lru, it->second.second);
      ++m_stats.cache_hits;
      return it->second.first;
    }
  }
  // Decoded outside the lock: readers of other blocks do not wait for this one.
  const uint32_t bs = m_point.block_size;
  auto data = std::make_shared<std::vector<uint8_t>>(bs, 0);
  std::vector<uint8_t> scratch;
  uint32_t stored = 0;
  m_reader.read(m_point.map[index], data->data(), scratch, &stored);
  std::lock_guard lock(m_mutex);
  ++m_stats.blocks_decoded;
  m_stats.stored_bytes += stored;
  if (m_cache.count(index)) return data;  // another reader decoded it meanwhile
  if (m_cache.size() >= m_cache_blocks) {
    m_cache.erase(m_lru.back());
    m_lru.pop_back();
  }
  m_lru.push_front(index);
  m_cache.emplace(index, std::make_pair(data, m_lru.begin()));
  return data;
}

void PointSource::read_at(void* buf, size_t len, uint64_t offset) {
  if (offset > size() || len > size() - offset) {
    throw Error(ErrorKind::usage, "reading", name(),
                "offset " + std::to_string(offset) + " + " + std::to_string(len) +
                    " is past the end of the volume");
  }
  auto* out = static_cast<uint8_t*>(buf);
  const uint64_t bs = m_point.block_size;
  while (len > 0) {
    const uint64_t index = offset / bs;
    const size_t within = static_cast<size_t>(offset % bs);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, bs - within));
    const BlockId& id = m_point.map.at(index);
    if (id.is_marker()) {
      std::memset(out, 0, n);  // zero, free or unreadable: restore writes zeros too
    } else {
      std::memcpy(out, block(index)->data() + within, n);
    }
    out += n;
    offset += n;
    len -= n;
  }
}

}  // namespace vssimg
