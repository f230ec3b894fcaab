// Prune: reclaims the space of blocks no recovery point refers to (docs/format.md,
// "Prune"). Safe to kill at any moment: the new index is durable before anything old
// is deleted.
#pragma once

#include "core/base/progress.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

struct PruneOptions {
  // Repack a pack that still holds live blocks when at least this share of its bytes is
  // dead (0.5 = 50%); above 1 never repacks (only packs with nothing live are deleted).
  double repack_threshold = 0.5;
  bool dry_run = false;  // plan and report; change nothing (tmp/ is not cleaned either)
  size_t pack_target_size = 32u << 20;
};

struct PruneStats {
  size_t points = 0;
  uint64_t live_blocks = 0;    // distinct blocks the points refer to
  size_t packs_before = 0;     // pack files on disk at the start
  size_t packs_deleted = 0;    // nothing live (includes packs_unindexed)
  size_t packs_unindexed = 0;  // on disk but in no index segment (interrupted writers)
  size_t packs_repacked = 0;   // mostly dead: live records copied, then deleted
  size_t packs_written = 0;    // new packs holding the repacked records
  size_t packs_after = 0;
  size_t segments_deleted = 0;
  size_t segments_written = 0;
  uint64_t bytes_repacked = 0;  // live record bytes copied into new packs
  uint64_t bytes_before = 0;    // packs + index segments at the start
  uint64_t bytes_after = 0;     // packs + index segments at the end (planned, with dry_run)
  uint64_t bytes_freed = 0;     // bytes_before - bytes_after
  size_t tmp_files_removed = 0;
  double seconds = 0;
};

// The caller holds the store lock exclusively. Throws Error(damage) without deleting
// anything when the store is not safe to prune (a point or index segment unreadable, a
// referenced block not in the index, an indexed pack unreadable, a live record damaged):
// `vssimg verify` names the damage.
PruneStats run_prune(const Store& store, const PruneOptions& options, ProgressSink& progress);

}  // namespace vssimg
