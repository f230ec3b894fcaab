#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/point_flags.hpp"
#include "cli/exit_codes.hpp"
#include "core/os/path.hpp"
#include "core/base/error.hpp"
#include "image/lock.hpp"
#include "image/restore.hpp"
#include "image/restore_target.hpp"

#include <fmt/format.h>

namespace vssimg::cli {

namespace {
struct RestoreCommandOptions {
  std::string point;
  std::string target;
  PointFilterFlags filter;  // --source, --host
  bool force = false;
  bool zero_free = false;
  bool ignore_damage = false;
};

// The JSON array of the volume offsets written as zeros.
std::string offsets_json(const std::vector<RestoreDamage>& damaged) {
  std::string out = "[";
  for (const auto& d : damaged) out += (out.size() > 1 ? "," : "") + std::to_string(d.offset);
  return out + "]";
}

int run_restore_command(Context& ctx, const RestoreCommandOptions& opts) {
  const bool to_stdout = RestoreTarget::is_stdout_name(opts.target);
  if (to_stdout && ctx.global.json) {
    throw Error(ErrorKind::usage, "restoring to", "standard output",
                "--json records go to standard output too; restore to a file, or leave out --json");
  }
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::shared, WriterLock::none, "restore",
                 lock_options(ctx, StoreAccess::read));
  // Only the id: run_restore streams the point's map instead of loading it whole.
  const std::string point_id = resolve_point(store, opts.point, point_filter(opts.filter));
  ctx.out->log(fmt::format("restore of point {} to {} started", point_id, opts.target));
  RestoreOptions ro;
  ro.force = opts.force;
  ro.zero_free = opts.zero_free;
  ro.ignore_damage = opts.ignore_damage;
  ro.threads = ctx.global.threads;
  RestoreStats s =
      run_restore(store, point_id, path_from_utf8(opts.target), ro, ctx.out->progress());
  double rate = s.seconds > 0 ? static_cast<double>(s.bytes_total) / s.seconds : 0;
  const std::string done =
      fmt::format("restored point {} to {}: {} ({} written, {} sparse) in {:.1f} s ({}/s)",
                  point_id, to_stdout ? "standard output" : opts.target, human_bytes(s.bytes_total),
                  human_bytes(s.bytes_written), human_bytes(s.bytes_sparse), s.seconds,
                  human_bytes(static_cast<uint64_t>(rate)));
  if (to_stdout)
    ctx.out->info(done);  // stdout holds the image
  else
    ctx.out->text(done);
  if (!s.damaged.empty()) {
    ctx.out->text(fmt::format("  damaged   {} blocks ({}) written as zeros (--ignore-damage)",
                              s.damaged.size(), human_bytes(s.bytes_damaged)));
  }
  ctx.summary.add("point", point_id)
      .add("target", opts.target)
      .add("bytes", s.bytes_total)
      .add("bytes_written", s.bytes_written)
      .add("bytes_sparse", s.bytes_sparse)
      .add("bytes_unreadable", s.bytes_unreadable)
      .add("bytes_damaged", s.bytes_damaged)
      .add_raw("damaged_offsets", offsets_json(s.damaged))
      .add("copies_fallen_back", static_cast<uint64_t>(s.fallbacks))
      .add("seconds", s.seconds);
  ctx.out->log(fmt::format("restore of point {} to {} done: {} bytes in {:.1f} s", point_id,
                           opts.target, s.bytes_total, s.seconds));
  return exit_code_for_warnings(ctx.out->warning_count());
}
}  // namespace

void add_restore_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<RestoreCommandOptions>();
  auto* sub = app.add_subcommand("restore", "Write a recovery point to a file or device");
  sub->add_option("point", opts->point, "Point id, unique prefix, or 'latest'")->required();
  sub->add_option("target", opts->target, "File or device to write; - for standard output (a pipe)")
      ->required();
  add_point_filter_flags(sub, opts->filter, FilterUse::named);
  sub->add_flag("--force", opts->force, "Overwrite an existing file or an unmounted device");
  sub->add_flag("--zero-free", opts->zero_free,
                "On a device, write zeros over blocks the filesystem did not use");
  sub->add_flag("--ignore-damage", opts->ignore_damage,
                "Write blocks no copy in the store gives back as zeros, list them, exit 3");
  table.add(sub, [opts](Context& ctx) { return run_restore_command(ctx, *opts); });
}

}  // namespace vssimg::cli
