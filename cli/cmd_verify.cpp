#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/parse.hpp"
#include "cli/point_flags.hpp"
#include "core/base/error.hpp"
#include "image/lock.hpp"
#include "image/verify.hpp"

#include <fmt/format.h>

#include <map>
#include <tuple>

namespace vssimg::cli {

namespace {
struct VerifyCommandOptions {
  std::vector<std::string> points;
  PointFilterFlags filter;  // --source, --host
  bool read_data = false;
  std::string subset;        // --subset N/T
  std::string max_duration;  // --max-duration 1h30m
};

constexpr size_t k_max_lines_per_point = 20;

// The points to check: those named (each of the filter's source and host), or with
// --source/--host alone every point they select (none selected is a usage error: a
// mistyped host must not pass as "no damage"); empty: all points.
std::vector<std::string> verify_points(const Store& store, const VerifyCommandOptions& opts) {
  const PointFilter filter = point_filter(opts.filter);
  std::vector<std::string> ids;
  for (const auto& name : opts.points) ids.push_back(resolve_point(store, name, filter));
  if (!opts.points.empty() || (filter.source.empty() && filter.host.empty())) return ids;
  for (const auto& info : store.list_points()) {
    if (filter.matches(info.meta)) ids.push_back(info.id);
  }
  if (ids.empty())
    throw Error(ErrorKind::usage, "verify", "points", "no recovery point" + filter.describe());
  return ids;
}

// The library's options for the command line's. Throws Error for a bad --subset or
// --max-duration, or a point name that does not resolve.
VerifyOptions verify_options(const Store& store, const VerifyCommandOptions& opts,
                             unsigned threads) {
  VerifyOptions vo;
  vo.points = verify_points(store, opts);
  vo.read_data = opts.read_data || !opts.subset.empty();
  if (!opts.subset.empty()) std::tie(vo.subset_index, vo.subset_count) = parse_subset(opts.subset);
  if (!opts.max_duration.empty()) {
    vo.max_seconds = parse_max_duration(opts.max_duration);
    // Plain verify reads no pack data, so the budget would bound nothing: say so.
    if (!vo.read_data) {
      throw Error(ErrorKind::usage, "verify", "--max-duration",
                  "bounds the reading of pack data; add --read-data or --subset N/T");
    }
  }
  vo.threads = threads;
  return vo;
}

// A JSON record for every damage report; text lines for at most k_max_lines_per_point
// of each point, then how many more there are.
void report_damage(Context& ctx, const std::vector<Damage>& damage) {
  std::map<std::string, size_t> shown;
  for (const auto& d : damage) {
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
      ctx.out->text(fmt::format("damage: point {}: {} more damaged blocks (see --json for all)",
                                point, n - k_max_lines_per_point));
    }
  }
}

// With --subset or --max-duration: prints and returns which packs' data was read ("" for
// a run that reads all or none).
std::string report_coverage(Context& ctx, const VerifyCommandOptions& opts, const VerifyOptions& vo,
                            const VerifyResult& r) {
  if (!vo.read_data || (!vo.subset_count && vo.max_seconds <= 0)) return "";
  std::string coverage =
      fmt::format("data of {} of {} selected packs read{}{}", r.packs_read, r.packs_selected,
                  vo.subset_count ? fmt::format(" (subset {}/{} of {} packs)", vo.subset_index,
                                                vo.subset_count, r.packs_checked)
                                  : "",
                  r.time_limit_reached ? "; stopped at --max-duration" : "");
  ctx.out->text("coverage: " + coverage);
  if (r.time_limit_reached) {
    ctx.out->info(fmt::format(
        "--max-duration {} reached: {} pack(s) not read this time; the next run reads them first",
        opts.max_duration, r.packs_selected - r.packs_read));
  }
  return coverage;
}

// The result line, the JSON summary and the log line.
void report_summary(Context& ctx, const VerifyOptions& vo, const VerifyResult& r,
                    const std::string& coverage) {
  const bool read_data = vo.read_data;
  std::string what = read_data ? "structure and data" : "structure";
  if (r.ok()) {
    ctx.out->text(
        fmt::format("verified {} of {} points, {} blocks, {} packs{}: no damage", what,
                    r.points_checked, r.blocks_referenced, r.packs_checked,
                    read_data ? fmt::format(", {} read", human_bytes(r.bytes_read)) : ""));
  } else {
    ctx.out->text(fmt::format("DAMAGE: {} damaged block or file reports; {} of {} points affected",
                              r.damage.size(), r.points_damaged, r.points_checked));
  }
  ctx.summary.add("points", static_cast<uint64_t>(r.points_checked))
      .add("points_damaged", static_cast<uint64_t>(r.points_damaged))
      .add("blocks", r.blocks_referenced)
      .add("packs", static_cast<uint64_t>(r.packs_checked))
      .add("read_data", read_data)
      .add("bytes_read", r.bytes_read)
      .add("damage", static_cast<uint64_t>(r.damage.size()))
      .add("subset",
           vo.subset_count ? fmt::format("{}/{}", vo.subset_index, vo.subset_count) : std::string())
      .add("packs_selected", static_cast<uint64_t>(r.packs_selected))
      .add("packs_read", static_cast<uint64_t>(r.packs_read))
      .add("time_limit_reached", r.time_limit_reached);
  ctx.out->log(fmt::format("verify ({}): {} points, {} damage reports{}", what, r.points_checked,
                           r.damage.size(), coverage.empty() ? "" : "; " + coverage));
}

int run_verify_command(Context& ctx, const VerifyCommandOptions& opts) {
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::shared, WriterLock::none, "verify",
                 lock_options(ctx, StoreAccess::read));
  ctx.out->log(fmt::format("verify of {} started", store.storage().location()));
  VerifyOptions vo = verify_options(store, opts, ctx.global.threads);
  vo.read_only = lock.read_only();  // neither verify.state nor the damage record is written
  VerifyResult r = run_verify(store, vo, ctx.out->progress());
  report_damage(ctx, r.damage);
  for (const auto& note : r.notes) ctx.out->info(note);
  const std::string coverage = report_coverage(ctx, opts, vo, r);
  report_summary(ctx, vo, r, coverage);
  return r.ok() ? k_exit_ok : k_exit_damage;
}
}  // namespace

void add_verify_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<VerifyCommandOptions>();
  auto* sub =
      app.add_subcommand("verify", "Check recovery points (structure; --read-data: every block)");
  sub->add_option("points", opts->points, "Points to check (id, prefix or 'latest'; default all)");
  add_point_filter_flags(sub, opts->filter, FilterUse::all);
  sub->add_flag("--read-data", opts->read_data, "Read, decompress and re-hash every block");
  sub->add_option(
      "--subset", opts->subset,
      "Read the data of pack slice N of T only (by pack id; implies --read-data), e.g. 3/7");
  sub->add_option(
      "--max-duration", opts->max_duration,
      "With --read-data or --subset: stop reading data after this long (units d, h, min, s: "
      "1h30min, 45min, 90s); packs read longest ago go first");
  table.add(sub, [opts](Context& ctx) { return run_verify_command(ctx, *opts); });
}

}  // namespace vssimg::cli
