// vssimg snapshot VOL... [--exec CMD] [--keep]; snapshot list; snapshot delete ID.
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/vss_flags.hpp"
#include "core/base/error.hpp"
#include "core/os/process.hpp"
#include "vss/vss.hpp"

#include <fmt/format.h>

#include <cctype>

namespace vssimg::cli {

namespace {

struct SnapshotCommandOptions {
  std::vector<std::string> volumes;
  std::string exec;
  bool keep = false;
  VssFlags vss;
  std::string delete_id;
};

// Environment for --exec: VSSIMG_SHADOW_COUNT, VSSIMG_SHADOW_<n>, VSSIMG_SNAPSHOT_ID_<n>,
// VSSIMG_VOLUME_<n> (n from 1, in the order given) and VSSIMG_SHADOW_<letter> for drives.
std::vector<std::pair<std::string, std::string>> exec_environment(
    const vss::SnapshotSession& session) {
  std::vector<std::pair<std::string, std::string>> env;
  const auto& volumes = session.volumes();
  env.emplace_back("VSSIMG_SHADOW_COUNT", std::to_string(volumes.size()));
  env.emplace_back("VSSIMG_SNAPSHOT_SET_ID", session.set_id());
  for (size_t i = 0; i < volumes.size(); ++i) {
    const auto& v = volumes[i];
    env.emplace_back(fmt::format("VSSIMG_SHADOW_{}", i + 1), v.device_path);
    env.emplace_back(fmt::format("VSSIMG_SNAPSHOT_ID_{}", i + 1), v.snapshot_id);
    env.emplace_back(fmt::format("VSSIMG_VOLUME_{}", i + 1), v.source);
    std::string label = volume_label(v.source);
    if (label.size() == 2 && label[1] == ':')
      env.emplace_back(fmt::format("VSSIMG_SHADOW_{}", label[0]), v.device_path);
  }
  return env;
}

int run_snapshot_create(Context& ctx, const SnapshotCommandOptions& opts) {
  if (opts.volumes.empty()) {
    throw Error(ErrorKind::usage, "creating snapshot", "",
                "give one or more volumes (or `snapshot list` / `snapshot delete ID`)");
  }
  if (opts.keep && !opts.exec.empty()) {
    throw Error(ErrorKind::usage, "creating snapshot", "", "--keep and --exec exclude each other");
  }
  vss::SnapshotOptions options = snapshot_options(opts.vss);
  options.persistent = opts.keep;
  auto session = vss::create_snapshot(opts.volumes, options, ctx.out->progress());
  for (const auto& v : session->volumes()) {
    ctx.out->text(fmt::format("{}  {}  {}", volume_label(v.source), v.snapshot_id, v.device_path));
    ctx.out->record(JsonObject("snapshot")
                        .add("volume", v.source)
                        .add("volume_name", v.volume_name)
                        .add("snapshot_id", v.snapshot_id)
                        .add("snapshot_set_id", session->set_id())
                        .add("device", v.device_path)
                        .add("persistent", opts.keep));
  }
  for (const auto& w : session->writers()) {
    if (w.failed) ctx.summary.add("crash_consistent", true);
  }
  int code = exit_code_for_warnings(ctx.out->warning_count());
  if (!opts.exec.empty()) {
    ctx.out->info("running --exec: " + opts.exec);
    code = run_shell_command(opts.exec, exec_environment(*session));
    ctx.summary.add("exec_exit_code", code);
    // The command's own exit code is the result; the snapshot is deleted either way.
    session->complete(code == 0);
    return code;
  }
  session->complete(true);
  if (opts.keep) {
    ctx.out->info("kept: delete it with `vssimg snapshot delete ID` when done");
  } else {
    ctx.out->info(
        "the snapshot was deleted again (use --exec CMD to use it, or --keep to keep it)");
  }
  return code;
}

int run_snapshot_list(Context& ctx) {
  auto records = vss::list_snapshots(ctx.out->progress());
  if (records.empty()) ctx.out->text("no snapshots made by vssimg");
  for (const auto& r : records) {
    std::string owner = r.pid == 0 ? "kept" : fmt::format("in use by process {}", r.pid);
    ctx.out->text(fmt::format("{}  {}  {}  {}  {}", r.snapshot_id, local_time(r.created_unix),
                              volume_label(r.volume), r.device_path, owner));
    ctx.out->record(JsonObject("snapshot")
                        .add("snapshot_id", r.snapshot_id)
                        .add("snapshot_set_id", r.set_id)
                        .add("volume", r.volume)
                        .add("device", r.device_path)
                        .add("created", r.created_unix)
                        .add("persistent", r.persistent)
                        .add("pid", r.pid));
  }
  ctx.summary.add("snapshots", static_cast<uint64_t>(records.size()));
  return k_exit_ok;
}

int run_snapshot_delete(Context& ctx, const SnapshotCommandOptions& opts) {
  auto r = vss::delete_snapshot(opts.delete_id, ctx.out->progress());
  ctx.out->text(fmt::format("deleted {} of {}", r.snapshot_id, volume_label(r.volume)));
  ctx.summary.add("deleted", r.snapshot_id);
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_snapshot_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<SnapshotCommandOptions>();
  auto* sub = app.add_subcommand(
      "snapshot", "Create a VSS shadow copy of volumes; list or delete the ones vssimg made");
  sub->add_option("volumes", opts->volumes, "Volumes: C:, a mount folder or \\\\?\\Volume{GUID}\\");
  sub->add_option("--exec", opts->exec,
                  "Run CMD while the snapshot exists (device paths in VSSIMG_SHADOW_1.., "
                  "VSSIMG_SHADOW_C, ...), "
                  "then delete it; exit with CMD's exit code");
  sub->add_flag("--keep", opts->keep,
                "Keep a persistent snapshot (delete it later with `snapshot delete ID`)");
  add_vss_flags(sub, opts->vss);
  sub->require_subcommand(0, 1);
  auto* list = sub->add_subcommand(
      "list", "List the snapshots vssimg made and kept (deletes leftovers of killed runs)");
  auto* del = sub->add_subcommand("delete", "Delete a snapshot vssimg made");
  del->add_option("id", opts->delete_id, "Snapshot id or a unique prefix of it")->required();
  table.add(sub, [opts, list, del](Context& ctx) {
    if (list->parsed()) return run_snapshot_list(ctx);
    if (del->parsed()) return run_snapshot_delete(ctx, *opts);
    return run_snapshot_create(ctx, *opts);
  });
}

}  // namespace vssimg::cli
