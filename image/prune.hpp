// Prune: reclaims the space of blocks no recovery point refers to (docs/format.md,
// "Prune"). As in restic, it is two steps: plan_prune reads the store and decides the fate
// of every pack without changing anything; execute_prune carries a plan out. A dry run is
// the plan alone. Safe to kill at any moment: the new index is durable before anything
// old is deleted.
#pragma once

#include "core/base/progress.hpp"
#include "image/damage.hpp"
#include "image/pack.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

// How much unused space (dead records, their table entries) a prune may leave in the
// packs: a share of the bytes in packs after the prune, an absolute size, or any amount.
struct UnusedLimit {
  enum class Kind { share, bytes, unlimited };
  Kind kind = Kind::share;
  double share = 0.05;  // with Kind::share: 0.05 = 5%
  uint64_t bytes = 0;   // with Kind::bytes

  // Whether `unused` bytes in `pack_bytes` of packs are within the limit.
  bool allows(uint64_t unused, uint64_t pack_bytes) const;
};

struct PruneOptions {
  // The goal of repacking: partially dead packs are repacked, the most freed per byte
  // copied first, until the unused space left is within this limit (restic's
  // --max-unused).
  UnusedLimit max_unused;
  // At most this many live bytes are copied into new packs, whatever the goals say (a
  // pack that would exceed it is kept).
  uint64_t max_repack_bytes = UINT64_MAX;
  // Also repack every pack at least this share dead (0.5 = 50%), even when the store is
  // already within max_unused: bounds the dead bytes a single pack makes verify and
  // restore read. 1 or more forces none (a pack with live data is never wholly dead).
  double repack_threshold = 1.0;
  // For the caller: plan and report, never execute (so tmp/ is not cleaned either).
  bool dry_run = false;
  size_t pack_target_size = 32u << 20;
};

// Prune's safety window (docs/format.md, "Prune"): a pack written less than this long ago
// by the storage's clock is neither deleted nor repacked, and every record of it stays in
// the index: a concurrent backup may be about to commit a point that refers to it. Longer
// than the staleness of an S3 lock (15 min) plus the largest clock skew allowed (10 min).
inline constexpr int64_t k_prune_window_seconds = 3600;

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
  bool holds_damage = false;    // a live record has no intact copy: kept, never repacked
  bool young = false;           // inside the safety window: every record kept, never repacked
  PackAction action = PackAction::keep;
};

// Bytes of `pack` no live record needs (dead records and their table entries).
uint64_t dead_bytes(const PackPlan& pack);

// The fate of one pack by itself: remove when nothing is live, keep when it holds a
// damaged live record, repack when the dead bytes reach `options.repack_threshold` of its
// size, else keep.
PackAction decide_pack(const PackPlan& pack, const PruneOptions& options);

// The repacking policy: sets the action of every pack. Packs with nothing live are
// removed. The partially dead ones are taken most freed per byte copied first (dead
// bytes / live bytes); each is repacked when decide_pack says so or while the unused
// space the plan leaves exceeds `options.max_unused`, unless its live bytes would take
// the copied total over `options.max_repack_bytes`. The others are kept.
void decide_packs(std::vector<PackPlan>& packs, const PruneOptions& options);

// What a prune will do. A plain value: valid while the caller keeps the exclusive store
// lock it was made under.
struct PrunePlan {
  size_t points = 0;
  uint64_t live_blocks = 0;               // distinct blocks the points refer to
  std::vector<PackPlan> packs;            // every indexed pack on disk, with its action
  std::vector<PackId> unindexed;          // on disk but in no index segment: deleted
  size_t young = 0;                       // packs inside the safety window: left alone
  size_t young_unindexed = 0;             // of them, those no segment names (not in `packs`)
  std::vector<std::string> old_segments;  // names of the segments the new index replaces
  uint64_t bytes_before = 0;              // packs + index segments
  uint64_t pack_bytes_before = 0;         // packs alone (indexed or not)
  uint64_t unindexed_bytes = 0;           // of the `unindexed` packs
  size_t pack_target_size = 0;            // of the packs repacking writes
  DamageRecord damage;                    // the store's damage record at planning
  DamageSet damage_after;                 // its entries that still apply after the prune
  double seconds = 0;                     // spent planning

  size_t count(PackAction action) const;
  // Sums over the packs with `action`: their file sizes, and their live bytes (for
  // repack: what is copied).
  uint64_t size_of(PackAction action) const;
  uint64_t live_bytes_of(PackAction action) const;
  // Unused space (docs/json.md, prune): every byte of a pack with nothing live or not
  // indexed, the dead bytes of the others. Before: of every pack on disk; after: of the
  // kept packs (new packs hold live records only).
  uint64_t unused_before() const;
  uint64_t unused_after() const;
  // The bytes in packs after: kept packs and the repacked live records (the new packs'
  // headers and trailers left out).
  uint64_t pack_bytes_after() const;
};

struct PruneStats {
  size_t points = 0;
  uint64_t live_blocks = 0;    // distinct blocks the points refer to
  size_t packs_before = 0;     // pack files on disk at the start
  size_t packs_deleted = 0;    // nothing live (includes packs_unindexed)
  size_t packs_unindexed = 0;  // on disk but in no index segment (interrupted writers)
  size_t packs_repacked = 0;   // partially dead: live records copied, then deleted
  size_t packs_young = 0;      // inside the safety window (object stores): left alone
  size_t packs_written = 0;    // new packs holding the repacked records
  size_t packs_after = 0;
  size_t segments_deleted = 0;
  size_t segments_written = 0;
  uint64_t bytes_repacked = 0;     // live record bytes copied into new packs
  uint64_t bytes_before = 0;       // packs + index segments at the start
  uint64_t bytes_after = 0;        // packs + index segments at the end (planned, with dry_run)
  uint64_t bytes_freed = 0;        // bytes_before - bytes_after
  uint64_t pack_bytes_before = 0;  // of packs alone, at the start
  uint64_t pack_bytes_after = 0;   // of packs alone, at the end (planned, with dry_run)
  uint64_t unused_before = 0;      // of pack_bytes_before no live record needs
  uint64_t unused_after = 0;       // of pack_bytes_after no live record needs
  size_t tmp_files_removed = 0;
  size_t damage_forgotten = 0;  // damage record entries dropped (their copies are gone)
  double seconds = 0;
};

// Marks the blocks of every point and plans every pack; changes nothing. The caller
// holds the store lock exclusively. Throws Error(damage) when the store is not safe to
// prune (a point or index segment unreadable, a referenced block not in the index, a
// referenced block with no copy in a pack that is on disk and readable): `vssimg verify`
// names the damage. Of a block with several copies it keeps one the damage record does
// not list when there is one (image/prune_copies.hpp).
PrunePlan plan_prune(const Store& store, const PruneOptions& options);

// The statistics a dry run reports: the plan's counts, with the packs and bytes after
// estimated (packs_written and segments stay 0: nothing is written).
PruneStats planned_stats(const PrunePlan& plan);

// Carries out `plan` (made under the exclusive lock the caller still holds): repacks,
// writes the new index, then deletes the old segments and the packs planned away. Throws
// Error(damage) without deleting anything when a record to repack is damaged.
PruneStats execute_prune(const Store& store, const PrunePlan& plan, ProgressSink& progress);

}  // namespace vssimg
