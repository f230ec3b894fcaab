#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/password.hpp"
#include "cli/exit_codes.hpp"
#include "cli/parse.hpp"
#include "cli/point_flags.hpp"
#include "cli/retention_cli.hpp"
#include "core/base/error.hpp"
#include "core/os/path.hpp"
#include "core/os/platform.hpp"
#include "core/os/test_seams.hpp"
#include "image/copy.hpp"
#include "image/lock.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vssimg::cli {

namespace {

struct CopyCommandOptions {
  std::vector<std::string> points;
  std::string to;
  std::string to_password_file;  // the destination's password, when it is encrypted
  PointFilterFlags filter;       // --source, --host
  KeepFlags keep;                // --keep-*: the destination's retention afterwards
};

struct CopyTotals {
  size_t copied = 0, already = 0, failed = 0;
  CopyStats stats;
};

// The points to copy, newest first: those named (each of the filter's source and host),
// or every point the filter selects. A filter that selects none is a usage error (a
// mistyped host must not pass as "nothing to copy").
std::vector<std::string> copy_points(const Store& store, const CopyCommandOptions& opts) {
  const PointFilter filter = point_filter(opts.filter);
  const std::vector<PointInfo> infos = store.list_points();  // oldest first
  std::vector<std::string> named;
  for (const auto& name : opts.points) named.push_back(resolve_point(store, name, filter));
  std::vector<std::string> ids;
  for (auto it = infos.rbegin(); it != infos.rend(); ++it) {
    const bool wanted = opts.points.empty()
                            ? filter.matches(it->meta)
                            : std::find(named.begin(), named.end(), it->id) != named.end();
    if (wanted) ids.push_back(it->id);
  }
  if (ids.empty() && !(filter.source.empty() && filter.host.empty()))
    throw Error(ErrorKind::usage, "copy", "points", "no recovery point" + filter.describe());
  return ids;
}

void add(CopyStats& t, const CopyStats& s) {
  t.blocks += s.blocks;
  t.bytes_read += s.bytes_read;
  t.reused_bytes += s.reused_bytes;
  t.new_bytes += s.new_bytes;
  t.new_stored_bytes += s.new_stored_bytes;
  t.new_blocks += s.new_blocks;
  t.packs_written += s.packs_written;
}

void report(Context& ctx, const CopiedPoint& p, CopyTotals& totals) {
  JsonObject rec("copy_point");
  rec.add("source_point", p.source_id).add("point", p.point_id);
  if (!p.error.empty()) {
    ++totals.failed;
    ctx.out->error(p.error + "; the point was not copied", k_exit_damage);
    ctx.out->record(rec.add("status", "failed").add("error", p.error));
    return;
  }
  if (p.already) {
    ++totals.already;
    ctx.out->text(fmt::format("point {} already copied (as {})", p.source_id, p.point_id));
    ctx.out->record(rec.add("status", "already_copied"));
    return;
  }
  ++totals.copied;
  add(totals.stats, p.stats);
  const CopyStats& s = p.stats;
  ctx.out->text(fmt::format("point {} copied as {}: read {}, new {} ({} stored, {} blocks)",
                            p.source_id, p.point_id, human_bytes(s.bytes_read),
                            human_bytes(s.new_bytes), human_bytes(s.new_stored_bytes),
                            s.new_blocks));
  ctx.out->record(rec.add("status", "copied")
                      .add("bytes_read", s.bytes_read)
                      .add("new_bytes", s.new_bytes)
                      .add("new_stored_bytes", s.new_stored_bytes)
                      .add("new_blocks", s.new_blocks)
                      .add("reused_bytes", s.reused_bytes)
                      .add("seconds", s.seconds));
  ctx.out->log(fmt::format("copy of point {} done: {} in the destination, new {} bytes",
                           p.source_id, p.point_id, s.new_bytes));
}

void summarize(Context& ctx, const CopyTotals& t, double started) {
  const CopyStats& s = t.stats;
  ctx.out->text(fmt::format(
      "copied {} point(s), {} already there, {} failed: read {}, new {} "
      "({} stored, {} blocks, {} packs), reused {}",
      t.copied, t.already, t.failed, human_bytes(s.bytes_read), human_bytes(s.new_bytes),
      human_bytes(s.new_stored_bytes), s.new_blocks, s.packs_written, human_bytes(s.reused_bytes)));
  ctx.summary.add("points_copied", static_cast<uint64_t>(t.copied))
      .add("points_already_copied", static_cast<uint64_t>(t.already))
      .add("points_failed", static_cast<uint64_t>(t.failed))
      .add("bytes_read", s.bytes_read)
      .add("new_bytes", s.new_bytes)
      .add("new_stored_bytes", s.new_stored_bytes)
      .add("new_blocks", s.new_blocks)
      .add("packs_written", s.packs_written)
      .add("reused_bytes", s.reused_bytes)
      .add("seconds", monotonic_seconds() - started);
}

// Copies under the locks: the source's shared (none on a read-only store), the
// destination's as a backup takes it.
CopyTotals copy_all(Context& ctx, const Store& from, const Store& to,
                    const CopyCommandOptions& opts) {
  StoreLock from_lock(from.storage(), LockMode::shared, WriterLock::none, "copy (source)",
                      lock_options(ctx, StoreAccess::read));
  StoreLock to_lock(to.storage(), LockMode::shared, WriterLock::shared, "copy",
                    lock_options(ctx, StoreAccess::write));
  const std::vector<std::string> ids = copy_points(from, opts);
  ctx.out->log(fmt::format("copy of {} point(s) from {} to {} started", ids.size(),
                           from.storage().location(), to.storage().location()));
  size_t pack_target = size_t{32} << 20;  // as a backup's
  // Test-only: small packs so that kill tests cross many pack commits.
  if (const char* t = test_seams::pack_size())
    pack_target = static_cast<size_t>(parse_size(t, "VSSIMG_TEST_PACK_SIZE"));
  CopyRun run(from, to, ctx.out->progress(), pack_target);
  CopyTotals totals;
  for (const auto& id : ids) report(ctx, run.copy(id), totals);
  run.finish(!from_lock.read_only());
  return totals;
}

int run_copy_command(Context& ctx, const CopyCommandOptions& opts) {
  const double started = monotonic_seconds();
  const RetentionPolicy policy = policy_from_flags(opts.keep);
  const PointFilter filter = point_filter(opts.filter);
  Store from(ctx.store_path());
  // The destination's password: --to-password-file, else the source's sources.
  set_password_provider([&](const std::string& location) {
    return read_password(PasswordSource{opts.to_password_file.empty() ? ctx.global.password_file
                                                                      : opts.to_password_file},
                         location);
  });
  Store to(path_from_utf8(opts.to));
  const CopyTotals totals = copy_all(ctx, from, to, opts);
  summarize(ctx, totals, started);
  if (!policy.empty()) {
    StoreLock lock(to.storage(), LockMode::exclusive, WriterLock::none, "forget (copy --keep)",
                   lock_options(ctx, StoreAccess::write));
    ForgetCounts c =
        apply_policy(ctx, to, policy, filter, RetentionGroupBy::host_and_source, false);
    ctx.summary.add("policy", policy.describe())
        .add("kept", static_cast<uint64_t>(c.kept))
        .add("removed", static_cast<uint64_t>(c.removed));
  }
  if (totals.failed) return k_exit_damage;
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_copy_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<CopyCommandOptions>();
  auto* sub = app.add_subcommand(
      "copy", "Copy recovery points into another store, sending only the blocks it lacks");
  sub->add_option("point", opts->points,
                  "Point ids, unique prefixes or 'latest' (default: every point, newest first)");
  sub->add_option("--to", opts->to,
                  "The destination store (a path, UNC path or s3://BUCKET/PREFIX)")
      ->required();
  sub->add_option("--to-password-file", opts->to_password_file,
                  "Encrypted destination: file whose first line is its password (default: the "
                  "source's --password-file, VSSIMG_PASSWORD_FILE, a prompt, VSSIMG_PASSWORD)");
  add_point_filter_flags(sub, opts->filter, FilterUse::all);
  add_keep_flags(sub, opts->keep);
  table.add(sub, [opts](Context& ctx) { return run_copy_command(ctx, *opts); });
}

}  // namespace vssimg::cli
