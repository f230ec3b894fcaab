// Prune: reclaims the space of blocks no recovery point refers to (docs/format.md,
// "Prune"). As in restic, it is two steps: plan_prune reads the store and decides the fate
// of every pack without changing anything; execute_prune carries a plan out. A dry run is
// the plan alone. Safe to kill at any moment: the new index is durable before anything
// old is deleted.
#pragma once

#include "core/base/progress.hpp"
#include "image/pack.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vssimg {

struct PruneOptions {
  // Repack a pack that still holds live blocks when at least this share of its bytes is
  // dead (0.5 = 50%); above 1 never repacks (only packs with nothing live are deleted).
  double repack_threshold = 0.5;
  // For the caller: plan and report, never execute (so tmp/ is not cleaned either).
  bool dry_run = false;
  size_t pack_target_size = 32u << 20;
};

enum class PackAction {
  keep,    // stays; the new index names its live records
  remove,  // nothing live: deleted
  repack,  // live records copied into new packs, then deleted
};

// One indexed pack on disk as the plan sees it.
struct PackPlan {
  PackId id;
  uint64_t size = 0;            // of the pack file
  std::vector<PackEntry> live;  // records to keep, by offset
  uint64_t live_bytes = 0;      // of `live` records, with their table entries
  PackAction action = PackAction::keep;
};

// Bytes of `pack` no live record needs (dead records and their table entries).
uint64_t dead_bytes(const PackPlan& pack);

// The fate of one pack: remove when nothing is live, repack when the dead bytes reach
// `options.repack_threshold` of its size, else keep. The whole repacking policy is here.
PackAction decide_pack(const PackPlan& pack, const PruneOptions& options);

// What a prune will do. A plain value: valid while the caller keeps the exclusive store
// lock it was made under.
struct PrunePlan {
  size_t points = 0;
  uint64_t live_blocks = 0;                         // distinct blocks the points refer to
  std::vector<PackPlan> packs;                      // every indexed pack on disk, with its action
  std::vector<PackId> unindexed;                    // on disk but in no index segment: deleted
  std::vector<std::filesystem::path> old_segments;  // replaced by the new index
  uint64_t bytes_before = 0;                        // packs + index segments
  size_t pack_target_size = 0;                      // of the packs repacking writes
  double seconds = 0;                               // spent planning

  size_t count(PackAction action) const;
  // Sums over the packs with `action`: their file sizes, and their live bytes (for
  // repack: what is copied).
  uint64_t size_of(PackAction action) const;
  uint64_t live_bytes_of(PackAction action) const;
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

// Marks the blocks of every point and plans every pack; changes nothing. The caller
// holds the store lock exclusively. Throws Error(damage) when the store is not safe to
// prune (a point or index segment unreadable, a referenced block not in the index, an
// indexed pack unreadable or missing): `vssimg verify` names the damage.
PrunePlan plan_prune(const Store& store, const PruneOptions& options);

// The statistics a dry run reports: the plan's counts, with the packs and bytes after
// estimated (packs_written and segments stay 0: nothing is written).
PruneStats planned_stats(const PrunePlan& plan);

// Carries out `plan` (made under the exclusive lock the caller still holds): repacks,
// writes the new index, then deletes the old segments and the packs planned away. Throws
// Error(damage) without deleting anything when a record to repack is damaged.
PruneStats execute_prune(const Store& store, const PrunePlan& plan, ProgressSink& progress);

}  // namespace vssimg
