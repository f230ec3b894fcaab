#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/parse.hpp"
#include "core/os/test_seams.hpp"
#include "cli/retention_cli.hpp"
#include "cli/vss_flags.hpp"
#include "core/source/block_source.hpp"
#include "core/fs/alloc_choice.hpp"
#include "image/backup.hpp"
#include "image/lock.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>

namespace vssimg::cli {

namespace {

struct BackupCommandOptions {
  std::string source;
  std::string label;
  bool all_blocks = false;
  bool include_pagefile = false;  // --include-pagefile: keep pagefile/swapfile/hiberfil clusters
  bool ignore_bad_sectors = false;
  KeepFlags keep;      // --keep-*: retention for this source after a successful backup
  BackupVssFlags vss;  // VSS: cli/vss_flags.hpp
};

// --keep-*: forget this source's points by the policy, right after the backup. The point
// is already committed, so a failure here is a warning (exit 3), never a failed backup.
void apply_keep_after_backup(Context& ctx, const Store& store, const RetentionPolicy& policy,
                             const std::string& source) {
  try {
    StoreLock lock(store.storage(), LockMode::exclusive, false, "forget (backup --keep)");
    ForgetCounts c = apply_policy(ctx, store, policy, source, false);
    ctx.summary.add("policy", policy.describe())
        .add("kept", static_cast<uint64_t>(c.kept))
        .add("removed", static_cast<uint64_t>(c.removed));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted) throw;
    ctx.out->warning("retention not applied after the backup: " + std::string(e.what()));
  }
}

void report(Context& ctx, const BackupResult& r, const std::string& source) {
  const BackupStats& s = r.stats;
  double rate = s.seconds > 0 ? static_cast<double>(s.bytes_read) / s.seconds : 0;
  uint64_t reused = s.parent_reused_bytes + s.index_reused_bytes;
  ctx.out->text(fmt::format("point {} created{}", r.point_id,
                            r.parent_id.empty() ? "" : " (compared with " + r.parent_id + ")"));
  ctx.out->text(fmt::format("  source    {} ({})", source, human_bytes(s.source_size)));
  ctx.out->text(fmt::format("  read      {} in {:.1f} s ({}/s); skipped {} free, {} zero",
                            human_bytes(s.bytes_read), s.seconds,
                            human_bytes(static_cast<uint64_t>(rate)),
                            human_bytes(s.free_skipped_bytes), human_bytes(s.zero_bytes)));
  ctx.out->text(fmt::format("  new       {} ({} stored, {} blocks)", human_bytes(s.new_bytes),
                            human_bytes(s.new_stored_bytes), s.new_blocks));
  ctx.out->text(fmt::format("  reused    {} (unchanged since parent {}, elsewhere in store {})",
                            human_bytes(reused), human_bytes(s.parent_reused_bytes),
                            human_bytes(s.index_reused_bytes)));
  if (s.unreadable_bytes) {
    ctx.out->text(fmt::format("  unreadable {} in {} blocks", human_bytes(s.unreadable_bytes),
                              r.unreadable_offsets.size()));
  }
  if (s.healed_blocks) {
    ctx.out->text(fmt::format(
        "  healed    {} damaged blocks stored again; whole again: {}", s.healed_blocks,
        r.points_whole_again.empty() ? std::string("no earlier point")
                                     : fmt::format("{}", fmt::join(r.points_whole_again, " "))));
  }
  ctx.summary.add("point", r.point_id)
      .add("parent", r.parent_id)
      .add("source", source)
      .add("source_size", s.source_size)
      .add("bytes_read", s.bytes_read)
      .add("free_skipped_bytes", s.free_skipped_bytes)
      .add("zero_bytes", s.zero_bytes)
      .add("unreadable_bytes", s.unreadable_bytes)
      .add("new_bytes", s.new_bytes)
      .add("new_stored_bytes", s.new_stored_bytes)
      .add("reused_bytes", reused)
      .add("healed_blocks", s.healed_blocks)
      .add_raw("points_whole_again", json_string_array(r.points_whole_again))
      .add("seconds", s.seconds);
  ctx.out->log(fmt::format("backup of {} done: point {}, read {}, new {} ({} stored), {:.1f} s",
                           source, r.point_id, s.bytes_read, s.new_bytes, s.new_stored_bytes,
                           s.seconds));
}

int run_backup_command(Context& ctx, const BackupCommandOptions& opts) {
  const RetentionPolicy keep_policy = policy_from_flags(opts.keep);
  Store store(ctx.store_path());
  auto lock =
      std::make_unique<StoreLock>(store.storage(), LockMode::shared, true, "backup " + opts.source);
  ctx.out->log(
      fmt::format("backup of {} into {} started", opts.source, store.storage().location()));
  // VSS (Windows volumes): the snapshot exists while `snapshot` lives; its device is read.
  BackupSnapshot snapshot(ctx, opts.source, opts.vss);
  auto source = open_block_source(snapshot.read_path());

  BackupOptions bo;
  bo.snapshot = snapshot.outcome();
  // Used blocks only: the filesystem's allocation bitmap decides what is read. Its notes
  // go through info: falling back to another reader still images everything in use.
  AllocationChoice alloc;
  if (opts.all_blocks) {
    ctx.out->info("--all-blocks: reading every block of " + opts.source);
  } else {
    alloc = choose_allocation(*source, {.windows_volume = snapshot.is_volume(),
                                        .include_pagefile = opts.include_pagefile});
    for (const auto& note : alloc.notes) ctx.out->info(note);
    if (alloc.map) bo.allocation = &*alloc.map;
    bo.excluded_bytes = alloc.excluded_bytes;
  }
  // Recorded absolute, so `latest --source` and the parent shortcut find it from any
  // working directory.
  bo.source_label = normalize_source(opts.source);
  bo.label = opts.label;
  bo.threads = ctx.global.threads;
  bo.ignore_bad_sectors = opts.ignore_bad_sectors;
  // Test-only: small packs so that kill and fault tests cross many pack commits.
  if (const char* t = test_seams::pack_size())
    bo.pack_target_size = parse_size(t, "VSSIMG_TEST_PACK_SIZE");
  BackupResult result = run_backup(store, *source, bo, ctx.out->progress());
  snapshot.complete();  // BackupComplete only once the point is committed
  report(ctx, result, bo.source_label);
  lock.reset();
  if (!keep_policy.empty() && ctx.out->warning_count()) {
    // A degraded point must not push healthy older ones out of the policy.
    ctx.out->warning(
        "retention not applied: the backup had warnings; check them, then run vssimg forget");
  } else if (!keep_policy.empty()) {
    apply_keep_after_backup(ctx, store, keep_policy, bo.source_label);
  }
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_backup_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<BackupCommandOptions>();
  auto* sub = app.add_subcommand(
      "backup", "Back up a volume, block device or image file as a recovery point");
  sub->add_option(
         "source", opts->source,
         "Block device or image file (on Windows also C:, a mount folder or \\\\?\\Volume{GUID}\\)")
      ->required();
  sub->add_option("--label", opts->label, "A label stored with the point");
  sub->add_flag("--all-blocks", opts->all_blocks,
                "Read every block, also those the filesystem does not use");
  sub->add_flag(
      "--include-pagefile", opts->include_pagefile,
      "Windows volumes: also image the clusters of pagefile.sys, swapfile.sys and hiberfil.sys");
  sub->add_flag("--ignore-bad-sectors", opts->ignore_bad_sectors,
                "Record unreadable blocks in the point (exit 3) instead of failing");
  add_keep_flags(sub, opts->keep);
  add_backup_vss_flags(sub, opts->vss);
  table.add(sub, [opts](Context& ctx) { return run_backup_command(ctx, *opts); });
}

}  // namespace vssimg::cli
