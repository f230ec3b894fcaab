// A recovery point as a read-only block source: any byte range of the imaged volume,
// read on demand through the store's block reader with a small cache of decoded blocks.
// What ls, extract and mount read through (the filesystem parsers take a BlockSource).
// Like restore it takes any intact copy of a block (BlockReader), and report() says so
// once and adds the damage met to the store's damage record.
#pragma once

#include "core/base/error.hpp"
#include "core/source/block_source.hpp"
#include "image/block_reader.hpp"
#include "image/damage.hpp"
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

// What read_at throws for a block no copy gives back: Error(damage) naming the point and
// the volume offset, the BlockReader's error (pack, offset, cause) as the cause. A
// filesystem parser's own errors are plain Errors; callers that name the path being read
// keep this one whole (cli rethrow_at).
class PointReadError : public Error {
 public:
  using Error::Error;
};

class PointSource : public BlockSource {
 public:
  // Loads the index (damaged segments are an Error, as for restore). `cache_blocks`
  // decoded blocks are kept (least recently used out).
  PointSource(const Store& store, Point point, size_t cache_blocks = 64);
  // With an index the caller already loaded (it must outlive this object).
  PointSource(const Store& store, Point point, const BlockIndex& index, size_t cache_blocks = 64);
  // Records what report() did not (an error path): never throws.
  ~PointSource() override;
  PointSource(const PointSource&) = delete;
  PointSource& operator=(const PointSource&) = delete;

  std::string name() const override { return "point " + m_point.id; }
  uint64_t size() const override { return m_point.source_size(); }
  // Zeros for zero, free and unreadable blocks (as restore writes them). A block whose
  // every copy fails its check throws PointReadError (above).
  void read_at(void* buf, size_t len, uint64_t offset) override;

  const Point& point() const { return m_point; }
  PointSourceStats stats() const;
  // The end of reading (once; thread-safe): report_reading() on the reader, so one warning
  // when blocks came from a further copy and the damage met in the store's damage record.
  // Returns how many blocks came from a further copy.
  size_t report(ProgressSink& progress);

 private:
  // The decoded bytes of block `index` (shared, so a reader keeps it while others evict).
  std::shared_ptr<const std::vector<uint8_t>> block(uint64_t index);
  // A buffer for a block: one evicted from the cache that nobody holds, else a new one.
  std::shared_ptr<std::vector<uint8_t>> take_buffer();

  const Store& m_store;
  Point m_point;
  std::unique_ptr<BlockIndex> m_owned_index;
  const BlockIndex& m_index;
  const DamageRecord m_known;  // copies known bad are tried last
  BlockReader m_reader;
  const size_t m_cache_blocks;
  mutable std::mutex m_mutex;
  std::list<uint64_t> m_lru;
  std::unordered_map<uint64_t, std::pair<std::shared_ptr<const std::vector<uint8_t>>,
                                         std::list<uint64_t>::iterator>>
      m_cache;
  PointSourceStats m_stats;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> m_spare;  // evicted, unused buffers
  std::atomic<bool> m_reported{false};
};

}  // namespace vssimg
