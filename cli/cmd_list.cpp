#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/point_flags.hpp"
#include "image/lock.hpp"
#include "image/point_meta.hpp"
#include "image/store.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

namespace vssimg::cli {

namespace {
struct ListOptions {
  PointFilterFlags filter;  // --source, --host
};

// The table's columns: id, created, size, new, host, source, label.
constexpr char k_row[] = "{:<16}  {:<19}  {:>10}  {:>10}  {:<15}  {:<24}  {}";

std::string set_of(const PointInfo& p) {
  return p.meta.get(point_key::k_vss_snapshot_set_id);
}

// The points of each snapshot set, oldest first.
using SetMembers = std::map<std::string, std::vector<const PointInfo*>>;
SetMembers set_members(const std::vector<const PointInfo*>& points) {
  SetMembers sets;
  for (const PointInfo* p : points) {
    if (!set_of(*p).empty()) sets[set_of(*p)].push_back(p);
  }
  return sets;
}

// Oldest first, except that the points of one snapshot set follow the first of them
// (they are adjacent anyway: one run writes them one after another under the writer lock).
std::vector<const PointInfo*> in_set_order(const std::vector<const PointInfo*>& points,
                                           const SetMembers& sets) {
  std::vector<const PointInfo*> out;
  std::set<std::string> placed;
  for (const PointInfo* p : points) {
    const std::string set = set_of(*p);
    if (set.empty()) {
      out.push_back(p);
    } else if (placed.insert(set).second) {
      const auto& members = sets.at(set);
      out.insert(out.end(), members.begin(), members.end());
    }
  }
  return out;
}

void print_point(Context& ctx, const PointInfo& p) {
  const auto& m = p.meta;
  ctx.out->text(
      fmt::format(k_row, p.id, local_time(m.get_int(point_key::k_created)),
                  human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_source_size))),
                  human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_new_stored_bytes))),
                  point_host(m).empty() ? "-" : point_host(m), m.get(point_key::k_source),
                  m.get(point_key::k_label)));
  ctx.out->record(JsonObject("point")
                      .add("id", p.id)
                      .add_time("created", m.get_int(point_key::k_created))
                      .add("source", m.get(point_key::k_source))
                      .add("source_size", m.get_int(point_key::k_source_size))
                      .add("new_stored_bytes", m.get_int(point_key::k_new_stored_bytes))
                      .add("label", m.get(point_key::k_label))
                      .add("host", m.get(point_key::k_host))
                      .add("consistency", consistency_name(m.get(point_key::k_consistency)))
                      .add("snapshot_set", set_of(p)));
}

int run_list(Context& ctx, const ListOptions& opts) {
  const PointFilter filter = point_filter(opts.filter);
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::shared, WriterLock::none, "list",
                 lock_options(ctx, StoreAccess::read));
  std::vector<std::string> problems;
  auto points = store.list_points(&problems);
  for (const auto& p : problems) ctx.out->warning(p);
  ctx.out->text(fmt::format(k_row, "ID", "CREATED", "SIZE", "NEW", "HOST", "SOURCE", "LABEL"));
  std::vector<const PointInfo*> shown;
  for (const auto& p : points) {
    if (filter.matches(p.meta)) shown.push_back(&p);
  }
  const SetMembers sets = set_members(shown);
  std::string current;  // the snapshot set of the points being printed
  for (const PointInfo* p : in_set_order(shown, sets)) {
    const std::string set = set_of(*p);
    if (!set.empty() && set != current) {
      const size_t n = sets.at(set).size();
      ctx.out->text(fmt::format("snapshot set {}: {} point{}", set, n, n == 1 ? "" : "s"));
    }
    current = set;
    print_point(ctx, *p);
  }
  ctx.summary.add("points", static_cast<uint64_t>(shown.size()));
  return problems.empty() ? k_exit_ok : k_exit_damage;
}
}  // namespace

void add_list_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<ListOptions>();
  auto* sub = app.add_subcommand(
      "list", "List recovery points, oldest first; the points of one snapshot set together");
  add_point_filter_flags(sub, opts->filter, FilterUse::all);
  table.add(sub, [opts](Context& ctx) { return run_list(ctx, *opts); });
}

}  // namespace vssimg::cli
