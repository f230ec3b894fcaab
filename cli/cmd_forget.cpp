#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/point_flags.hpp"
#include "cli/retention_cli.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/lock.hpp"
#include "image/point_meta.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

namespace vssimg::cli {

namespace {

// The points `apply_policy` decides on, with the label of each (for the report).
struct PolicyInput {
  std::vector<RetentionItem> items;
  std::map<std::string, std::string> labels;  // by point id
};

// The points `filter` selects. A point we cannot read has no date (nor host or source):
// refusing (Error(damage)) is safer than guessing.
PolicyInput read_policy_input(const Store& store, const PointFilter& filter) {
  std::vector<std::string> problems;
  auto infos = store.list_points(&problems);
  if (!problems.empty()) {
    throw Error(ErrorKind::damage, "applying retention", store.storage().location(),
                "a point file is unreadable (" + problems.front() +
                    "); nothing was forgotten; run vssimg verify");
  }
  PolicyInput input;
  for (const auto& info : infos) {
    if (!filter.matches(info.meta)) continue;
    input.items.push_back(RetentionItem{
        info.id, info.meta.get(point_key::k_source), info.meta.get_int(point_key::k_created),
        info.meta.get_int(point_key::k_sequence), point_host(info.meta)});
    input.labels[info.id] = info.meta.get(point_key::k_label);
  }
  return input;
}

// The heading line of one group: how many of its points stay and go.
void report_group(Context& ctx, const std::vector<RetentionDecision>& decisions,
                  const std::string& group, bool dry_run) {
  size_t keep = 0, go = 0;
  for (const auto& e : decisions) {
    if (e.group == group) (e.keep ? keep : go)++;
  }
  ctx.out->text(fmt::format("{}: keep {} point(s), {} {}", group, keep,
                            dry_run ? "would remove" : "remove", go));
}

// One point's line (the rules that keep it, or its label when it goes) and JSON record.
void report_decision(Context& ctx, const RetentionDecision& d, const std::string& label,
                     bool dry_run) {
  std::string action = d.keep ? "keep" : (dry_run ? "would remove" : "remove");
  std::string why = d.keep          ? fmt::format("{}", fmt::join(d.reasons, ", "))
                    : label.empty() ? ""
                                    : "(" + label + ")";
  ctx.out->text(fmt::format("  {:<12}  {}  {}{}", action, d.item.id, local_time(d.item.created),
                            why.empty() ? "" : "  " + why));
  ctx.out->record(JsonObject("point")
                      .add("id", d.item.id)
                      .add_time("created", d.item.created)
                      .add("source", d.item.source)
                      .add("host", d.item.host)
                      .add("group", d.group)
                      .add("label", label)
                      .add("keep", d.keep)
                      .add_raw("reasons", json_string_array(d.reasons)));
}

}  // namespace

ForgetCounts apply_policy(Context& ctx, const Store& store, const RetentionPolicy& policy,
                          const PointFilter& filter, RetentionGroupBy group_by, bool dry_run) {
  PolicyInput input = read_policy_input(store, filter);
  auto decisions = apply_retention(std::move(input.items), policy, now_unix(), group_by);
  ctx.out->log(fmt::format("forget: {}, per {}{}{}", policy.describe(), to_string(group_by),
                           filter.describe(), dry_run ? " (dry run)" : ""));
  ForgetCounts counts;
  std::string current;
  for (const auto& d : decisions) {
    if (d.group != current) {
      current = d.group;
      report_group(ctx, decisions, current, dry_run);
    }
    report_decision(ctx, d, input.labels[d.item.id], dry_run);
    if (d.keep) {
      ++counts.kept;
      continue;
    }
    if (!dry_run) {
      check_interrupted();
      store.delete_point(d.item.id);
      ctx.out->log(fmt::format("forget: removed point {} of {} on {} ({})", d.item.id,
                               d.item.source, d.item.host.empty() ? "(no host)" : d.item.host,
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
  PointFilterFlags filter;  // --source, --host
  std::string group_by = "host,source";
  bool dry_run = false;
  bool prune = false;
  PruneFlags prune_flags;
};

int run_forget(Context& ctx, const ForgetOptions& opts) {
  RetentionPolicy policy = policy_from_flags(opts.keep);
  if (policy.empty()) {
    throw Error(
        ErrorKind::usage, "forget", "policy",
        "no --keep-* option given (forget never removes every point); see vssimg forget --help");
  }
  const PointFilter filter = point_filter(opts.filter);
  const RetentionGroupBy group_by = parse_group_by(opts.group_by, "--group-by");
  PruneOptions po = prune_options_from_flags(opts.prune_flags);
  po.dry_run = opts.dry_run;
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::exclusive, WriterLock::none, "forget",
                 lock_options(ctx, StoreAccess::write));
  ctx.out->log(fmt::format("forget in {} started", store.storage().location()));
  ForgetCounts c = apply_policy(ctx, store, policy, filter, group_by, opts.dry_run);
  ctx.summary.add("policy", policy.describe())
      .add("group_by", to_string(group_by))
      .add("dry_run", opts.dry_run)
      .add("kept", static_cast<uint64_t>(c.kept))
      .add("removed", static_cast<uint64_t>(c.removed));
  if (opts.prune) prune_and_report(ctx, store, po);
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_forget_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<ForgetOptions>();
  auto* sub = app.add_subcommand(
      "forget", "Remove recovery points by a retention policy (per host and source)");
  add_keep_flags(sub, opts->keep);
  add_point_filter_flags(sub, opts->filter, FilterUse::all);
  sub->add_option("--group-by", opts->group_by,
                  "Apply the policy to each group of points: host,source (default: every "
                  "host's source on its own), source (one source of all hosts together) or host");
  sub->add_flag("-n,--dry-run", opts->dry_run,
                "Show what would be removed and which rule keeps each point");
  sub->add_flag("--prune", opts->prune,
                "Run prune afterwards (reclaim the space of removed points)");
  add_prune_flags(sub, opts->prune_flags, "With --prune: ");
  table.add(sub, [opts](Context& ctx) { return run_forget(ctx, *opts); });
}

}  // namespace vssimg::cli
