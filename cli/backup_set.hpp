// `backup SOURCE...`: the sources of one run backed up in the order given, a point each,
// into one store (cmd_backup.cpp adds the flags and reports). It depends on the system's
// VSS only through BackupSnapshots' factory and on the system's devices only through the
// opener, so tests drive it with a fake snapshot set and image files.
#pragma once

#include "cli/context.hpp"
#include "cli/vss_flags.hpp"
#include "core/source/block_source.hpp"
#include "image/backup.hpp"
#include "image/store.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vssimg::cli {

struct BackupSetOptions {
  std::string label;  // --label: the same on every point of the run
  std::string host;   // --host: recorded as `host` (empty: this machine's name)
  bool all_blocks = false;
  bool include_pagefile = false;
  bool ignore_bad_sectors = false;
};

// A committed point of the run.
struct SetPoint {
  std::string source;  // recorded as `source` (normalize_source)
  std::string host;    // recorded as `host`
  BackupResult result;
  Consistency consistency = Consistency::image;
  size_t warnings = 0;  // warnings while this source was read (not those of the snapshot)
};

// Opens what is read for a source: its shadow copy device or the source itself.
using SourceOpener = std::function<std::unique_ptr<BlockSource>(const SnapshotSource&)>;
SourceOpener default_source_opener();  // open_block_source(read_path)

// Backs up every source of `snapshots` into `store`, in order, calling `committed` after
// each point is committed; once the last one is, snapshots.complete() (SetBackupSucceeded,
// BackupComplete). The caller holds the store lock and the writer lock.
//
// Every source is opened before the first is read: one that cannot be opened fails the
// run before any point. A source that fails later ends the run: its error is thrown, `done` holds
// the points committed before it (they stay in the store), later sources are not read, and
// complete() is not called, so destroying `snapshots` aborts the VSS backup
// (AbortBackup) and no writer is told that it succeeded.
void run_backup_set(Context& ctx, const Store& store, BackupSnapshots& snapshots,
                    const BackupSetOptions& options, const SourceOpener& open,
                    const std::function<void(const SetPoint&)>& committed,
                    std::vector<SetPoint>& done);

// Error(usage) when two sources are recorded under the same name (`backup C: c:\`):
// their points would be each other's parents and one snapshot set cannot hold a volume
// twice.
void check_distinct_sources(const std::vector<std::string>& sources);

}  // namespace vssimg::cli
