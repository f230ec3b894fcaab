#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/retention_cli.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/lock.hpp"
#include "image/point_meta.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

namespace vssimg::cli {

void add_keep_flags(CLI::App* sub, KeepFlags& f) {
  sub->add_option("--keep-last", f.last,
                  "Keep the N newest points (per source; 'unlimited' = all)");
  sub->add_option("--keep-hourly", f.hourly,
                  "Keep the newest point of each of the last N hours that have points");
  sub->add_option("--keep-daily", f.daily,
                  "Keep the newest point of each of the last N days that have points");
  sub->add_option("--keep-weekly", f.weekly,
                  "Keep the newest point of each of the last N ISO weeks that have points");
  sub->add_option("--keep-monthly", f.monthly,
                  "Keep the newest point of each of the last N months that have points");
  sub->add_option("--keep-yearly", f.yearly,
                  "Keep the newest point of each of the last N years that have points");
  sub->add_option("--keep-within", f.within,
                  "Keep every point newer than DURATION (like 2d3h, 1y6m) before the newest point");
}

RetentionPolicy policy_from_flags(const KeepFlags& f) {
  RetentionPolicy p;
  auto count = [](const std::string& text, const char* flag) {
    return text.empty() ? 0 : parse_keep_count(text, flag);
  };
  p.last = count(f.last, "--keep-last");
  p.hourly = count(f.hourly, "--keep-hourly");
  p.daily = count(f.daily, "--keep-daily");
  p.weekly = count(f.weekly, "--keep-weekly");
  p.monthly = count(f.monthly, "--keep-monthly");
  p.yearly = count(f.yearly, "--keep-yearly");
  if (!f.within.empty()) p.within = parse_retention_duration(f.within, "--keep-within");
  return p;
}

ForgetCounts apply_policy(Context& ctx, const Store& store, const RetentionPolicy& policy,
                          const std::string& source, bool dry_run) {
  std::vector<std::string> problems;
  auto infos = store.list_points(&problems);
  if (!problems.empty()) {
    // A point we cannot read has no date: refusing is safer than guessing.
    throw Error(ErrorKind::damage, "applying retention", store.root().string(),
                "a point file is unreadable (" + problems.front() +
                    "); nothing was forgotten; run vssimg verify");
  }
  std::vector<RetentionItem> items;
  std::map<std::string, const PointInfo*> by_id;
  for (const auto& info : infos) {
    if (!source.empty() && info.meta.get(point_key::k_source) != source) continue;
    items.push_back(RetentionItem{info.id, info.meta.get(point_key::k_source),
                                  info.meta.get_int(point_key::k_created),
                                  info.meta.get_int(point_key::k_sequence)});
    by_id[info.id] = &info;
  }
  auto decisions = apply_retention(std::move(items), policy, now_unix());
  ctx.out->log(fmt::format("forget: {}{}{}", policy.describe(),
                           source.empty() ? "" : ", source " + source,
                           dry_run ? " (dry run)" : ""));

  ForgetCounts counts;
  std::string current;
  for (const auto& d : decisions) {
    const PointInfo& info = *by_id[d.item.id];
    if (d.item.source != current) {
      current = d.item.source;
      size_t keep = 0, go = 0;
      for (const auto& e : decisions) {
        if (e.item.source == current) (e.keep ? keep : go)++;
      }
      ctx.out->text(fmt::format("source {}: keep {} point(s), {} {}", current, keep,
                                dry_run ? "would remove" : "remove", go));
    }
    std::string action = d.keep ? "keep" : (dry_run ? "would remove" : "remove");
    std::string label = info.meta.get(point_key::k_label);
    std::string why = d.keep          ? fmt::format("{}", fmt::join(d.reasons, ", "))
                      : label.empty() ? ""
                                      : "(" + label + ")";
    ctx.out->text(fmt::format("  {:<12}  {}  {}{}", action, d.item.id, local_time(d.item.created),
                              why.empty() ? "" : "  " + why));
    ctx.out->record(JsonObject("point")
                        .add("id", d.item.id)
                        .add("created", d.item.created)
                        .add("source", d.item.source)
                        .add("label", info.meta.get(point_key::k_label))
                        .add("keep", d.keep)
                        .add_raw("reasons", json_string_array(d.reasons)));
    if (d.keep) {
      ++counts.kept;
      continue;
    }
    if (!dry_run) {
      check_interrupted();
      store.delete_point(d.item.id);
      ctx.out->log(fmt::format("forget: removed point {} of {} ({})", d.item.id, d.item.source,
                               local_time(d.item.created)));
    }
    ++counts.removed;
  }
  ctx.out->log(fmt::format("forget: kept {} point(s), {} {}", counts.kept,
                           dry_run ? "would remove" : "removed", counts.removed));
  return counts;
}

namespace {

struct ForgetOptions {
  KeepFlags keep;
  std::string source;
  bool dry_run = false;
  bool prune = false;
  std::string repack_threshold = "50%";
};

int run_forget(Context& ctx, const ForgetOptions& opts) {
  RetentionPolicy policy = policy_from_flags(opts.keep);
  if (policy.empty()) {
    throw Error(
        ErrorKind::usage, "forget", "policy",
        "no --keep-* option given (forget never removes every point); see vssimg forget --help");
  }
  PruneOptions po;
  po.repack_threshold = parse_repack_threshold(opts.repack_threshold);
  po.dry_run = opts.dry_run;
  Store store(ctx.store_path());
  StoreLock lock(store.root(), LockMode::exclusive, false, "forget");
  ctx.out->log(fmt::format("forget in {} started", store.root().string()));
  ForgetCounts c = apply_policy(ctx, store, policy, normalize_source(opts.source), opts.dry_run);
  ctx.summary.add("policy", policy.describe())
      .add("dry_run", opts.dry_run)
      .add("kept", static_cast<uint64_t>(c.kept))
      .add("removed", static_cast<uint64_t>(c.removed));
  if (opts.prune) prune_and_report(ctx, store, po);
  return ctx.out->warning_count() ? k_exit_warnings : k_exit_ok;
}

}  // namespace

void add_forget_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<ForgetOptions>();
  auto* sub =
      app.add_subcommand("forget", "Remove recovery points by a retention policy (per source)");
  add_keep_flags(sub, opts->keep);
  sub->add_option("--source", opts->source, "Only points of this source");
  sub->add_flag("-n,--dry-run", opts->dry_run,
                "Show what would be removed and which rule keeps each point");
  sub->add_flag("--prune", opts->prune,
                "Run prune afterwards (reclaim the space of removed points)");
  sub->add_option("--repack-threshold", opts->repack_threshold,
                  "With --prune: repack packs at least this dead (default 50%)");
  table.add(sub, [opts](Context& ctx) { return run_forget(ctx, *opts); });
}

}  // namespace vssimg::cli
