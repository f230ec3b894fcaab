// The VSS flags shared by `backup` and `snapshot`, and the VSS part of `backup`
// (vss_flags.cpp): whether to snapshot, the pre/post commands, one snapshot set for all
// the volumes of a run, and what each point records about it.
#pragma once

#include "cli/context.hpp"
#include "image/point_meta.hpp"
#include "vss/vss.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vssimg::cli {

struct VssFlags {
  std::string backup_type = "copy";                   // --backup-type copy|full
  unsigned retries = vss::SnapshotOptions{}.retries;  // --vss-retries
  double retry_wait_seconds = vss::SnapshotOptions{}.retry_delay_seconds;  // --vss-retry-wait
  double timeout_seconds = vss::SnapshotOptions{}.timeout_seconds;         // --vss-timeout
  std::vector<std::string> exclude_writers;  // --exclude-writer NAME|ID, repeatable
};
void add_vss_flags(CLI::App* sub, VssFlags& flags);
vss::SnapshotOptions snapshot_options(const VssFlags& flags);

struct BackupVssFlags : VssFlags {
  std::string snapshot;       // --snapshot always|auto|never; "" = always for volumes
  std::string pre_snapshot;   // --pre-snapshot CMD
  std::string post_snapshot;  // --post-snapshot CMD (runs even when the snapshot fails)
};
void add_backup_vss_flags(CLI::App* sub, BackupVssFlags& flags);

// Makes the snapshot set of some volumes: vss::create_snapshot on the real system; tests
// hand in one that drives the fake IVssBackupComponents.
using SnapshotFactory = std::function<std::unique_ptr<vss::SnapshotSession>(
    const std::vector<std::string>& volumes, const vss::SnapshotOptions&, ProgressSink&)>;
SnapshotFactory system_snapshot_factory();

// What the point of volume `index` of `session` records about the snapshot: ids, device,
// backup type, every writer with its state, the included components and the document.
SnapshotOutcome snapshot_outcome(const vss::SnapshotSession& session, size_t index);

// How one source of a backup run is read.
struct SnapshotSource {
  std::string given;      // as typed
  bool volume = false;    // a Windows volume (vss::looks_like_volume)
  std::string read_path;  // the shadow copy device, or the source as given
  SnapshotOutcome outcome;
};

// The sources of one backup run: the volumes among them in ONE shadow copy set while
// this object lives (so a database with data on D: and logs on E: is consistent), files,
// devices and --snapshot=never volumes read as they are. --pre-snapshot and
// --post-snapshot run once, around the set.
class BackupSnapshots {
 public:
  // Throws Error(usage) for --snapshot=always with a source that is not a volume; a VSS
  // failure as vss.hpp says, or, with --snapshot=auto, a warning and the live volumes.
  BackupSnapshots(Context& ctx, const std::vector<std::string>& sources,
                  const BackupVssFlags& flags, SnapshotFactory factory);
  ~BackupSnapshots();
  BackupSnapshots(const BackupSnapshots&) = delete;
  BackupSnapshots& operator=(const BackupSnapshots&) = delete;

  const std::vector<SnapshotSource>& sources() const { return m_sources; }
  // The VSS snapshot set id; empty when no snapshot was made.
  std::string set_id() const;
  // After EVERY point of the run is committed: SetBackupSucceeded and BackupComplete
  // (with --backup-type full, writers now truncate their logs). A failure here is a
  // warning: the points are written. Not called after a failure: the destructor aborts
  // the backup (AbortBackup), and no writer is told it succeeded.
  void complete();

 private:
  void take_snapshot(const std::vector<std::string>& volumes, const std::string& mode,
                     const SnapshotFactory& factory);
  void run_post_command();

  Context& m_ctx;
  BackupVssFlags m_flags;
  std::vector<SnapshotSource> m_sources;
  std::unique_ptr<vss::SnapshotSession> m_session;
  bool m_post_pending = false;
};

// "C:" for "c:", "C:\" and "c:/"; other sources unchanged.
std::string volume_label(const std::string& source);

}  // namespace vssimg::cli
