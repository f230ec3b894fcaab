#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/retention_cli.hpp"
#include "core/base/error.hpp"
#include "image/lock.hpp"

#include <fmt/format.h>

#include <cctype>

namespace vssimg::cli {

double parse_repack_threshold(const std::string& text) {
  std::string digits = text;
  if (!digits.empty() && digits.back() == '%') digits.pop_back();
  bool ok = !digits.empty() && digits.size() <= 3;
  for (char c : digits) ok = ok && std::isdigit(static_cast<unsigned char>(c));
  if (!ok || std::stoi(digits) > 100) {
    throw Error(ErrorKind::usage, "parsing", "--repack-threshold",
                fmt::format("'{}' is not a percentage from 0% to 100%", text));
  }
  int percent = std::stoi(digits);
  // 100% means "never repack": a pack with live data is never 100% dead.
  return percent >= 100 ? 2.0 : percent / 100.0;
}

PruneStats prune_and_report(Context& ctx, const Store& store, const PruneOptions& options) {
  ctx.out->log(fmt::format("prune of {} started{}", store.root().string(),
                           options.dry_run ? " (dry run)" : ""));
  PruneStats s = run_prune(store, options, ctx.out->progress());
  const char* would = options.dry_run ? "would " : "";
  ctx.out->text(fmt::format("prune: {} points refer to {} blocks", s.points, s.live_blocks));
  ctx.out->text(fmt::format(
      "  packs     {} before; {}delete {} ({} not indexed), {}repack {} into {}; {} after",
      s.packs_before, would, s.packs_deleted, s.packs_unindexed, would, s.packs_repacked,
      options.dry_run
          ? "about " + std::to_string(s.packs_after -
                                      (s.packs_before - s.packs_deleted - s.packs_repacked))
          : std::to_string(s.packs_written),
      s.packs_after));
  ctx.out->text(fmt::format("  space     {} before, {} after: {}{} freed{}",
                            human_bytes(s.bytes_before), human_bytes(s.bytes_after),
                            options.dry_run ? "about " : "", human_bytes(s.bytes_freed),
                            options.dry_run ? " (dry run: nothing changed)" : ""));
  ctx.summary.add("live_blocks", s.live_blocks)
      .add("packs_before", static_cast<uint64_t>(s.packs_before))
      .add("packs_deleted", static_cast<uint64_t>(s.packs_deleted))
      .add("packs_unindexed", static_cast<uint64_t>(s.packs_unindexed))
      .add("packs_repacked", static_cast<uint64_t>(s.packs_repacked))
      .add("packs_written", static_cast<uint64_t>(s.packs_written))
      .add("packs_after", static_cast<uint64_t>(s.packs_after))
      .add("segments_deleted", static_cast<uint64_t>(s.segments_deleted))
      .add("segments_written", static_cast<uint64_t>(s.segments_written))
      .add("bytes_repacked", s.bytes_repacked)
      .add("bytes_before", s.bytes_before)
      .add("bytes_after", s.bytes_after)
      .add("bytes_freed", s.bytes_freed)
      .add("seconds", s.seconds);
  ctx.out->log(fmt::format(
      "prune done{}: {} packs deleted, {} repacked into {}, {} freed ({} -> {} bytes), {:.1f} s",
      options.dry_run ? " (dry run)" : "", s.packs_deleted, s.packs_repacked, s.packs_written,
      human_bytes(s.bytes_freed), s.bytes_before, s.bytes_after, s.seconds));
  return s;
}

namespace {

struct PruneCommandOptions {
  bool dry_run = false;
  std::string repack_threshold = "50%";
};

int run_prune_command(Context& ctx, const PruneCommandOptions& opts) {
  PruneOptions po;
  po.repack_threshold = parse_repack_threshold(opts.repack_threshold);
  po.dry_run = opts.dry_run;
  Store store(ctx.store_path());
  StoreLock lock(store.root(), LockMode::exclusive, false, "prune");
  ctx.summary.add("dry_run", opts.dry_run);
  prune_and_report(ctx, store, po);
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_prune_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<PruneCommandOptions>();
  auto* sub = app.add_subcommand(
      "prune", "Delete blocks no recovery point refers to; repack mostly dead packs");
  sub->add_flag("-n,--dry-run", opts->dry_run,
                "Show what would be deleted and repacked; change nothing");
  sub->add_option(
      "--repack-threshold", opts->repack_threshold,
      "Repack a pack when at least this share of it is dead (default 50%; 100% = never)");
  table.add(sub, [opts](Context& ctx) { return run_prune_command(ctx, *opts); });
}

}  // namespace vssimg::cli
