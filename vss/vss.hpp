// The VSS requester: a thin RAII wrapper around IVssBackupComponents (vss/*_win32.cpp)
// and, on other systems, a stub whose every entry point throws
// Error(ErrorKind::vss, ..., "VSS is only available on Windows") (vss_stub.cpp).
//
// Contracts shared by all entry points:
//  - Failures throw Error. E_ACCESSDENIED gives ErrorKind::privilege (exit 14), Ctrl+C
//    while waiting ErrorKind::interrupted (130), any other VSS failure ErrorKind::vss
//    (exit 13). Messages name the API call, the HRESULT's symbolic name and hex value, and
//    advice: "VSS DoSnapshotSet: VSS_E_INSUFFICIENT_STORAGE (0x8004231F): ...".
//  - Retries (snapshot set in progress, transient provider errors, retryable writer
//    errors) are bounded by SnapshotOptions::retries and reported through
//    ProgressSink::info, naming the writer (a retry that succeeds is not a warning);
//    writers that fail for good are reported through ProgressSink::warning.
//  - Nothing is printed; cli/ decides what to show.
#pragma once

#include "core/base/progress.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vssimg::vss {

enum class BackupType {
  copy,  // VSS_BT_COPY: writers do not truncate logs (the default)
  full,  // VSS_BT_FULL: writers treat this as their backup (Exchange/SQL truncate logs)
};
std::string_view to_string(BackupType type);
std::optional<BackupType> parse_backup_type(std::string_view text);

// ---- HRESULTs and writer states (one table, vss_tables.cpp, platform-neutral) ------

enum class Retry {
  no,         // report and stop
  transient,  // the whole sequence is retried (provider veto, set in progress, timeouts)
  writer,     // a writer asked for a retry (VSS_E_WRITERERROR_RETRYABLE/_TIMEOUT/...)
};

struct HresultInfo {
  uint32_t code;
  const char* name;     // "VSS_E_INSUFFICIENT_STORAGE"
  const char* meaning;  // "not enough space for the shadow copy storage area"
  const char* advice;   // "free space or resize it with vssadmin resize shadowstorage"
  Retry retry;
};
// The table entry for a code, or nullptr.
const HresultInfo* find_hresult(uint32_t code);
// "VSS_E_INSUFFICIENT_STORAGE" / "S_OK" / "0x80041234" for codes not in the table.
std::string hresult_name(uint32_t code);
// "VSS_E_INSUFFICIENT_STORAGE (0x8004231F): not enough space ...; free space ..."
std::string describe_vss_hresult(uint32_t code);
// "Stable", "Failed at freeze", ... (English, stable across Windows languages).
std::string writer_state_name(int state);
bool writer_state_failed(int state);

// True for what names a volume rather than a file: "C:", "C:\", "\\?\Volume{GUID}\" and,
// on Windows, a folder that is a volume mount point ("D:\mnt\data").
bool looks_like_volume(const std::string& source);

// ---- list-writers -------------------------------------------------------------------

struct WriterComponent {
  std::string logical_path;
  std::string name;
  std::string type;  // "database" | "filegroup"
  bool selectable = false;
};

struct WriterInfo {
  std::string name;
  std::string writer_id;    // {GUID}
  std::string instance_id;  // {GUID}
  int state = 0;
  std::string state_name;
  uint32_t last_error = 0;
  std::string last_error_name;
  std::vector<WriterComponent> components;  // only with with_components
};

// Every writer, from a separate backup components object (metadata and status passes:
// writers that failed Identify appear only in the status pass).
std::vector<WriterInfo> list_writers(bool with_components, ProgressSink& progress);

// ---- snapshots ----------------------------------------------------------------------

struct SnapshotOptions {
  BackupType backup_type = BackupType::copy;
  bool persistent = false;  // `snapshot --keep`: survives this process
  // Retries of the whole sequence after a transient or retryable-writer failure. Microsoft
  // ("CVssWriterEx2::SetWriterFailureEx", "DoSnapshotSet"): "wait ten minutes and then
  // repeat the operation, up to three times". The defaults: 3 retries, after 5, 10 and 20
  // minutes (the wait doubles). Another snapshot in progress, the most common cause,
  // clears within minutes, so the first retry comes sooner than ten minutes; the later
  // ones are at and past Microsoft's ten, and the worst case (35 minutes of waiting)
  // still fits a nightly window with the backup itself. The waits go through
  // Backend::sleep (tests never sleep).
  unsigned retries = 3;              // extra attempts after the first
  double retry_delay_seconds = 300;  // before the first retry; doubles for each further one
  double timeout_seconds = 600;      // per asynchronous VSS operation
  double wait_slice_seconds = 0.25;  // Ctrl+C is noticed within one slice
  // --exclude-writer: writers (by name, writer id or instance id, case-insensitive) left
  // out of component selection; their components are not added.
  std::vector<std::string> exclude_writers;
};

struct SnapshotVolume {
  std::string source;       // as given ("C:")
  std::string volume_name;  // "\\?\Volume{GUID}\"
  std::string snapshot_id;  // {GUID}
  std::string device_path;  // "\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy7"
};

// One writer's state after the snapshot. `failed` writers were not quiesced: their data
// in the snapshot is only crash-consistent.
struct WriterOutcome {
  std::string name;
  std::string writer_id;
  std::string instance_id;
  int state = 0;
  std::string state_name;
  uint32_t error = 0;
  std::string error_name;
  bool failed = false;
};

// A writer component added to the backup (component mode): AddComponent before the
// snapshot, SetBackupSucceeded once the points are committed.
struct IncludedComponent {
  std::string writer_name;
  std::string writer_id;    // {GUID}
  std::string instance_id;  // {GUID}
  std::string logical_path;
  std::string name;
  std::string type;  // "database" | "filegroup"
};

// A shadow copy set that exists while this object lives. The destructor aborts the
// backup (if complete() was not called) and deletes the snapshots unless persistent.
// Interrupted (Ctrl+C, Ctrl+Break, console close, shutdown) or timed out while VSS works,
// the operation is cancelled and the backup aborted; a set that DoSnapshotSet made
// regardless is deleted, persistent or not (no orphan).
class SnapshotSession {
 public:
  class Impl;
  explicit SnapshotSession(std::unique_ptr<Impl> impl);
  ~SnapshotSession();
  SnapshotSession(const SnapshotSession&) = delete;
  SnapshotSession& operator=(const SnapshotSession&) = delete;

  const std::string& set_id() const;
  const std::vector<SnapshotVolume>& volumes() const;
  const std::vector<WriterOutcome>& writers() const;
  BackupType backup_type() const;
  bool persistent() const;
  // The components added to the backup, in the order they were added.
  const std::vector<IncludedComponent>& components() const;
  // The backup components document (IVssBackupComponents::SaveAsXML once DoSnapshotSet
  // succeeded), UTF-8 XML; what a writer-aware restore hands back to the writers. Empty
  // when no component was added.
  const std::string& components_document() const;
  // True when a writer failed (not retryable): the snapshot is used anyway and the data
  // of that writer is crash-consistent. The CLI exits 3.
  bool crash_consistent() const;

  // ok: BackupComplete (and wait) — with BackupType::full writers now truncate logs.
  // !ok: AbortBackup. Then the snapshots are deleted unless persistent. Runs once;
  // throws Error when BackupComplete fails (the snapshots are still cleaned up).
  void complete(bool ok);

 private:
  std::unique_ptr<Impl> m_impl;
};

// Pre-flight (64-bit process, elevation), then the whole VSS sequence for `volumes`
// (each accepted by looks_like_volume). Deletes leftovers of killed runs first.
std::unique_ptr<SnapshotSession> create_snapshot(const std::vector<std::string>& volumes,
                                                 const SnapshotOptions& options,
                                                 ProgressSink& progress);

// Snapshots vssimg created and recorded (persistent ones from `snapshot --keep`, and
// leftovers of runs that are still alive). Leftovers of dead runs are deleted first.
struct SnapshotRecord {
  std::string snapshot_id;
  std::string set_id;
  std::string volume;
  std::string device_path;
  int64_t created_unix = 0;
  uint64_t pid = 0;  // the run that owns it; 0 once a --keep snapshot is complete
  bool persistent = false;
};
std::vector<SnapshotRecord> list_snapshots(ProgressSink& progress);
// Deletes one recorded snapshot, by id or unique prefix. Unknown ids are a usage error
// (vssimg deletes only what it made).
SnapshotRecord delete_snapshot(const std::string& id, ProgressSink& progress);

}  // namespace vssimg::vss
