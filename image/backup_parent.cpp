#include "image/backup_parent.hpp"

#include "core/base/error.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <mutex>

namespace vssimg {

std::string backup_host(const std::string& given) {
  return given.empty() ? host_name() : given;
}

ParentMap ParentMap::open(const Store& store, const PointFilter& same, ProgressSink& progress) {
  ParentMap p;
  std::string id;
  try {
    id = resolve_point(store, "latest", same);
  } catch (const Error&) {
    return p;  // first backup of this source
  }
  try {
    auto reader = std::make_unique<PointMapReader>(store.storage(), id);
    if (reader->info().block_size != store.block_size()) {
      throw Error(ErrorKind::damage, "reading", "point " + id,
                  "block size differs from the store's");
    }
    p.m_blocks = reader->info().block_count;
    p.m_reader = std::move(reader);
    p.m_id = id;
  } catch (const Error& e) {
    progress.warning(fmt::format("not comparing with parent point {}: {}", id, e.what()));
  }
  return p;
}

BlockId ParentMap::at(uint64_t b, const BlockIndex& index, const BlockIdSet& unusable,
                      std::shared_mutex& mutex) {
  if (b >= m_blocks) return BlockId::unreadable_marker();
  if (b >= m_first + m_chunk.size()) load_until(b, index, unusable, mutex);
  if (b < m_first || b >= m_first + m_chunk.size()) return BlockId::unreadable_marker();
  return m_chunk[static_cast<size_t>(b - m_first)];
}

// Reads chunks up to the one that holds b, keeping the ids a backup may refer to.
void ParentMap::load_until(uint64_t b, const BlockIndex& index, const BlockIdSet& unusable,
                           std::shared_mutex& mutex) {
  try {
    while (b >= m_first + m_chunk.size()) {
      m_first += m_chunk.size();
      m_chunk = m_reader->next_chunk();
      if (m_chunk.empty()) break;
      std::shared_lock lock(mutex);
      for (auto& id : m_chunk) {
        if (id.is_marker()) continue;
        const bool lost = !index.contains(id);
        if (lost || unusable.count(id)) id = BlockId::unreadable_marker();  // never a data id
        m_missing += lost ? 1 : 0;
      }
    }
  } catch (const Error& e) {
    m_damage = e.what();
    m_blocks = m_first;  // nothing from here on is compared
    m_chunk.clear();
  }
}

void ParentMap::report(ProgressSink& progress) const {
  if (m_missing) {
    progress.warning(
        fmt::format("parent point {} refers to {} blocks missing from the index; "
                    "they are stored again (run vssimg verify)",
                    m_id, m_missing));
  }
  if (!m_damage.empty()) {
    progress.warning(
        fmt::format("parent point {} compared only up to block {}: {}", m_id, m_blocks, m_damage));
  }
}

}  // namespace vssimg
