// Restore: writes a recovery point to a file or device, checking every block.
#pragma once

#include "core/base/progress.hpp"
#include "image/store.hpp"

#include <filesystem>

namespace vssimg {

struct RestoreOptions {
  bool force = false;      // overwrite an existing file / write to an unmounted device
  bool zero_free = false;  // on a device, write zeros for FREE blocks too
  unsigned threads = 0;
};

struct RestoreStats {
  uint64_t bytes_total = 0;
  uint64_t bytes_written = 0;     // data blocks written
  uint64_t bytes_sparse = 0;      // ZERO/FREE blocks left as holes or skipped
  uint64_t bytes_unreadable = 0;  // UNREADABLE blocks (written as zeros)
  uint64_t bytes_unbuffered = 0;  // of the written bytes, those written past the page cache
  double seconds = 0;
};

// Restores `point` to `target`. The caller holds a shared store lock. On any damage,
// stops with Error(damage) naming the pack and the volume offset, and removes a target
// file it created (never leaving a file that looks complete but is wrong).
RestoreStats run_restore(const Store& store, const Point& point,
                         const std::filesystem::path& target, const RestoreOptions& options,
                         ProgressSink& progress);

}  // namespace vssimg
