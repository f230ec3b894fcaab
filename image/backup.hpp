// Backup: reads a block source into the store and commits a recovery point.
#pragma once

#include "core/fs/alloc_map.hpp"
#include "core/source/block_source.hpp"
#include "core/base/progress.hpp"
#include "image/point_meta.hpp"
#include "image/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace vssimg {

struct BackupOptions {
  std::string source_label;  // recorded as `source`; defaults to source.name()
  std::string host;          // recorded as `host`; defaults to host_name()
  std::string label;
  unsigned threads = 0;                       // 0: all hardware threads
  const AllocationMap* allocation = nullptr;  // null: read every block
  bool ignore_bad_sectors = false;            // record unreadable blocks instead of failing
  // Recorded as `excluded_bytes`: used bytes the allocation map leaves out (the paging
  // files of a Windows volume bitmap, 0 with --include-pagefile); none for other maps.
  std::optional<uint64_t> excluded_bytes;
  SnapshotOutcome snapshot;  // how the source was captured: `consistency`, vss.*
  size_t pack_target_size = 32u << 20;
};

struct BackupStats {
  uint64_t source_size = 0;
  uint64_t blocks = 0;
  uint64_t bytes_read = 0;          // bytes read from the source
  uint64_t free_skipped_bytes = 0;  // FREE: not read
  uint64_t zero_bytes = 0;          // ZERO: not stored (read, or a hole of the source)
  uint64_t hole_skipped_bytes = 0;  // of zero_bytes: holes of a sparse image file, not read
  uint64_t unreadable_bytes = 0;
  uint64_t parent_reused_bytes = 0;  // matched the parent point at the same offset
  uint64_t index_reused_bytes = 0;   // found elsewhere in the store
  uint64_t new_bytes = 0;            // raw bytes of blocks added to the store
  uint64_t new_stored_bytes = 0;     // after compression
  uint64_t new_blocks = 0;
  uint64_t healed_blocks = 0;  // of new_blocks: indexed before, but no intact copy was left
  uint64_t packs_written = 0;
  double seconds = 0;
};

struct BackupResult {
  std::string point_id;
  std::string parent_id;
  BackupStats stats;
  std::vector<uint64_t> unreadable_offsets;
  // Earlier points that the healed blocks made whole (none of their blocks is left without
  // an intact copy, as far as the damage record knows).
  std::vector<std::string> points_whole_again;
};

// Runs a backup. The caller holds the store lock (shared) and the writer lock.
// Deletes tmp/ leftovers first. Throws Error on failure; nothing committed before the
// failure is damaged, and no point is written.
BackupResult run_backup(const Store& store, BlockSource& source, const BackupOptions& options,
                        ProgressSink& progress);

}  // namespace vssimg
