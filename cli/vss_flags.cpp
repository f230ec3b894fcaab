#include "cli/vss_flags.hpp"

#include "core/base/error.hpp"
#include "core/os/block_holders.hpp"
#include "core/os/process.hpp"

#include <fmt/format.h>

#include <cctype>

namespace vssimg::cli {

void add_vss_flags(CLI::App* sub, VssFlags& flags) {
  sub->add_option("--backup-type", flags.backup_type,
                  "VSS backup type: copy (default; writers keep their logs) or full (Exchange/SQL "
                  "truncate logs after the backup)")
      ->check(CLI::IsMember({"copy", "full"}));
  sub->add_option(
      "--vss-retries", flags.retries,
      "Retries when another snapshot is in progress, the provider is busy or a writer asks "
      "for it (default 3)");
  sub->add_option("--vss-timeout", flags.timeout_seconds,
                  "Seconds each VSS step may take before it is cancelled (default 600)")
      ->check(CLI::PositiveNumber);
}

vss::SnapshotOptions snapshot_options(const VssFlags& flags) {
  vss::SnapshotOptions o;
  o.backup_type = *vss::parse_backup_type(flags.backup_type);
  o.retries = flags.retries;
  o.timeout_seconds = flags.timeout_seconds;
  return o;
}

void add_backup_vss_flags(CLI::App* sub, BackupVssFlags& flags) {
  sub->add_option(
         "--snapshot", flags.snapshot,
         "VSS snapshot of a volume: always (default for volumes: fail with exit 13 if VSS "
         "fails), auto (fall back to the live volume, exit 3), never (read the live volume)")
      ->check(CLI::IsMember({"always", "auto", "never"}));
  add_vss_flags(sub, flags);
  sub->add_option(
      "--pre-snapshot", flags.pre_snapshot,
      "Command to run before the snapshot (e.g. stop a database that is not VSS-aware)");
  sub->add_option("--post-snapshot", flags.post_snapshot,
                  "Command to run once the snapshot exists or has failed (e.g. start it again)");
}

std::string volume_label(const std::string& source) {
  if ((source.size() == 2 || (source.size() == 3 && (source[2] == '\\' || source[2] == '/'))) &&
      std::isalpha(static_cast<unsigned char>(source[0])) && source[1] == ':') {
    return std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(source[0])))) +
           ":";
  }
  return source;
}

BackupSnapshot::BackupSnapshot(Context& ctx, const std::string& source, const BackupVssFlags& flags)
    : m_ctx(ctx), m_flags(flags), m_volume(vss::looks_like_volume(source)), m_read_path(source) {
  std::string mode = flags.snapshot.empty() ? (m_volume ? "always" : "never") : flags.snapshot;
  if (!m_volume && mode != "never") {
    if (mode == "always") {
      throw Error(
          ErrorKind::usage, "backing up", source,
          "--snapshot=always needs a volume (C:, a mount folder or \\\\?\\Volume{GUID}\\); this is "
          "a file or device");
    }
    mode = "never";  // auto: nothing to snapshot
  }
  if (mode == "never") {
    if (const std::string user = block_device_user(source); !m_volume && !user.empty()) {
      m_consistency = Consistency::crash;
      m_ctx.out->warning(fmt::format(
          "{} is in use ({}): the image is only crash-consistent, like a live volume without "
          "a snapshot; unmount it or back up a snapshot of it (LVM, a VM snapshot)",
          source, user));
    }
    if (m_volume) {
      m_consistency = Consistency::crash;
      m_ctx.out->info(
          fmt::format("--snapshot=never: reading the live volume {}; files being written may be "
                      "inconsistent in the image",
                      source));
    }
    return;
  }
  if (!flags.pre_snapshot.empty()) {
    m_ctx.out->info("running --pre-snapshot: " + flags.pre_snapshot);
    m_post_pending = !flags.post_snapshot.empty();
    int rc = run_shell_command(flags.pre_snapshot);
    if (rc != 0) {
      run_post_command();
      throw Error(ErrorKind::failure, "running --pre-snapshot", flags.pre_snapshot,
                  fmt::format("exited with code {}; no snapshot was made", rc));
    }
  }
  m_post_pending = !flags.post_snapshot.empty();
  try {
    m_session = vss::create_snapshot({source}, snapshot_options(flags), m_ctx.out->progress());
  } catch (const Error& e) {
    run_post_command();
    if (mode == "auto" && e.kind() != ErrorKind::interrupted) {
      m_consistency = Consistency::crash;
      m_ctx.out->warning(
          fmt::format("{}; --snapshot=auto: backing up the live volume {} instead (not "
                      "consistent: files being written may be damaged in the image)",
                      e.what(), source));
      return;
    }
    throw;
  }
  run_post_command();
  m_read_path = m_session->volumes().front().device_path;
  m_consistency = m_session->crash_consistent() ? Consistency::crash : Consistency::application;
  m_ctx.out->info(fmt::format("reading the shadow copy {} of {} (snapshot {})", m_read_path, source,
                              m_session->volumes().front().snapshot_id));
}

BackupSnapshot::~BackupSnapshot() = default;  // the session aborts unless complete() ran

void BackupSnapshot::run_post_command() {
  if (!m_post_pending) return;
  m_post_pending = false;
  m_ctx.out->info("running --post-snapshot: " + m_flags.post_snapshot);
  try {
    int rc = run_shell_command(m_flags.post_snapshot);
    if (rc != 0)
      m_ctx.out->warning(
          fmt::format("--post-snapshot {} exited with code {}", m_flags.post_snapshot, rc));
  } catch (const Error& e) {
    m_ctx.out->warning(e.what());
  }
}

SnapshotOutcome BackupSnapshot::outcome() const {
  SnapshotOutcome o;
  o.consistency = m_consistency;
  if (!m_session) return o;
  const auto& v = m_session->volumes().front();
  o.from_snapshot = true;
  o.snapshot_id = v.snapshot_id;
  o.snapshot_set_id = m_session->set_id();
  o.volume = v.volume_name;
  o.device = v.device_path;
  o.backup_type = std::string(vss::to_string(m_session->backup_type()));
  for (const auto& w : m_session->writers()) {
    o.writers.push_back(
        {w.name, w.failed ? fmt::format("[{}] {}, {}", w.state, w.state_name, w.error_name) : ""});
  }
  return o;
}

void BackupSnapshot::complete() {
  if (!m_session) return;
  try {
    m_session->complete(true);
  } catch (const Error& e) {
    m_ctx.out->warning(fmt::format(
        "{}; the point is written, but writers were not told the backup "
        "succeeded{}",
        e.what(),
        m_session->backup_type() == vss::BackupType::full ? " (logs not truncated)" : ""));
  }
}

}  // namespace vssimg::cli
