#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/parse.hpp"
#include "cli/retention_cli.hpp"
#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "image/lock.hpp"
#include "image/prune.hpp"

#include <fmt/format.h>

#include <cctype>
#include <optional>

namespace vssimg::cli {

void add_prune_flags(CLI::App* sub, PruneFlags& flags, const std::string& prefix) {
  sub->add_option("--max-unused", flags.max_unused,
                  prefix +
                      "Repack partially dead packs, most dead first, until the unused space "
                      "left is at most this: a percentage of the bytes in packs, a size (100M) "
                      "or unlimited (default 5%)");
  sub->add_option("--max-repack-size", flags.max_repack_size,
                  prefix +
                      "Copy at most this many live bytes into new packs (a size like 2G; "
                      "default unlimited); packs beyond it are kept");
  sub->add_option("--repack-threshold", flags.repack_threshold,
                  prefix +
                      "Also repack every pack at least this share dead, even when the unused "
                      "space is within --max-unused (default off; 0% = every pack with dead "
                      "data); --max-repack-size still applies. To never repack: "
                      "--max-unused unlimited");
}

PruneOptions prune_options_from_flags(const PruneFlags& flags) {
  PruneOptions po;
  po.max_unused = parse_max_unused(flags.max_unused);
  if (flags.max_repack_size != "unlimited") {
    po.max_repack_bytes = parse_size(flags.max_repack_size, "--max-repack-size");
  }
  po.repack_threshold = parse_repack_threshold(flags.repack_threshold);
  return po;
}

namespace {

// `unused` as a percentage of `pack_bytes` (0 for an empty store).
double percent_of(uint64_t unused, uint64_t pack_bytes) {
  return pack_bytes ? 100.0 * static_cast<double>(unused) / static_cast<double>(pack_bytes) : 0.0;
}

// The text lines of a prune, or of its plan with `dry_run`.
void print_prune(Context& ctx, const PruneStats& s, bool dry_run) {
  const char* would = dry_run ? "would " : "";
  ctx.out->text(fmt::format("prune: {} points refer to {} blocks", s.points, s.live_blocks));
  ctx.out->text(fmt::format(
      "  packs     {} before; {}delete {} ({} not indexed), {}repack {} into {}; {} after",
      s.packs_before, would, s.packs_deleted, s.packs_unindexed, would, s.packs_repacked,
      dry_run ? "about " + std::to_string(s.packs_after -
                                          (s.packs_before - s.packs_deleted - s.packs_repacked))
              : std::to_string(s.packs_written),
      s.packs_after));
  ctx.out->text(fmt::format("  space     {} before, {} after: {}{} freed{}",
                            human_bytes(s.bytes_before), human_bytes(s.bytes_after),
                            dry_run ? "about " : "", human_bytes(s.bytes_freed),
                            dry_run ? " (dry run: nothing changed)" : ""));
  ctx.out->text(fmt::format(
      "  unused    {} ({:.1f}%) before, {}{} ({:.1f}%) after", human_bytes(s.unused_before),
      percent_of(s.unused_before, s.pack_bytes_before), dry_run ? "about " : "",
      human_bytes(s.unused_after), percent_of(s.unused_after, s.pack_bytes_after)));
  if (s.packs_young) {
    ctx.out->text(
        fmt::format("  young     {} packs written in the last {} min left alone (safety window)",
                    s.packs_young, k_prune_window_seconds / 60));
  }
}

void add_prune_summary(Context& ctx, const PruneStats& s) {
  ctx.summary.add("live_blocks", s.live_blocks)
      .add("packs_before", static_cast<uint64_t>(s.packs_before))
      .add("packs_deleted", static_cast<uint64_t>(s.packs_deleted))
      .add("packs_unindexed", static_cast<uint64_t>(s.packs_unindexed))
      .add("packs_repacked", static_cast<uint64_t>(s.packs_repacked))
      .add("packs_young", static_cast<uint64_t>(s.packs_young))
      .add("packs_written", static_cast<uint64_t>(s.packs_written))
      .add("packs_after", static_cast<uint64_t>(s.packs_after))
      .add("segments_deleted", static_cast<uint64_t>(s.segments_deleted))
      .add("segments_written", static_cast<uint64_t>(s.segments_written))
      .add("bytes_repacked", s.bytes_repacked)
      .add("bytes_before", s.bytes_before)
      .add("bytes_after", s.bytes_after)
      .add("bytes_freed", s.bytes_freed)
      .add("pack_bytes_before", s.pack_bytes_before)
      .add("pack_bytes_after", s.pack_bytes_after)
      .add("unused_before", s.unused_before)
      .add("unused_after", s.unused_after)
      .add("unused_before_percent", percent_of(s.unused_before, s.pack_bytes_before))
      .add("unused_after_percent", percent_of(s.unused_after, s.pack_bytes_after))
      .add("seconds", s.seconds);
}

}  // namespace

PruneStats prune_and_report(Context& ctx, const Store& store, const PruneOptions& options) {
  ctx.out->log(fmt::format("prune of {} started{}", store.storage().location(),
                           options.dry_run ? " (dry run)" : ""));
  const PrunePlan plan = plan_prune(store, options);
  // A dry run reports the plan and stops there.
  PruneStats s =
      options.dry_run ? planned_stats(plan) : execute_prune(store, plan, ctx.out->progress());
  print_prune(ctx, s, options.dry_run);
  add_prune_summary(ctx, s);
  ctx.out->log(fmt::format(
      "prune done{}: {} packs deleted, {} repacked into {}, {} freed ({} -> {} bytes), unused "
      "{:.1f}% -> {:.1f}%, {:.1f} s",
      options.dry_run ? " (dry run)" : "", s.packs_deleted, s.packs_repacked, s.packs_written,
      human_bytes(s.bytes_freed), s.bytes_before, s.bytes_after,
      percent_of(s.unused_before, s.pack_bytes_before),
      percent_of(s.unused_after, s.pack_bytes_after), s.seconds));
  return s;
}

namespace {

struct PruneCommandOptions {
  bool dry_run = false;
  PruneFlags prune;
};

int run_prune_command(Context& ctx, const PruneCommandOptions& opts) {
  PruneOptions po = prune_options_from_flags(opts.prune);
  po.dry_run = opts.dry_run;
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::exclusive, WriterLock::none, "prune",
                 lock_options(ctx, StoreAccess::write));
  ctx.summary.add("dry_run", opts.dry_run);
  prune_and_report(ctx, store, po);
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_prune_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<PruneCommandOptions>();
  auto* sub = app.add_subcommand(
      "prune", "Delete blocks no recovery point refers to; repack partially dead packs");
  sub->add_flag("-n,--dry-run", opts->dry_run,
                "Show what would be deleted and repacked; change nothing");
  add_prune_flags(sub, opts->prune, "");
  table.add(sub, [opts](Context& ctx) { return run_prune_command(ctx, *opts); });
}

}  // namespace vssimg::cli
