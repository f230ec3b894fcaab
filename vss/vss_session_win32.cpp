// The snapshot session: the VSS backup sequence and the retry loop around it.
//
// The backup sequence (VSS_CTX_BACKUP, or VSS_CTX_APP_ROLLBACK for `snapshot --keep`),
// as Microsoft's requester documentation and vshadow do it:
//
//   0. Pre-flight: a 64-bit process (VSS refuses WOW64 requesters), elevated (else exit
//      14); each source resolved to \\?\Volume{GUID}\ (trailing backslash required).
//   1-2. COM for the process, once, before the first VSS object and not per attempt
//      (Backend::com, ComProcess): CoInitializeEx(MTA), CoInitializeSecurity,
//      COMGLB_EXCEPTION_DONOT_HANDLE.
//   3. CreateVssBackupComponents: E_ACCESSDENIED = not elevated, E_NOTIMPL = no VSS.
//   4. InitializeForBackup (first), SetContext only for persistent snapshots.
//   5. SetBackupState(true, false, VSS_BT_COPY | VSS_BT_FULL, false): component mode,
//      which Exchange, SQL Server and AD need (SQL supports no roll-forward after a
//      non-component restore).
//   6. GatherWriterMetadata + wait; the components whose files all lie on the set's
//      volumes are added (AddComponent, vss_components_win32.cpp), except those of
//      writers SnapshotOptions::exclude_writers names.
//   7. StartSnapshotSet (VSS_E_SNAPSHOT_SET_IN_PROGRESS: the whole sequence is retried).
//      Up to here a failure needs only Release; from here on every failure path calls
//      AbortBackup before Release (AbortGuard, "IVssBackupComponents::AbortBackup").
//   8. AddToSnapshotSet per volume.
//   9. PrepareForBackup + wait. GatherWriterStatus: failed writers are reported.
//  10. DoSnapshotSet + wait (bounded by --vss-timeout). On timeout or Ctrl+C: Cancel, wait
//      for the operation to settle; if it finished anyway, the set is deleted (also a
//      persistent one: never an orphan).
//  11. GatherWriterStatus: retryable writer errors restart the sequence after a delay;
//      other writer failures are recorded: that writer's data is crash-consistent.
//      SaveAsXML: the backup components document, for the points.
//  12. GetSnapshotProperties -> copy the device path -> VssFreeSnapshotProperties.
//  13. The caller reads the device.
//  14. complete(): once the points are committed, SetBackupSucceeded for every added
//      component, BackupComplete + wait, GatherWriterStatus (a writer failed now, e.g. at
//      log truncation, is a warning); after a failure AbortBackup only. Then
//      DeleteSnapshots for the set (unless persistent), Release, CoUninitialize.
//
// Every IVssAsync is waited for in short slices followed by QueryStatus, so Ctrl+C and
// the deadline are noticed; snapshots are recorded in a file so that a killed run's
// leftovers are deleted by the next run.
#include "vss/vss_internal_win32.hpp"

#include "core/os/platform.hpp"
#include "core/source/block_source_win32.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

namespace vssimg::vss {

namespace {

// Calls AbortBackup when destroyed while armed (every failure after StartSnapshotSet).
class AbortGuard {
 public:
  explicit AbortGuard(IVssBackupComponents* components) : m_components(components) {}
  ~AbortGuard() { fire(); }
  AbortGuard(const AbortGuard&) = delete;
  AbortGuard& operator=(const AbortGuard&) = delete;
  void arm() { m_armed = true; }
  void disarm() { m_armed = false; }
  void fire() {
    if (m_armed) {
      m_armed = false;
      m_components->AbortBackup();
    }
  }

 private:
  IVssBackupComponents* m_components;
  bool m_armed = false;
};

}  // namespace

// One attempt at the sequence (steps 1-12 in run(), step 14 in complete()).
class SnapshotSession::Impl {
 public:
  // On the last attempt (!retry_writers) a writer that asks for a retry is handled as
  // one that failed for good.
  Impl(const Backend& backend, const SnapshotOptions& options, bool retry_writers,
       ProgressSink& progress)
      : m_backend(backend),
        m_options(options),
        m_progress(progress),
        m_retry_writers(retry_writers) {}
  ~Impl() {
    if (!m_completed) {
      try {
        complete(false);
      } catch (...) {  // a destructor must not throw; complete() already warned
      }
    }
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void run(const std::vector<std::string>& sources);
  void complete(bool ok);
  const SnapshotOptions& options() const { return m_options; }

  std::string m_set_id;
  std::vector<SnapshotVolume> m_volumes;
  std::vector<WriterOutcome> m_writers;
  // The components left out of this attempt and the writers excluded, reported once the
  // snapshot is made.
  std::vector<std::string> m_component_warnings;
  std::vector<std::string> m_exclusion_notes;
  std::vector<IncludedComponent> m_included;  // m_selected, for callers
  std::string m_document;                     // SaveAsXML

 private:
  // The steps of run(), in order.
  void create_components();
  void resolve_volumes(const std::vector<std::string>& sources);
  void select_components();
  void add_volumes();
  void take_snapshot();
  // run_async, with the failed writers named when the operation fails.
  void run_step(std::string_view api, HRESULT started, ComPtr<IVssAsync>& async,
                bool* finished_anyway = nullptr);
  void read_device_paths();
  void save_document();
  // Part of complete(): the set is deleted unless it is kept.
  bool delete_snapshot_set();
  void tell_writers_backup_succeeded();
  void forget_records(bool keep_persistent);

  Backend m_backend;
  SnapshotOptions m_options;
  ProgressSink& m_progress;
  bool m_retry_writers;
  // Destroyed in reverse order: the guard aborts, then the object is released.
  ComPtr<IVssBackupComponents> m_components;
  std::unique_ptr<AbortGuard> m_guard;
  std::vector<SelectedComponent> m_selected;
  std::vector<VSS_ID> m_snapshot_ids;
  VSS_ID m_set = GUID_NULL;
  bool m_created = false;
  bool m_recorded = false;
  bool m_completed = false;
};

void SnapshotSession::Impl::run(const std::vector<std::string>& sources) {
  check_interrupted();
  create_components();
  gather_writer_metadata(m_components.get(), m_options);
  resolve_volumes(sources);
  select_components();
  add_volumes();
  // Recorded before the snapshot exists, so a run killed from here on is cleaned up.
  record_new_snapshots(m_backend, m_set_id, m_volumes, m_options.persistent, m_progress);
  m_recorded = true;
  take_snapshot();
  save_document();
  read_device_paths();
  record_device_paths(m_backend, m_volumes, m_progress);
}

// Steps 3-5: the backup components object, initialised for this kind of backup.
void SnapshotSession::Impl::create_components() {
  check("CreateVssBackupComponents", m_backend.create_components(m_components.put()));
  m_guard = std::make_unique<AbortGuard>(m_components.get());
  check("InitializeForBackup", m_components->InitializeForBackup(nullptr));
  if (m_options.persistent) check("SetContext", m_components->SetContext(VSS_CTX_APP_ROLLBACK));
  VSS_BACKUP_TYPE type = m_options.backup_type == BackupType::full ? VSS_BT_FULL : VSS_BT_COPY;
  check("SetBackupState", m_components->SetBackupState(TRUE, FALSE, type, FALSE));
}

void SnapshotSession::Impl::resolve_volumes(const std::vector<std::string>& sources) {
  for (const auto& source : sources) {
    SnapshotVolume v;
    v.source = source;
    v.volume_name = m_backend.resolve_volume(source);
    m_volumes.push_back(std::move(v));
  }
}

// Step 6, second half: the components are judged against every volume of the set.
void SnapshotSession::Impl::select_components() {
  ComponentSelection selection =
      vss::select_components(m_components.get(), m_backend, m_volumes, m_options.exclude_writers);
  add_components(m_components.get(), selection.included);
  m_selected = std::move(selection.included);
  m_component_warnings = std::move(selection.warnings);
  m_exclusion_notes = std::move(selection.notes);
  m_included = describe_components(m_selected);
}

// Steps 7-8: one set holding every volume, so data spread over volumes is consistent.
void SnapshotSession::Impl::add_volumes() {
  check("StartSnapshotSet", m_components->StartSnapshotSet(&m_set));
  m_guard->arm();
  m_set_id = guid_string(m_set);
  for (auto& v : m_volumes) {
    std::wstring wide = win32::widen(v.volume_name);
    VSS_ID id = GUID_NULL;
    check("AddToSnapshotSet", m_components->AddToSnapshotSet(wide.data(), GUID_NULL, &id));
    v.snapshot_id = guid_string(id);
    m_snapshot_ids.push_back(id);
  }
}

// Steps 9-11.
void SnapshotSession::Impl::take_snapshot() {
  ComPtr<IVssAsync> async;
  run_step("PrepareForBackup", m_components->PrepareForBackup(async.put()), async);
  m_writers = check_writer_status(m_components.get(), m_options, "PrepareForBackup",
                                  m_retry_writers, m_progress);
  m_progress.info(fmt::format("creating the shadow copy of {} volume(s)", m_volumes.size()));
  // A DoSnapshotSet cancelled too late has made the set: m_created, so it is deleted.
  run_step("DoSnapshotSet", m_components->DoSnapshotSet(async.put()), async, &m_created);
  m_created = true;
  m_writers = check_writer_status(m_components.get(), m_options, "DoSnapshotSet", m_retry_writers,
                                  m_progress);
}

void SnapshotSession::Impl::run_step(std::string_view api, HRESULT started,
                                     ComPtr<IVssAsync>& async, bool* finished_anyway) {
  try {
    run_async(api, started, async, m_options, finished_anyway);
  } catch (const VssFailure& e) {
    // A cancelled or timed-out operation (no HRESULT) says nothing about the writers.
    if (e.hr() == 0 || e.hr() == static_cast<uint32_t>(VSS_S_ASYNC_CANCELLED)) throw;
    throw with_writer_status(m_components.get(), m_options, e);
  }
}

// Step 12.
void SnapshotSession::Impl::read_device_paths() {
  for (size_t i = 0; i < m_volumes.size(); ++i) {
    VSS_SNAPSHOT_PROP prop{};
    check("GetSnapshotProperties", m_components->GetSnapshotProperties(m_snapshot_ids[i], &prop));
    m_volumes[i].device_path =
        prop.m_pwszSnapshotDeviceObject ? win32::narrow(prop.m_pwszSnapshotDeviceObject) : "";
    m_backend.free_snapshot_properties(&prop);
    if (m_volumes[i].device_path.empty()) {
      throw VssFailure(ErrorKind::vss, "VSS GetSnapshotProperties",
                       "the snapshot of " + m_volumes[i].source + " has no device path", 0,
                       Retry::no);
    }
    // Its sector size, when the device does not say, is its volume's (block_source_win32).
    win32::register_shadow_origin(m_volumes[i].device_path, m_volumes[i].volume_name);
  }
}

// The backup components document once the set exists (only when a writer takes part):
// what a writer-aware restore hands back to the writers.
void SnapshotSession::Impl::save_document() {
  if (m_selected.empty()) return;
  BSTR xml = nullptr;
  check("SaveAsXML", m_components->SaveAsXML(&xml));
  m_document = bstr_text(xml);
  ::SysFreeString(xml);
}

void SnapshotSession::Impl::forget_records(bool keep_persistent) {
  if (!m_recorded) return;
  try {
    forget_snapshots(m_backend, m_volumes, keep_persistent, m_progress);
  } catch (const Error& e) {
    m_progress.warning(fmt::format("could not update the snapshot record: {}", e.what()));
  }
}

// False (with a warning) when the set could not be deleted: its records then stay, so
// that the next run deletes it as a leftover of this process.
bool SnapshotSession::Impl::delete_snapshot_set() {
  LONG deleted = 0;
  VSS_ID not_deleted = GUID_NULL;
  HRESULT hr =
      m_components->DeleteSnapshots(m_set, VSS_OBJECT_SNAPSHOT_SET, TRUE, &deleted, &not_deleted);
  if (SUCCEEDED(hr)) return true;
  m_progress.warning(
      fmt::format("VSS DeleteSnapshots: {}; the shadow copy set {} is deleted by the next "
                  "vssimg run or with vssadmin delete shadows",
                  cause_of(hr), m_set_id));
  return false;
}

// Step 14 for a committed backup: the writers learn which components were backed up,
// then that the backup is complete; with VSS_BT_FULL they now set their differential
// base or truncate logs, which can fail, so their state is read once more.
void SnapshotSession::Impl::tell_writers_backup_succeeded() {
  set_backup_succeeded(m_components.get(), m_selected);
  ComPtr<IVssAsync> async;
  run_async("BackupComplete", m_components->BackupComplete(async.put()), async, m_options);
  m_guard->disarm();
  try {
    for (const auto& w : gather_writer_status(m_components.get(), m_options)) {
      if (!w.failed) continue;
      m_progress.warning(fmt::format(
          "VSS writer \"{}\" failed after BackupComplete: [{}] {}, {}; the point is written, but "
          "the writer may not have finished its post-backup work (e.g. log truncation)",
          w.name, w.state, w.state_name, describe_vss_hresult(w.error)));
    }
  } catch (const Error& e) {
    m_progress.warning(fmt::format("{}; the writers' state after the backup is unknown", e.what()));
  }
}

void SnapshotSession::Impl::complete(bool ok) {
  if (m_completed) return;
  m_completed = true;
  if (!m_components) return;
  std::optional<Error> error;
  if (ok && m_created) {
    try {
      tell_writers_backup_succeeded();
    } catch (const Error& e) {
      error = e;
    }
  }
  if (m_guard) m_guard->fire();
  const bool keep = m_options.persistent && ok && m_created && !error;
  const bool deleted = !m_created || keep || delete_snapshot_set();
  m_guard.reset();
  m_components.reset();
  for (const auto& v : m_volumes) {
    if (!v.device_path.empty()) win32::forget_shadow_origin(v.device_path);
  }
  if (deleted) forget_records(keep);
  if (error) throw *error;
}

SnapshotSession::SnapshotSession(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
SnapshotSession::~SnapshotSession() = default;
const std::string& SnapshotSession::set_id() const {
  return m_impl->m_set_id;
}
const std::vector<SnapshotVolume>& SnapshotSession::volumes() const {
  return m_impl->m_volumes;
}
const std::vector<WriterOutcome>& SnapshotSession::writers() const {
  return m_impl->m_writers;
}
BackupType SnapshotSession::backup_type() const {
  return m_impl->options().backup_type;
}
bool SnapshotSession::persistent() const {
  return m_impl->options().persistent;
}
const std::vector<IncludedComponent>& SnapshotSession::components() const {
  return m_impl->m_included;
}
const std::string& SnapshotSession::components_document() const {
  return m_impl->m_document;
}
bool SnapshotSession::crash_consistent() const {
  return std::any_of(m_impl->m_writers.begin(), m_impl->m_writers.end(),
                     [](const WriterOutcome& w) { return w.failed; });
}
void SnapshotSession::complete(bool ok) {
  m_impl->complete(ok);
}

namespace {

// Called from the handler of attempt `attempt` (0-based), after its session was torn
// down: rethrows a failure that is not retryable, gives up once options.retries are used,
// else reports the retry in one line and waits: options.retry_delay_seconds before the
// first retry, doubling for each further one (Microsoft: wait and repeat, up to three
// times, for writers and providers that are busy).
void retry_or_rethrow(const VssFailure& e, unsigned attempt, const Backend& backend,
                      const SnapshotOptions& options, ProgressSink& progress) {
  if (e.retry() == Retry::no) throw;
  if (attempt >= options.retries) {
    throw Error(
        e.kind(), e.operation(), "",
        fmt::format("{} (gave up after {} attempts; --vss-retries)", e.cause(), attempt + 1));
  }
  const double delay = std::ldexp(options.retry_delay_seconds, static_cast<int>(attempt));
  // A retry that then succeeds leaves nothing to warn about: info, not warning.
  progress.info(fmt::format("{}; retrying in {:g} s (attempt {} of {})", e.what(), delay,
                            attempt + 2, options.retries + 1));
  backend.sleep(delay);
}

}  // namespace

std::unique_ptr<SnapshotSession> create_snapshot(const Backend& backend,
                                                 const std::vector<std::string>& volumes,
                                                 const SnapshotOptions& options,
                                                 ProgressSink& progress) {
  if (volumes.empty() || volumes.size() > 64) {
    throw Error(ErrorKind::usage, "creating a VSS snapshot", "", "give between 1 and 64 volumes");
  }
  if (backend.preflight) preflight();
  backend.com->ensure(progress);  // once, before any VSS object; kept across the retries
  delete_leftovers(backend, progress);
  for (unsigned attempt = 0;; ++attempt) {
    const bool retry_writers = attempt < options.retries;
    auto impl = std::make_unique<SnapshotSession::Impl>(backend, options, retry_writers, progress);
    try {
      impl->run(volumes);
      for (const auto& n : impl->m_exclusion_notes) progress.info(n);
      for (const auto& w : impl->m_component_warnings) progress.warning(w);
      return std::make_unique<SnapshotSession>(std::move(impl));
    } catch (const VssFailure& e) {
      impl.reset();  // AbortBackup (if armed), Release, forget the records of this attempt
      retry_or_rethrow(e, attempt, backend, options, progress);
    }
  }
}

}  // namespace vssimg::vss
