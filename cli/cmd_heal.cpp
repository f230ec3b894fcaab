#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/parse.hpp"
#include "core/os/test_seams.hpp"
#include "core/source/block_source.hpp"
#include "image/backup_parent.hpp"
#include "image/damage_heal.hpp"
#include "image/lock.hpp"
#include "image/point_select.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace vssimg::cli {

namespace {
struct HealCommandOptions {
  std::string from;
  std::string point = "latest";
  std::string host;  // whose `latest`: this machine's name unless given
};

// The JSON array of the offsets still damaged.
std::string offsets_json(const std::vector<uint64_t>& offsets) {
  std::string out = "[";
  for (uint64_t o : offsets) out += (out.size() > 1 ? "," : "") + std::to_string(o);
  return out + "]";
}

int run_heal_command(Context& ctx, const HealCommandOptions& opts) {
  Store store(ctx.store_path());
  const std::string source_label = normalize_source(opts.from);
  auto lock = std::make_unique<StoreLock>(store.storage(), LockMode::shared, WriterLock::exclusive,
                                          "heal --from " + source_label,
                                          lock_options(ctx, StoreAccess::write));
  // `latest` is the newest point of the --from source on this host (or --host): in a
  // shared store another server's point of `C:` is not this volume. An id may be of
  // another source or host (a copy of the volume, the disk that replaced it).
  if (!opts.host.empty()) check_host_name(opts.host, "--host");
  const PointFilter filter = is_latest_name(opts.point)
                                 ? PointFilter{source_label, backup_host(opts.host)}
                                 : PointFilter{};
  const std::string point_id = resolve_point(store, opts.point, filter);
  ctx.out->log(fmt::format("heal of point {} from {} started", point_id, source_label));
  auto source = open_block_source(opts.from);
  size_t pack_target = 32u << 20;
  if (const char* t = test_seams::pack_size())
    pack_target = static_cast<size_t>(parse_size(t, "VSSIMG_TEST_PACK_SIZE"));
  // A live source is fine: a block is stored only when its bytes still hash to its id.
  HealResult r = run_heal(store, *source, point_id, pack_target, ctx.out->progress());
  ctx.out->text(fmt::format("point {}: {} damaged blocks, {} stored again from {}", r.point_id,
                            r.damaged_blocks, r.healed_blocks, source_label));
  for (uint64_t o : r.still_damaged) {
    ctx.out->warning(
        fmt::format("point {} at volume offset {}: {} no longer holds the block; "
                    "it stays damaged",
                    r.point_id, o, source_label));
  }
  if (!r.points_whole_again.empty()) {
    ctx.out->text(fmt::format("whole again: {}", fmt::join(r.points_whole_again, " ")));
  }
  ctx.summary.add("point", r.point_id)
      .add("source", source_label)
      .add("damaged_blocks", r.damaged_blocks)
      .add("healed_blocks", r.healed_blocks)
      .add_raw("still_damaged_offsets", offsets_json(r.still_damaged))
      .add_raw("points_whole_again", json_string_array(r.points_whole_again));
  ctx.out->log(fmt::format("heal of point {}: {} of {} damaged blocks stored again", r.point_id,
                           r.healed_blocks, r.damaged_blocks));
  return exit_code_for_warnings(ctx.out->warning_count());
}
}  // namespace

void add_heal_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<HealCommandOptions>();
  auto* sub = app.add_subcommand(
      "heal", "Store again the damaged blocks of a point, reading only their offsets of a source");
  sub->add_option("point", opts->point,
                  "Point id, unique prefix, or 'latest' (default: latest of the source)");
  sub->add_option("--from", opts->from, "The source the point was made from (file, device, C:)")
      ->required();
  sub->add_option("--host", opts->host,
                  "Whose latest point: the host name backup recorded (default: this machine)");
  table.add(sub, [opts](Context& ctx) { return run_heal_command(ctx, *opts); });
}

}  // namespace vssimg::cli
