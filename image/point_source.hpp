// A recovery point as a read-only block source: any byte range of the imaged volume,
// read on demand through the store's block reader with a small cache of decoded blocks.
// What ls, extract and mount read through (the filesystem parsers take a BlockSource).
#pragma once

#include "core/source/block_source.hpp"
#include "image/block_reader.hpp"
#include "image/index.hpp"
#include "image/point.hpp"
#include "image/store.hpp"

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace vssimg {

// What a PointSource has read from the store, for the bench's "bytes read" targets.
struct PointSourceStats {
  uint64_t blocks_decoded = 0;  // blocks read from packs and checked
  uint64_t stored_bytes = 0;    // their record sizes in the packs (compressed)
  uint64_t cache_hits = 0;
};

class PointSource : public BlockSource {
 public:
  // Loads the index (damaged segments are an Error, as for restore). `cache_blocks`
  // decoded blocks are kept (least recently used out).
  PointSource(const Store& store, Point point, size_t cache_blocks = 64);
  // With an index the caller already loaded (it must outlive this object).
  PointSource(const Store& store, Point point, const BlockIndex& index, size_t cache_blocks = 64);

  std::string name() const override { return "point " + m_point.id; }
  uint64_t size() const override { return m_point.source_size(); }
  // Zeros for zero, free and unreadable blocks (as restore writes them). Throws
  // Error(damage) naming the pack and offset for a block that fails its check.
  void read_at(void* buf, size_t len, uint64_t offset) override;

  const Point& point() const { return m_point; }
  PointSourceStats stats() const;

 private:
  // The decoded bytes of block `index` (shared, so a reader keeps it while others evict).
  std::shared_ptr<const std::vector<uint8_t>> block(uint64_t index);

  const Store& m_store;
  Point m_point;
  std::unique_ptr<BlockIndex> m_owned_index;
  const BlockIndex& m_index;
  BlockReader m_reader;
  const size_t m_cache_blocks;
  mutable std::mutex m_mutex;
  std::list<uint64_t> m_lru;
  std::unordered_map<uint64_t, std::pair<std::shared_ptr<const std::vector<uint8_t>>,
                                         std::list<uint64_t>::iterator>>
      m_cache;
  PointSourceStats m_stats;
};

}  // namespace vssimg
