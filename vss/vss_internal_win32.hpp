// Windows-only, private to the VSS requester: the declarations its vss/*_win32.cpp files
// share. Include it only from those files (it pulls in the Windows and VSS SDK headers).
//
//   vss_com_win32.cpp      COM for the process, HRESULT failures, IVssAsync waits, BSTR/GUID
//   vss_writers_win32.cpp  writer metadata and status passes (list-writers, the session)
//   vss_components_win32.cpp  component mode: the components the backup includes
//   vss_session_win32.cpp  SnapshotSession: the backup sequence and its retry loop
//   vss_records_win32.cpp  the record of snapshots vssimg made, leftovers, list/delete
//   vss_win32.cpp          the real system (Backend, pre-flight) and the neutral entry points
#pragma once

#include "core/base/error.hpp"
#include "vss/vss_win32.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vssimg::vss {

// ---- COM and HRESULTs (vss_com_win32.cpp) ------------------------------------------------

// A VSS call failed. `retry` says whether the whole sequence may be restarted.
class VssFailure : public Error {
 public:
  VssFailure(ErrorKind kind, std::string operation, std::string cause, uint32_t hr, Retry retry)
      : Error(kind, std::move(operation), "", std::move(cause)), m_hr(hr), m_retry(retry) {}
  uint32_t hr() const { return m_hr; }
  Retry retry() const { return m_retry; }

 private:
  uint32_t m_hr;
  Retry m_retry;
};

// "VSS_E_...(0x...): meaning; advice" for VSS codes, else the system's name and message.
std::string cause_of(HRESULT hr);
// Throws VssFailure for "VSS <api>": ErrorKind::privilege for E_ACCESSDENIED, the retry
// class from the HRESULT table.
[[noreturn]] void fail(std::string_view api, HRESULT hr);
// fail() when FAILED(hr).
void check(std::string_view api, HRESULT hr);

// Checks that `started` succeeded, waits for `async` in slices of
// options.wait_slice_seconds, then releases it. On Ctrl+C (or a console close, logoff,
// shutdown) or after options.timeout_seconds: Cancel, then wait (at most
// options.timeout_seconds more) for the operation to settle, set *finished_anyway when it
// finished regardless (the cancel came too late), and throw.
void run_async(std::string_view api, HRESULT started, ComPtr<IVssAsync>& async,
               const SnapshotOptions& options, bool* finished_anyway = nullptr);

std::string bstr_text(BSTR s);
// Parses "{12345678-...}"; anything else is a usage error.
GUID parse_guid(const std::string& text);

// ---- the real system (vss_win32.cpp) ----------------------------------------------------

// Refuses a 32-bit process on 64-bit Windows (exit 13) and a non-elevated one (exit 14).
void preflight();

// ---- writers (vss_writers_win32.cpp) -----------------------------------------------------

// GatherWriterMetadata + wait: once per backup components object, before anything that
// asks about writers or components.
void gather_writer_metadata(IVssBackupComponents* components, const SnapshotOptions& options);

// Calls fn(instance id, metadata) for every writer of the gathered metadata, in order.
void for_each_writer_metadata(
    IVssBackupComponents* components,
    const std::function<void(const VSS_ID&, IVssExamineWriterMetadata*)>& fn);

// The components of every writer, by writer instance id, from the gathered metadata.
// The caller frees the metadata (FreeWriterMetadata) when done with it.
using ComponentsByInstance = std::vector<std::pair<std::string, std::vector<WriterComponent>>>;
ComponentsByInstance writer_components(IVssBackupComponents* components);

// One GatherWriterStatus pass (wait included): every writer's name, ids, state and last
// error. Writers that failed Identify appear only here, so list-writers and the snapshot
// sequence both use it. Frees the status before returning.
std::vector<WriterOutcome> gather_writer_status(IVssBackupComponents* components,
                                                const SnapshotOptions& options);

// The session's status pass after `when` ("PrepareForBackup", "DoSnapshotSet"). With
// retry_writers, a failed writer whose error asks for a retry throws one
// VssFailure(Retry::writer) that names every failed writer. Otherwise (and on the last
// attempt, where a retryable writer is handled as non-retryable) every failed writer is
// a warning: its data is crash-consistent only. Returns all outcomes.
std::vector<WriterOutcome> check_writer_status(IVssBackupComponents* components,
                                               const SnapshotOptions& options,
                                               std::string_view when, bool retry_writers,
                                               ProgressSink& progress);

// After an asynchronous operation failed with `e`: `e` with every failed writer named,
// retryable when the operation's error or a writer's is. When the status pass fails
// too, or no writer failed, `e` as it is.
VssFailure with_writer_status(IVssBackupComponents* components, const SnapshotOptions& options,
                              const VssFailure& e);

// ---- component mode (vss_components_win32.cpp) -------------------------------------------

// A writer component in the backup: what AddComponent and SetBackupSucceeded name.
struct SelectedComponent {
  VSS_ID instance_id = GUID_NULL;
  VSS_ID writer_id = GUID_NULL;
  VSS_COMPONENT_TYPE type = VSS_CT_UNDEFINED;
  std::wstring logical_path;  // empty: none (passed as NULL)
  std::wstring name;
  std::string writer_name;  // for messages and the point
};

struct ComponentSelection {
  std::vector<SelectedComponent> included;
  std::vector<std::string> warnings;  // one per component left out, naming its volumes
  std::vector<std::string> notes;     // one per writer left out by `exclude`
};

// Walks the gathered writer metadata (each writer's components and their file, database
// and log file descriptors) and judges it against `set`: a writer with no file on the
// set is not part of the backup; in one that is, a component is included when all its
// files lie on the set (one without files too) and left out, with a warning, otherwise;
// a non-selectable component left out leaves the whole writer out. A writer that
// `exclude` names (writer name, writer id or instance id, case-insensitive, braces
// optional) adds no component; it gets one note.
ComponentSelection select_components(IVssBackupComponents* components, const Backend& backend,
                                     const std::vector<SnapshotVolume>& set,
                                     const std::vector<std::string>& exclude);
// True when `pattern` names the writer (name, writer id or instance id; see above).
bool writer_matches(const std::string& pattern, const std::string& name,
                    const std::string& writer_id, const std::string& instance_id);
// The selection as the platform-neutral API reports it.
std::vector<IncludedComponent> describe_components(const std::vector<SelectedComponent>& selected);
// AddComponent for each, before PrepareForBackup.
void add_components(IVssBackupComponents* components,
                    const std::vector<SelectedComponent>& selected);
// SetBackupSucceeded(TRUE) for each, once the backup is committed (before BackupComplete).
void set_backup_succeeded(IVssBackupComponents* components,
                          const std::vector<SelectedComponent>& selected);

// ---- the record of snapshots vssimg made (vss_records_win32.cpp) ------------------------

// A damaged or foreign record file is reported (a warning) and moved aside to
// "<file>.damaged", never trusted: its snapshots are not deleted automatically.

// Deletes snapshots recorded by runs that no longer exist (killed, crashed, power loss).
void delete_leftovers(const Backend& backend, ProgressSink& progress);

// Records this process's snapshots of a set before they exist, so that a run killed from
// then on is cleaned up by the next one.
void record_new_snapshots(const Backend& backend, const std::string& set_id,
                          const std::vector<SnapshotVolume>& volumes, bool persistent,
                          ProgressSink& progress);
// Adds the device paths once the snapshots exist.
void record_device_paths(const Backend& backend, const std::vector<SnapshotVolume>& volumes,
                         ProgressSink& progress);
// Removes the records of `volumes`; with keep_persistent they stay, owned by no process
// (pid 0), for `snapshot list/delete`.
void forget_snapshots(const Backend& backend, const std::vector<SnapshotVolume>& volumes,
                      bool keep_persistent, ProgressSink& progress);

}  // namespace vssimg::vss
