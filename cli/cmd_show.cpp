#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "image/lock.hpp"
#include "image/point_meta.hpp"
#include "image/store.hpp"

#include <fmt/format.h>

#include <cstdlib>

namespace vssimg::cli {

namespace {
struct ShowOptions {
  std::string point;
  std::string source;
};

int run_show(Context& ctx, const ShowOptions& opts) {
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::shared, false, "show");
  Point p = store.load_point(store.resolve_point(opts.point, normalize_source(opts.source)));
  const auto& m = p.meta;
  uint64_t counts[4] = {0, 0, 0, 0};  // data, zero, free, unreadable
  for (const auto& b : p.map) {
    counts[b.is_zero() ? 1 : b.is_free() ? 2 : b.is_unreadable() ? 3 : 0]++;
  }
  ctx.out->text(fmt::format("point        {}", p.id));
  ctx.out->text(fmt::format("created      {}", local_time(m.get_int(point_key::k_created))));
  ctx.out->text(
      fmt::format("source       {} on {}", m.get(point_key::k_source), m.get(point_key::k_host)));
  ctx.out->text(
      fmt::format("size         {} ({} bytes)", human_bytes(p.source_size()), p.source_size()));
  ctx.out->text(fmt::format("filesystem   {}", m.get(point_key::k_filesystem).empty()
                                                   ? "(not detected: all blocks read)"
                                                   : m.get(point_key::k_filesystem)));
  ctx.out->text(fmt::format("label        {}", m.get(point_key::k_label)));
  ctx.out->text(fmt::format("parent       {}", m.get(point_key::k_parent).empty()
                                                   ? "(none)"
                                                   : m.get(point_key::k_parent)));
  ctx.out->text(fmt::format("consistency  {}", consistency_name(m.get(point_key::k_consistency))));
  ctx.out->text(fmt::format(
      "blocks       {} of {}: {} data, {} zero, {} free (skipped {}), {} unreadable", p.map.size(),
      human_bytes(p.block_size), counts[0], counts[1], counts[2],
      human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_free_skipped_bytes))), counts[3]));
  ctx.out->text(
      fmt::format("added        {} new ({} stored) in {} s",
                  human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_new_bytes))),
                  human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_new_stored_bytes))),
                  m.get(point_key::k_duration_seconds)));
  JsonObject rec("point");
  rec.add("id", p.id)
      .add("block_size", p.block_size)
      .add("blocks", static_cast<uint64_t>(p.map.size()));
  rec.add("data_blocks", counts[0])
      .add("zero_blocks", counts[1])
      .add("free_blocks", counts[2])
      .add("unreadable_blocks", counts[3]);
  for (const auto& [k, v] : m.values()) {
    if (k.rfind(point_key::k_vss_prefix, 0) == 0) ctx.out->text(fmt::format("{:<12} {}", k, v));
    if (k == point_key::k_id) continue;
    // Numbers as JSON numbers, as in `list` (docs/json.md); other keys as strings.
    if (k == point_key::k_created)
      rec.add_time(k, m.get_int(k));
    else if (is_integer_key(k))
      rec.add(k, m.get_int(k));
    else if (k == point_key::k_duration_seconds)
      rec.add(k, std::atof(v.c_str()));
    else if (k == point_key::k_consistency)
      rec.add(k, consistency_name(v));
    else
      rec.add(k, v);
  }
  ctx.out->record(rec);
  ctx.summary.add("point", p.id);
  return k_exit_ok;
}
}  // namespace

void add_show_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<ShowOptions>();
  auto* sub = app.add_subcommand("show", "Show the details of one recovery point");
  sub->add_option("point", opts->point, "Point id, unique prefix, or 'latest'")->required();
  sub->add_option("--source", opts->source, "With 'latest': the newest point of this source");
  table.add(sub, [opts](Context& ctx) { return run_show(ctx, *opts); });
}

}  // namespace vssimg::cli
