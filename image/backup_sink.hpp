// Where a backup's new blocks go: packs, committed as they fill by a PackCommitter beside
// the pipeline, indexed in segments (docs/format.md, "Commit order"). Used by BackupRun
// (backup.cpp) only.
#pragma once

#include "core/base/codec.hpp"
#include "image/backup.hpp"
#include "image/backup_committer.hpp"
#include "image/damage_blocks.hpp"
#include "image/index.hpp"
#include "image/pack.hpp"
#include "image/store.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <shared_mutex>

namespace vssimg {

class PackSink {
 public:
  // `unusable`: indexed blocks with no intact copy; a block of it that is stored again
  // moves to `healed`.
  PackSink(const Store& store, BlockIndex& index, std::shared_mutex& index_mutex,
           BlockIdSet& unusable, BlockIdSet& healed, size_t target_size, BackupStats& stats)
      : m_store(store),
        m_index(index),
        m_unusable(unusable),
        m_healed(healed),
        m_mutex(index_mutex),
        m_target(target_size),
        m_stats(stats),
        m_segments(store.storage(), store.config().store_id),
        // Packs in flight: two on a local store (one filling beside one flushed), one per
        // connection on an object store (PUTs side by side).
        m_committer(m_segments, std::max<size_t>(2, store.storage().parallel_writes()),
                    store.storage().parallel_writes()) {}

  // Stores a block unless the store already has a usable copy of it.
  void store(const BlockId& id, Codec codec, const uint8_t* payload, uint32_t stored_len,
             uint32_t raw_len) {
    // Only consumers write, one at a time: no lock to read.
    const bool heals = m_unusable.count(id) != 0;
    if (!heals && m_index.contains(id)) {
      m_stats.index_reused_bytes += raw_len;
      return;
    }
    if (!m_writer) {
      m_writer = std::make_unique<PackWriter>(m_store.storage(), m_store.config().store_id);
      m_ordinal = m_index.add_pack(m_writer->id());
    }
    const PackEntry& e = m_writer->add(id, codec, payload, stored_len, raw_len);
    {
      std::unique_lock lock(m_mutex);
      m_index.add_copy(id, BlockLocation{m_ordinal, e.offset});
      if (heals && m_unusable.erase(id)) m_healed.insert(id);
    }
    m_stats.healed_blocks += heals ? 1 : 0;
    m_stats.new_bytes += raw_len;
    m_stats.new_stored_bytes += stored_len;
    ++m_stats.new_blocks;
    if (m_writer->size() >= m_target) commit_pack();
  }

  // Commits the last pack, waits until every pack is durable, then indexes the rest: on
  // return every block stored is in a durable pack that a durable segment names, and the
  // point may be written. Throws the first commit error.
  void finish() {
    commit_pack();
    m_committer.drain();
    m_stats.packs_written = m_committer.committed();
    m_segments.flush();
  }

  // After a failure: lets the committer finish the packs queued (unless it failed
  // itself), then indexes every pack committed so that the next backup reuses them.
  // Best effort; the pack being filled is dropped with its temporary file.
  void checkpoint_after_failure() noexcept {
    m_writer.reset();
    m_committer.settle();
    try {
      m_segments.flush();
    } catch (...) {
    }
  }

 private:
  // Hands the full pack to the committer; waits only while two packs are in flight.
  void commit_pack() {
    if (!m_writer) return;
    m_committer.submit(std::move(m_writer));
  }

  const Store& m_store;
  BlockIndex& m_index;
  BlockIdSet& m_unusable;
  BlockIdSet& m_healed;
  std::shared_mutex& m_mutex;
  size_t m_target;
  BackupStats& m_stats;
  std::unique_ptr<PackWriter> m_writer;
  uint32_t m_ordinal = 0;
  SegmentBatcher m_segments;  // the committer's until drain() or settle() returns
  PackCommitter m_committer;  // declared last: its thread stops before the rest goes
};

}  // namespace vssimg
