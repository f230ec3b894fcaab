#include "image/point_source.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

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
      m_known(load_damage(store.storage())),
      m_reader(store, m_index, &m_known.set),
      m_cache_blocks(std::max<size_t>(cache_blocks, 1)) {}

PointSource::PointSource(const Store& store, Point point, const BlockIndex& index,
                         size_t cache_blocks)
    : m_store(store),
      m_point(std::move(point)),
      m_index(index),
      m_known(load_damage(store.storage())),
      m_reader(store, m_index, &m_known.set),
      m_cache_blocks(std::max<size_t>(cache_blocks, 1)) {}

PointSource::~PointSource() {
  if (!m_reported.exchange(true)) record_found(m_store, m_reader, null_progress());
}

size_t PointSource::report(ProgressSink& progress) {
  if (m_reported.exchange(true)) return m_reader.fallbacks();
  return report_reading(m_store, m_reader, progress);
}

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
  std::shared_ptr<std::vector<uint8_t>> data = take_buffer();
  thread_local std::vector<uint8_t> scratch;  // the pack record, reused by this thread
  uint32_t stored = 0;
  try {
    m_reader.read(m_point.map[index], data->data(), scratch, &stored);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::damage) throw;
    throw PointReadError(ErrorKind::damage, "reading",
                         fmt::format("point {} at volume offset {}", m_point.id,
                                     index * uint64_t{m_point.block_size}),
                         e.what());
  }
  std::lock_guard lock(m_mutex);
  ++m_stats.blocks_decoded;
  m_stats.stored_bytes += stored;
  if (m_cache.count(index)) return data;  // another reader decoded it meanwhile
  if (m_cache.size() >= m_cache_blocks) {
    auto old = m_cache.find(m_lru.back());
    // Held by nobody else (every copy is handed out under the lock): reused.
    if (old->second.first.use_count() == 1)
      m_spare.push_back(std::const_pointer_cast<std::vector<uint8_t>>(old->second.first));
    m_cache.erase(old);
    m_lru.pop_back();
  }
  m_lru.push_front(index);
  m_cache.emplace(index, std::make_pair(data, m_lru.begin()));
  return data;
}

std::shared_ptr<std::vector<uint8_t>> PointSource::take_buffer() {
  {
    std::lock_guard lock(m_mutex);
    if (!m_spare.empty()) {
      auto buf = std::move(m_spare.back());
      m_spare.pop_back();
      return buf;
    }
  }
  return std::make_shared<std::vector<uint8_t>>(m_point.block_size, 0);
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
