#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "image/lock.hpp"
#include "image/verify.hpp"

#include <fmt/format.h>

#include <map>

namespace vssimg::cli {

namespace {
struct VerifyCommandOptions {
  std::vector<std::string> points;
  bool read_data = false;
};

constexpr size_t k_max_lines_per_point = 20;

int run_verify_command(Context& ctx, const VerifyCommandOptions& opts) {
  Store store(ctx.store_path());
  StoreLock lock(store.root(), LockMode::shared, false, "verify");
  VerifyOptions vo;
  for (const auto& name : opts.points) vo.points.push_back(store.resolve_point(name));
  vo.read_data = opts.read_data;
  vo.threads = ctx.global.threads;
  VerifyResult r = run_verify(store, vo, ctx.out->progress());

  std::map<std::string, size_t> shown;
  for (const auto& d : r.damage) {
    JsonObject rec("damage");
    rec.add("point", d.point).add("pack", d.pack).add("what", d.what);
    if (d.offset != Damage::k_whole_file) rec.add("offset", d.offset);
    ctx.out->record(rec);
    size_t& n = shown[d.point];
    if (++n > k_max_lines_per_point) continue;
    std::string where = d.point.empty() ? "store" : "point " + d.point;
    if (d.offset != Damage::k_whole_file) where += fmt::format(" at volume offset {}", d.offset);
    if (!d.pack.empty() && d.offset != Damage::k_whole_file) where += " (pack " + d.pack + ")";
    ctx.out->text(fmt::format("damage: {}: {}", where, d.what));
  }
  for (const auto& [point, n] : shown) {
    if (n > k_max_lines_per_point) {
      ctx.out->text(fmt::format("damage: point {}: {} more damaged blocks (see --json for all)", point,
                                n - k_max_lines_per_point));
    }
  }
  for (const auto& note : r.notes) ctx.out->info(note);
  std::string what = opts.read_data ? "structure and data" : "structure";
  if (r.ok()) {
    ctx.out->text(fmt::format("verified {} of {} points, {} blocks, {} packs{}: no damage", what, r.points_checked,
                              r.blocks_referenced, r.packs_checked,
                              opts.read_data ? fmt::format(", {} read", human_bytes(r.bytes_read)) : ""));
  } else {
    ctx.out->text(fmt::format("DAMAGE: {} damaged block or file reports; {} of {} points affected", r.damage.size(),
                              r.points_damaged, r.points_checked));
  }
  ctx.summary.add("points", static_cast<uint64_t>(r.points_checked))
      .add("points_damaged", static_cast<uint64_t>(r.points_damaged))
      .add("blocks", r.blocks_referenced)
      .add("packs", static_cast<uint64_t>(r.packs_checked))
      .add("read_data", opts.read_data)
      .add("bytes_read", r.bytes_read)
      .add("damage", static_cast<uint64_t>(r.damage.size()));
  ctx.out->log(fmt::format("verify ({}): {} points, {} damage reports", what, r.points_checked, r.damage.size()));
  return r.ok() ? k_exit_ok : k_exit_damage;
}
}  // namespace

void add_verify_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<VerifyCommandOptions>();
  auto* sub = app.add_subcommand("verify", "Check recovery points (structure; --read-data: every block)");
  sub->add_option("points", opts->points, "Points to check (id, prefix or 'latest'; default all)");
  sub->add_flag("--read-data", opts->read_data, "Read, decompress and re-hash every block");
  table.add(sub, [opts](Context& ctx) { return run_verify_command(ctx, *opts); });
}

}  // namespace vssimg::cli
