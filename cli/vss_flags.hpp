// The VSS flags shared by `backup` and `snapshot`, and the VSS part of `backup`
// (vss_flags.cpp): whether to snapshot, the pre/post commands, and what the point
// records about the snapshot.
#pragma once

#include "cli/context.hpp"
#include "image/point_meta.hpp"
#include "vss/vss.hpp"

#include <memory>
#include <string>

namespace vssimg::cli {

struct VssFlags {
  std::string backup_type = "copy";  // --backup-type copy|full
  unsigned retries = 3;              // --vss-retries
  double timeout_seconds = 600;      // --vss-timeout
};
void add_vss_flags(CLI::App* sub, VssFlags& flags);
vss::SnapshotOptions snapshot_options(const VssFlags& flags);

struct BackupVssFlags : VssFlags {
  std::string snapshot;       // --snapshot always|auto|never; "" = always for volumes
  std::string pre_snapshot;   // --pre-snapshot CMD
  std::string post_snapshot;  // --post-snapshot CMD (runs even when the snapshot fails)
};
void add_backup_vss_flags(CLI::App* sub, BackupVssFlags& flags);

// The source of one backup: a volume's shadow copy while this object lives, or the
// source itself (files, devices, --snapshot=never, --snapshot=auto after a VSS failure).
class BackupSnapshot {
 public:
  BackupSnapshot(Context& ctx, const std::string& source, const BackupVssFlags& flags);
  ~BackupSnapshot();
  BackupSnapshot(const BackupSnapshot&) = delete;
  BackupSnapshot& operator=(const BackupSnapshot&) = delete;

  bool is_volume() const { return m_volume; }
  // What to read: the shadow copy device, or the source as given.
  const std::string& read_path() const { return m_read_path; }
  // What the point records about the snapshot (`consistency`, vss.*).
  SnapshotOutcome outcome() const;
  // After the point is committed: BackupComplete (with --backup-type full, writers now
  // truncate their logs). A failure here is a warning: the point is already written.
  void complete();

 private:
  void run_post_command();

  Context& m_ctx;
  BackupVssFlags m_flags;
  bool m_volume = false;
  std::string m_read_path;
  Consistency m_consistency = Consistency::image;
  std::unique_ptr<vss::SnapshotSession> m_session;
  bool m_post_pending = false;
};

// "C:" for "c:", "C:\" and "c:/"; other sources unchanged.
std::string volume_label(const std::string& source);

}  // namespace vssimg::cli
