#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "image/lock.hpp"
#include "image/point_meta.hpp"
#include "image/store.hpp"

#include <fmt/format.h>

namespace vssimg::cli {

namespace {
struct ListOptions {
  std::string source;
};

int run_list(Context& ctx, const ListOptions& opts) {
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::shared, false, "list");
  std::vector<std::string> problems;
  auto points = store.list_points(&problems);
  for (const auto& p : problems) ctx.out->warning(p);
  ctx.out->text(fmt::format("{:<16}  {:<19}  {:>10}  {:>10}  {:<24}  {}", "ID", "CREATED", "SIZE",
                            "NEW", "SOURCE", "LABEL"));
  size_t shown = 0;
  for (const auto& p : points) {
    const auto& m = p.meta;
    if (!opts.source.empty() && m.get(point_key::k_source) != normalize_source(opts.source))
      continue;
    ++shown;
    ctx.out->text(
        fmt::format("{:<16}  {:<19}  {:>10}  {:>10}  {:<24}  {}", p.id,
                    local_time(m.get_int(point_key::k_created)),
                    human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_source_size))),
                    human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_new_stored_bytes))),
                    m.get(point_key::k_source), m.get(point_key::k_label)));
    ctx.out->record(JsonObject("point")
                        .add("id", p.id)
                        .add_time("created", m.get_int(point_key::k_created))
                        .add("source", m.get(point_key::k_source))
                        .add("source_size", m.get_int(point_key::k_source_size))
                        .add("new_stored_bytes", m.get_int(point_key::k_new_stored_bytes))
                        .add("label", m.get(point_key::k_label))
                        .add("host", m.get(point_key::k_host))
                        .add("consistency", consistency_name(m.get(point_key::k_consistency))));
  }
  ctx.summary.add("points", static_cast<uint64_t>(shown));
  return problems.empty() ? k_exit_ok : k_exit_damage;
}
}  // namespace

void add_list_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<ListOptions>();
  auto* sub = app.add_subcommand("list", "List recovery points, oldest first");
  sub->add_option("--source", opts->source, "Only points of this source");
  table.add(sub, [opts](Context& ctx) { return run_list(ctx, *opts); });
}

}  // namespace vssimg::cli
