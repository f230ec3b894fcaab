#include "cli/vss_flags.hpp"

#include "core/base/error.hpp"
#include "core/os/block_holders.hpp"
#include "core/os/process.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace vssimg::cli {

void add_vss_flags(CLI::App* sub, VssFlags& flags) {
  const vss::SnapshotOptions defaults;
  sub->add_option("--backup-type", flags.backup_type,
                  "VSS backup type: copy (default; writers keep their logs) or full (Exchange/SQL "
                  "truncate logs after the backup)")
      ->check(CLI::IsMember({"copy", "full"}));
  sub->add_option(
      "--vss-retries", flags.retries,
      fmt::format("Retries when another snapshot is in progress, the provider is busy or a "
                  "writer asks for it (default {})",
                  defaults.retries));
  sub->add_option("--vss-retry-wait", flags.retry_wait_seconds,
                  fmt::format("Seconds before the first VSS retry; the wait doubles for each "
                              "further one (default {:g})",
                              defaults.retry_delay_seconds))
      ->check(CLI::Validator(
          [](std::string& value) {
            char* end = nullptr;
            const double seconds = std::strtod(value.c_str(), &end);
            // A day at most: the wait doubles per retry, and NaN or inf are no wait.
            const bool ok = !value.empty() && *end == '\0' && seconds >= 0 && seconds <= 86400;
            return ok ? std::string() : "needs seconds from 0 to 86400, not " + value;
          },
          "SECONDS"));
  sub->add_option(
         "--vss-timeout", flags.timeout_seconds,
         fmt::format("Seconds each VSS step may take before it is cancelled (default {:g})",
                     defaults.timeout_seconds))
      ->check(CLI::PositiveNumber);
  sub->add_option("--exclude-writer", flags.exclude_writers,
                  "Leave this VSS writer out of the backup (its name, writer id or instance id; "
                  "repeatable)")
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& value) {
            return value.empty() ? std::string("needs a writer name or id") : std::string();
          },
          "NAME|ID"));
}

vss::SnapshotOptions snapshot_options(const VssFlags& flags) {
  vss::SnapshotOptions o;
  o.backup_type = *vss::parse_backup_type(flags.backup_type);
  o.retries = flags.retries;
  o.retry_delay_seconds = flags.retry_wait_seconds;
  o.timeout_seconds = flags.timeout_seconds;
  o.exclude_writers = flags.exclude_writers;
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

SnapshotFactory system_snapshot_factory() {
  return [](const std::vector<std::string>& volumes, const vss::SnapshotOptions& options,
            ProgressSink& progress) { return vss::create_snapshot(volumes, options, progress); };
}

SnapshotOutcome snapshot_outcome(const vss::SnapshotSession& session, size_t index) {
  SnapshotOutcome o;
  o.consistency = session.crash_consistent() ? Consistency::crash : Consistency::application;
  const auto& v = session.volumes().at(index);
  o.from_snapshot = true;
  o.snapshot_id = v.snapshot_id;
  o.snapshot_set_id = session.set_id();
  o.volume = v.volume_name;
  o.device = v.device_path;
  o.backup_type = std::string(vss::to_string(session.backup_type()));
  for (const auto& w : session.writers()) {
    SnapshotOutcome::Writer r;
    r.name = w.name;
    r.failure = w.failed ? fmt::format("[{}] {}, {}", w.state, w.state_name, w.error_name) : "";
    r.writer_id = w.writer_id;
    r.instance_id = w.instance_id;
    r.state = w.state;
    r.state_name = w.state_name;
    r.error = w.error;
    r.error_name = w.error_name;
    o.writers.push_back(std::move(r));
  }
  // Every point of the set records all of them: the components were judged against the
  // whole set, and a restore of any one point needs the whole document.
  for (const auto& c : session.components()) {
    o.components.push_back(
        {c.writer_name, c.writer_id, c.instance_id, c.type, c.logical_path, c.name});
  }
  o.components_document = session.components_document();
  return o;
}

namespace {

// A block device in use (mounted, or held by LVM/md/dm) is read live: only
// crash-consistent, as a Windows volume without a snapshot.
void note_device_in_use(Context& ctx, SnapshotSource& s) {
  const std::string user = block_device_user(s.given);
  if (user.empty()) return;
  s.outcome.consistency = Consistency::crash;
  ctx.out->warning(
      fmt::format("{} is in use ({}): the image is only crash-consistent, like a live volume "
                  "without a snapshot; unmount it or back up a snapshot of it (LVM, a VM snapshot)",
                  s.given, user));
}

}  // namespace

BackupSnapshots::BackupSnapshots(Context& ctx, const std::vector<std::string>& sources,
                                 const BackupVssFlags& flags, SnapshotFactory factory)
    : m_ctx(ctx), m_flags(flags) {
  std::vector<std::string> volumes;
  const std::string mode = flags.snapshot.empty() ? "always" : flags.snapshot;
  for (const auto& given : sources) {
    SnapshotSource s;
    s.given = given;
    s.volume = vss::looks_like_volume(given);
    s.read_path = given;
    s.outcome.consistency = Consistency::image;
    if (!s.volume && flags.snapshot == "always") {
      throw Error(
          ErrorKind::usage, "backing up", given,
          "--snapshot=always needs a volume (C:, a mount folder or \\\\?\\Volume{GUID}\\); this is "
          "a file or device");
    }
    if (!s.volume) note_device_in_use(ctx, s);
    if (s.volume && mode == "never") {
      s.outcome.consistency = Consistency::crash;
      m_ctx.out->info(
          fmt::format("--snapshot=never: reading the live volume {}; files being written may be "
                      "inconsistent in the image",
                      given));
    } else if (s.volume) {
      volumes.push_back(given);
    }
    m_sources.push_back(std::move(s));
  }
  if (!volumes.empty()) take_snapshot(volumes, mode, factory);
}

// One set for all volumes; --snapshot=auto falls back to reading all of them live.
void BackupSnapshots::take_snapshot(const std::vector<std::string>& volumes,
                                    const std::string& mode, const SnapshotFactory& factory) {
  if (!m_flags.pre_snapshot.empty()) {
    m_ctx.out->info("running --pre-snapshot: " + m_flags.pre_snapshot);
    m_post_pending = !m_flags.post_snapshot.empty();
    int rc = run_shell_command(m_flags.pre_snapshot);
    if (rc != 0) {
      run_post_command();
      throw Error(ErrorKind::failure, "running --pre-snapshot", m_flags.pre_snapshot,
                  fmt::format("exited with code {}; no snapshot was made", rc));
    }
  }
  m_post_pending = !m_flags.post_snapshot.empty();
  try {
    m_session = factory(volumes, snapshot_options(m_flags), m_ctx.out->progress());
  } catch (const Error& e) {
    run_post_command();
    if (mode != "auto" || e.kind() == ErrorKind::interrupted) throw;
    std::string names;
    for (auto& s : m_sources) {
      if (!s.volume || s.outcome.consistency == Consistency::crash) continue;
      s.outcome.consistency = Consistency::crash;
      names += (names.empty() ? "" : ", ") + s.given;
    }
    m_ctx.out->warning(
        fmt::format("{}; --snapshot=auto: backing up the live volume{} {} instead (not "
                    "consistent: files being written may be damaged in the image)",
                    e.what(), volumes.size() > 1 ? "s" : "", names));
    return;
  }
  run_post_command();
  const auto& shadows = m_session->volumes();
  for (auto& s : m_sources) {
    if (!s.volume || s.outcome.consistency == Consistency::crash) continue;
    auto it = std::find_if(shadows.begin(), shadows.end(),
                           [&](const vss::SnapshotVolume& v) { return v.source == s.given; });
    if (it == shadows.end()) {
      throw Error(ErrorKind::vss, "reading the snapshot set", s.given,
                  "VSS returned no shadow copy for this volume");
    }
    s.outcome = snapshot_outcome(*m_session, static_cast<size_t>(it - shadows.begin()));
    s.read_path = it->device_path;
    m_ctx.out->info(fmt::format("reading the shadow copy {} of {} (snapshot {}, set {})",
                                s.read_path, s.given, it->snapshot_id, m_session->set_id()));
  }
}

BackupSnapshots::~BackupSnapshots() = default;  // the session aborts unless complete() ran

std::string BackupSnapshots::set_id() const {
  return m_session ? m_session->set_id() : std::string();
}

void BackupSnapshots::run_post_command() {
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

void BackupSnapshots::complete() {
  if (!m_session) return;
  try {
    m_session->complete(true);
  } catch (const Error& e) {
    m_ctx.out->warning(fmt::format(
        "{}; the points are written, but writers were not told the backup "
        "succeeded{}",
        e.what(),
        m_session->backup_type() == vss::BackupType::full ? " (logs not truncated)" : ""));
  }
}

}  // namespace vssimg::cli
