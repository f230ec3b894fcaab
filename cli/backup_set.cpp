#include "cli/backup_set.hpp"

#include "core/base/error.hpp"
#include "core/fs/alloc_choice.hpp"
#include "core/os/test_seams.hpp"
#include "cli/parse.hpp"

#include <fmt/format.h>

#include <set>

namespace vssimg::cli {

namespace {

SetPoint back_up_one(Context& ctx, const Store& store, const SnapshotSource& s, BlockSource& source,
                     const BackupSetOptions& options) {
  const size_t warnings_before = ctx.out->warning_count();
  BackupOptions bo;
  bo.snapshot = s.outcome;
  // Used blocks only: the filesystem's allocation bitmap decides what is read. Its notes
  // go through info: falling back to another reader still images everything in use.
  AllocationChoice alloc;
  if (options.all_blocks) {
    ctx.out->info("--all-blocks: reading every block of " + s.given);
  } else {
    alloc = choose_allocation(
        source, {.windows_volume = s.volume, .include_pagefile = options.include_pagefile});
    for (const auto& note : alloc.notes) ctx.out->info(note);
    if (alloc.map) bo.allocation = &*alloc.map;
    bo.excluded_bytes = alloc.excluded_bytes;
  }
  // Recorded absolute, so `latest --source` and the parent shortcut find it from any
  // working directory.
  bo.source_label = normalize_source(s.given);
  bo.label = options.label;
  bo.host = options.host;
  bo.threads = ctx.global.threads;
  bo.ignore_bad_sectors = options.ignore_bad_sectors;
  // Test-only: small packs so that kill and fault tests cross many pack commits.
  if (const char* t = test_seams::pack_size())
    bo.pack_target_size = parse_size(t, "VSSIMG_TEST_PACK_SIZE");
  SetPoint p;
  p.source = bo.source_label;
  p.host = bo.host;
  p.consistency = s.outcome.consistency;
  p.result = run_backup(store, source, bo, ctx.out->progress());
  p.warnings = ctx.out->warning_count() - warnings_before;
  return p;
}

}  // namespace

SourceOpener default_source_opener() {
  return [](const SnapshotSource& s) { return open_block_source(s.read_path); };
}

void run_backup_set(Context& ctx, const Store& store, BackupSnapshots& snapshots,
                    const BackupSetOptions& options, const SourceOpener& open,
                    const std::function<void(const SetPoint&)>& committed,
                    std::vector<SetPoint>& done) {
  // Every source is opened first, so that a missing one fails the run before any point.
  const auto& sources = snapshots.sources();
  std::vector<std::unique_ptr<BlockSource>> opened;
  for (const auto& s : sources) opened.push_back(open(s));
  for (size_t i = 0; i < sources.size(); ++i) {
    done.push_back(back_up_one(ctx, store, sources[i], *opened[i], options));
    opened[i].reset();
    committed(done.back());
  }
  snapshots.complete();  // only now: every point of the set is committed
}

void check_distinct_sources(const std::vector<std::string>& sources) {
  std::set<std::string> seen;
  for (const auto& s : sources) {
    if (!seen.insert(normalize_source(s)).second) {
      throw Error(ErrorKind::usage, "backing up", s,
                  "this source is given twice (each source once per run)");
    }
  }
}

}  // namespace vssimg::cli
