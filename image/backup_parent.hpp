// The parent of a backup (docs/format.md, `parent`): the newest point of the same host and
// source, its map streamed chunk by chunk in volume order (PointMapReader), so the backup
// holds one chunk of it, not the whole map; and the host a backup records.
#pragma once

#include "core/base/progress.hpp"
#include "image/damage_blocks.hpp"
#include "image/index.hpp"
#include "image/point_map_stream.hpp"
#include "image/point_select.hpp"
#include "image/store.hpp"

#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

namespace vssimg {

// The host a backup records and chooses its parent by: `given` (backup --host), or this
// machine's name when empty.
std::string backup_host(const std::string& given);

class ParentMap {
 public:
  ParentMap() = default;  // no parent: nothing matches
  // The newest point of the same host and source (`same`), or none (its first backup, or a
  // point that cannot be read: a warning says why, and the backup stores what it reads).
  // Another host's point of a source of the same name, such as every server's C:, is
  // never the parent.
  static ParentMap open(const Store& store, const PointFilter& same, ProgressSink& progress);

  const std::string& id() const { return m_id; }
  // The parent's entry for block b; calls come with increasing b (the backup's producer).
  // Ids the index lacks, or whose every copy is damaged (`unusable`), come back as the
  // UNREADABLE marker, which no block id equals: such blocks are stored again, a lost
  // block is never referenced. Past the parent's end, or from a chunk that turns out
  // damaged on, the marker too. `index` and `unusable` are read under `mutex` (shared).
  BlockId at(uint64_t b, const BlockIndex& index, const BlockIdSet& unusable,
             std::shared_mutex& mutex);
  // Warnings about what was found (missing blocks, damage); once, after the last at().
  void report(ProgressSink& progress) const;

 private:
  void load_until(uint64_t b, const BlockIndex& index, const BlockIdSet& unusable,
                  std::shared_mutex& mutex);

  std::string m_id;
  std::unique_ptr<PointMapReader> m_reader;
  std::vector<BlockId> m_chunk;  // the parent's entries m_first .. m_first + size
  uint64_t m_first = 0;
  uint64_t m_blocks = 0;  // entries that can still be used (the parent's length, or less)
  uint64_t m_missing = 0;
  std::string m_damage;
};

}  // namespace vssimg
