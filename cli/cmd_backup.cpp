#include "cli/lock_options.hpp"
#include "cli/backup_set.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/retention_cli.hpp"
#include "cli/vss_flags.hpp"
#include "image/backup.hpp"
#include "core/os/platform.hpp"
#include "image/lock.hpp"
#include "image/point_select.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vssimg::cli {

namespace {

struct BackupCommandOptions {
  std::vector<std::string> sources;
  BackupSetOptions set;
  KeepFlags keep;      // --keep-*: retention per source after a successful backup
  BackupVssFlags vss;  // VSS: cli/vss_flags.hpp
};

// --keep-*: forget the points of this host and source by the policy, right after the
// backup (another host's points of a source of the same name are not touched). The point
// is already committed, so a failure here is a warning (exit 3), never a failed backup.
ForgetCounts apply_keep_after_backup(Context& ctx, const Store& store,
                                     const RetentionPolicy& policy, const std::string& source,
                                     const std::string& host) {
  try {
    StoreLock lock(store.storage(), LockMode::exclusive, WriterLock::none, "forget (backup --keep)",
                   lock_options(ctx, StoreAccess::write));
    return apply_policy(ctx, store, policy, PointFilter{source, host},
                        RetentionGroupBy::host_and_source, false);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted) throw;
    ctx.out->warning(
        fmt::format("retention not applied to {} after the backup: {}", source, e.what()));
  }
  return {};
}

// The retention of every source whose backup had no warning (a degraded point must not
// push healthy older ones out of the policy); warnings of the snapshot set count for all.
void apply_keep(Context& ctx, const Store& store, const RetentionPolicy& policy,
                const std::vector<SetPoint>& points, size_t set_warnings, const std::string& host) {
  ForgetCounts total;
  bool applied = false;
  for (const auto& p : points) {
    if (set_warnings || p.warnings) {
      ctx.out->warning(
          fmt::format("retention not applied to {}: the backup had warnings; check them, then run "
                      "vssimg forget",
                      p.source));
      continue;
    }
    ForgetCounts c = apply_keep_after_backup(ctx, store, policy, p.source, host);
    total.kept += c.kept;
    total.removed += c.removed;
    applied = true;
  }
  if (!applied) return;
  ctx.summary.add("policy", policy.describe())
      .add("kept", static_cast<uint64_t>(total.kept))
      .add("removed", static_cast<uint64_t>(total.removed));
}

uint64_t reused_bytes(const BackupStats& s) {
  return s.parent_reused_bytes + s.index_reused_bytes;
}

void print_point(Context& ctx, const SetPoint& p) {
  const BackupResult& r = p.result;
  const BackupStats& s = r.stats;
  double rate = s.seconds > 0 ? static_cast<double>(s.bytes_read) / s.seconds : 0;
  ctx.out->text(fmt::format("point {} created{}", r.point_id,
                            r.parent_id.empty() ? "" : " (compared with " + r.parent_id + ")"));
  ctx.out->text(fmt::format("  source    {} ({})", p.source, human_bytes(s.source_size)));
  ctx.out->text(fmt::format(
      "  read      {} in {:.1f} s ({}/s); skipped {} free, {} zero{}", human_bytes(s.bytes_read),
      s.seconds, human_bytes(static_cast<uint64_t>(rate)), human_bytes(s.free_skipped_bytes),
      human_bytes(s.zero_bytes),
      s.hole_skipped_bytes
          ? fmt::format(" ({} of it holes, not read)", human_bytes(s.hole_skipped_bytes))
          : std::string()));
  ctx.out->text(fmt::format("  new       {} ({} stored, {} blocks)", human_bytes(s.new_bytes),
                            human_bytes(s.new_stored_bytes), s.new_blocks));
  ctx.out->text(fmt::format("  reused    {} (unchanged since parent {}, elsewhere in store {})",
                            human_bytes(reused_bytes(s)), human_bytes(s.parent_reused_bytes),
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
}

// The fields of one point: a `backup_point` record, and the summary of a one-source run.
JsonObject& add_point_fields(JsonObject& o, const SetPoint& p) {
  const BackupStats& s = p.result.stats;
  return o.add("point", p.result.point_id)
      .add("parent", p.result.parent_id)
      .add("source", p.source)
      .add("host", p.host)
      .add("source_size", s.source_size)
      .add("bytes_read", s.bytes_read)
      .add("free_skipped_bytes", s.free_skipped_bytes)
      .add("zero_bytes", s.zero_bytes)
      .add("hole_skipped_bytes", s.hole_skipped_bytes)
      .add("unreadable_bytes", s.unreadable_bytes)
      .add("new_bytes", s.new_bytes)
      .add("new_stored_bytes", s.new_stored_bytes)
      .add("reused_bytes", reused_bytes(s))
      .add("healed_blocks", s.healed_blocks)
      .add_raw("points_whole_again", json_string_array(p.result.points_whole_again))
      .add("seconds", s.seconds);
}

void report_point(Context& ctx, const SetPoint& p, const std::string& set_id) {
  print_point(ctx, p);
  JsonObject rec("backup_point");
  add_point_fields(rec, p).add("consistency", std::string(to_string(p.consistency)));
  if (!set_id.empty()) rec.add("snapshot_set", set_id);
  ctx.out->record(rec);
  const BackupStats& s = p.result.stats;
  ctx.out->log(fmt::format("backup of {} done: point {}, read {}, new {} ({} stored), {:.1f} s",
                           p.source, p.result.point_id, s.bytes_read, s.new_bytes,
                           s.new_stored_bytes, s.seconds));
}

// One source: the point's fields, as before several sources were possible. Several: the
// totals over the points written (those of a run that failed part way, too).
void summarize(Context& ctx, const std::vector<SetPoint>& points, size_t sources,
               const std::string& set_id, double started) {
  ctx.summary.add("points", static_cast<uint64_t>(points.size()));
  if (!set_id.empty()) ctx.summary.add("snapshot_set", set_id);
  if (points.empty()) return;  // failed before the first commit: nothing to count
  if (sources == 1) {
    add_point_fields(ctx.summary, points.front());
    return;
  }
  BackupStats t;
  uint64_t reused = 0;
  std::vector<std::string> whole_again;
  for (const auto& p : points) {
    const BackupStats& s = p.result.stats;
    t.healed_blocks += s.healed_blocks;
    for (const auto& id : p.result.points_whole_again) {
      if (std::find(whole_again.begin(), whole_again.end(), id) == whole_again.end())
        whole_again.push_back(id);
    }
    t.source_size += s.source_size;
    t.bytes_read += s.bytes_read;
    t.free_skipped_bytes += s.free_skipped_bytes;
    t.zero_bytes += s.zero_bytes;
    t.hole_skipped_bytes += s.hole_skipped_bytes;
    t.unreadable_bytes += s.unreadable_bytes;
    t.new_bytes += s.new_bytes;
    t.new_stored_bytes += s.new_stored_bytes;
    reused += reused_bytes(s);
  }
  ctx.summary.add("source_size", t.source_size)
      .add("bytes_read", t.bytes_read)
      .add("free_skipped_bytes", t.free_skipped_bytes)
      .add("zero_bytes", t.zero_bytes)
      .add("hole_skipped_bytes", t.hole_skipped_bytes)
      .add("unreadable_bytes", t.unreadable_bytes)
      .add("new_bytes", t.new_bytes)
      .add("new_stored_bytes", t.new_stored_bytes)
      .add("reused_bytes", reused)
      .add("healed_blocks", t.healed_blocks)
      .add_raw("points_whole_again", json_string_array(whole_again))
      .add("seconds", monotonic_seconds() - started);  // the run's, snapshot included
}

int run_backup_command(Context& ctx, const BackupCommandOptions& opts) {
  const double started = monotonic_seconds();
  const RetentionPolicy keep_policy = policy_from_flags(opts.keep);
  check_distinct_sources(opts.sources);
  BackupSetOptions set = opts.set;
  if (set.host.empty())
    set.host = host_name();
  else
    check_host_name(set.host, "--host");
  std::string names;
  for (const auto& s : opts.sources) names += (names.empty() ? "" : " ") + s;
  Store store(ctx.store_path());
  auto lock = std::make_unique<StoreLock>(store.storage(), LockMode::shared, WriterLock::shared,
                                          "backup " + names, lock_options(ctx, StoreAccess::write));
  ctx.out->log(fmt::format("backup of {} into {} started", names, store.storage().location()));
  // VSS (Windows volumes): one snapshot set for all of them while `snapshots` lives.
  BackupSnapshots snapshots(ctx, opts.sources, opts.vss, system_snapshot_factory());
  const std::string set_id = snapshots.set_id();
  std::vector<SetPoint> points;
  try {
    run_backup_set(
        ctx, store, snapshots, set, default_source_opener(),
        [&](const SetPoint& p) { report_point(ctx, p, set_id); }, points);
  } catch (const Error&) {
    summarize(ctx, points, opts.sources.size(), set_id, started);
    if (!points.empty() && points.size() < opts.sources.size()) {
      ctx.out->info(fmt::format("{} of {} points were committed before the failure; they stay",
                                points.size(), opts.sources.size()));
    }
    throw;
  }
  // Warnings no single source had (the snapshot set's, BackupComplete's) concern them all.
  size_t source_warnings = 0;
  for (const auto& p : points) source_warnings += p.warnings;
  const size_t run_warnings = ctx.out->warning_count() - source_warnings;
  summarize(ctx, points, opts.sources.size(), set_id, started);
  lock.reset();
  if (!keep_policy.empty()) apply_keep(ctx, store, keep_policy, points, run_warnings, set.host);
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_backup_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<BackupCommandOptions>();
  auto* sub = app.add_subcommand(
      "backup",
      "Back up volumes, block devices or image files, a recovery point each (the volumes in "
      "one VSS snapshot set)");
  sub->add_option("source", opts->sources,
                  "Block devices or image files (on Windows also C:, a mount folder or "
                  "\\\\?\\Volume{GUID}\\); several are backed up in the order given")
      ->required();
  sub->add_option("--label", opts->set.label, "A label stored with every point of the run");
  sub->add_option("--host", opts->set.host,
                  "The host name the points record (default: this machine's; for a cluster's "
                  "shared volume or a renamed server); the parent and --keep-* are of this host");
  sub->add_flag("--all-blocks", opts->set.all_blocks,
                "Read every block, also those the filesystem does not use");
  sub->add_flag(
      "--include-pagefile", opts->set.include_pagefile,
      "Windows volumes: also image the clusters of pagefile.sys, swapfile.sys and hiberfil.sys");
  sub->add_flag("--ignore-bad-sectors", opts->set.ignore_bad_sectors,
                "Record unreadable blocks in the point (exit 3) instead of failing");
  add_keep_flags(sub, opts->keep);
  add_backup_vss_flags(sub, opts->vss);
  table.add(sub, [opts](Context& ctx) { return run_backup_command(ctx, *opts); });
}

}  // namespace vssimg::cli
