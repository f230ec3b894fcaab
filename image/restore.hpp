// Restore: writes a recovery point to a file or device, checking every block.
#pragma once

#include "core/base/progress.hpp"
#include "image/store.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace vssimg {

struct RestoreOptions {
  bool force = false;      // overwrite an existing file / write to an unmounted device
  bool zero_free = false;  // on a device, write zeros for FREE blocks too
  // Write a block that no copy in the store can give back as zeros, and go on (each is
  // listed in RestoreStats::damaged) instead of stopping.
  bool ignore_damage = false;
  unsigned threads = 0;
};

// A block restored as zeros because every copy of it is damaged (ignore_damage).
struct RestoreDamage {
  uint64_t offset = 0;  // volume offset
  std::string what;     // the error reading it
};

struct RestoreStats {
  uint64_t bytes_total = 0;
  uint64_t bytes_written = 0;          // data blocks written
  uint64_t bytes_sparse = 0;           // ZERO/FREE blocks left as holes or skipped
  uint64_t bytes_unreadable = 0;       // UNREADABLE blocks (written as zeros)
  uint64_t bytes_unbuffered = 0;       // of the written bytes, those written past the page cache
  uint64_t bytes_damaged = 0;          // of the written bytes, damaged blocks written as zeros
  std::vector<RestoreDamage> damaged;  // by offset
  size_t fallbacks = 0;  // blocks read from a further copy after a copy failed its check
  double seconds = 0;
};

// Restores point `point_id` to `target`, reading its block map chunk by chunk (memory
// does not grow with the volume beyond the index). The caller holds a shared store lock.
// A point that is no point or not of this store is refused as Store::load_point refuses
// it; a map chunk found damaged on the way stops the restore like a damaged block. A block is read
// from any intact copy (a warning says when a copy failed). When every copy of a block is
// damaged, stops with Error(damage) naming the pack and the volume offset, and removes a
// target file it created (never leaving a file that looks complete but is wrong) -- or,
// with ignore_damage, writes zeros there, lists it and goes on. Damage met is added to
// the store's damage record.
RestoreStats run_restore(const Store& store, const std::string& point_id,
                         const std::filesystem::path& target, const RestoreOptions& options,
                         ProgressSink& progress);

}  // namespace vssimg
