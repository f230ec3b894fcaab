// The VSS requester on Windows.
//
// The backup sequence (VSS_CTX_BACKUP, or VSS_CTX_APP_ROLLBACK for `snapshot --keep`),
// as Microsoft's requester documentation and vshadow do it:
//
//   0. Pre-flight: a 64-bit process (VSS refuses WOW64 requesters), elevated (else exit
//      14); each source resolved to \\?\Volume{GUID}\ (trailing backslash required).
//   1. CoInitializeEx(MTA): S_OK/S_FALSE -> CoUninitialize at the end; RPC_E_CHANGED_MODE
//      -> go on without uninitializing.
//   2. CoInitializeSecurity(PKT_PRIVACY, IMPERSONATE, EOAC_STATIC_CLOAKING); RPC_E_TOO_LATE
//      is fine. Without it Windows logs event 8194.
//   3. CreateVssBackupComponents: E_ACCESSDENIED = not elevated, E_NOTIMPL = no VSS.
//   4. InitializeForBackup (first), SetContext only for persistent snapshots.
//   5. SetBackupState(false, false, VSS_BT_COPY | VSS_BT_FULL, false).
//   6. GatherWriterMetadata + wait.
//   7. StartSnapshotSet (VSS_E_SNAPSHOT_SET_IN_PROGRESS: the whole sequence is retried).
//   8. AddToSnapshotSet per volume. Up to here a failure needs only Release.
//   9. PrepareForBackup + wait. From here every failure path calls AbortBackup before
//      Release (AbortGuard). GatherWriterStatus: failed writers are reported.
//  10. DoSnapshotSet + wait (bounded by --vss-timeout; Cancel on timeout or Ctrl+C).
//  11. GatherWriterStatus: retryable writer errors restart the sequence after a delay;
//      other writer failures are recorded: that writer's data is crash-consistent.
//  12. GetSnapshotProperties -> copy the device path -> VssFreeSnapshotProperties.
//  13. The caller reads the device.
//  14. complete(): BackupComplete + wait (or AbortBackup), DeleteSnapshots for the set
//      (unless persistent), Release, then CoUninitialize.
//
// Every IVssAsync is waited for in short slices followed by QueryStatus, so Ctrl+C and
// the deadline are noticed; snapshots are recorded in a file so that a killed run's
// leftovers are deleted by the next run.
#include "vss/vss_win32.hpp"

#include "core/source/block_source_win32.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>

namespace vssimg::vss {

bool looks_like_volume_syntax(const std::string& s);

namespace {

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

std::string cause_of(HRESULT hr) {
  auto code = static_cast<uint32_t>(hr);
  if (find_hresult(code)) return describe_vss_hresult(code);
  return win32::describe_hresult("", hr).substr(2);  // "NAME (0x...): message" without "API"
}

[[noreturn]] void fail(std::string_view api, HRESULT hr) {
  auto code = static_cast<uint32_t>(hr);
  const HresultInfo* info = find_hresult(code);
  ErrorKind kind = code == 0x80070005u ? ErrorKind::privilege : ErrorKind::vss;
  throw VssFailure(kind, fmt::format("VSS {}", api), cause_of(hr), code,
                   info ? info->retry : Retry::no);
}

void check(std::string_view api, HRESULT hr) {
  if (FAILED(hr)) fail(api, hr);
}

std::string bstr_text(BSTR s) {
  return s ? win32::narrow(std::wstring_view(s, ::SysStringLen(s))) : "";
}

// Waits for an IVssAsync in slices; Cancel()s it on Ctrl+C and at the deadline.
void wait_async(IVssAsync* async, std::string_view api, const SnapshotOptions& options) {
  const double deadline = monotonic_seconds() + options.timeout_seconds;
  const auto slice_ms = static_cast<DWORD>(std::max(1.0, options.wait_slice_seconds * 1000));
  for (;;) {
    const double before = monotonic_seconds();
    HRESULT waited = async->Wait(slice_ms);
    HRESULT status = S_OK;
    HRESULT queried = async->QueryStatus(&status, nullptr);
    if (FAILED(queried)) fail(fmt::format("{} (QueryStatus)", api), queried);
    if (status == VSS_S_ASYNC_FINISHED) return;
    if (status == VSS_S_ASYNC_CANCELLED) {
      throw VssFailure(ErrorKind::vss, fmt::format("VSS {}", api), "the operation was cancelled",
                       static_cast<uint32_t>(status), Retry::no);
    }
    if (status != VSS_S_ASYNC_PENDING) fail(api, FAILED(status) ? status : E_UNEXPECTED);
    if (interrupt_requested()) {
      async->Cancel();
      throw Error(ErrorKind::interrupted, fmt::format("VSS {}", api), "",
                  "interrupted by the user; the operation was cancelled and the backup aborted");
    }
    if (monotonic_seconds() >= deadline) {
      async->Cancel();
      throw VssFailure(
          ErrorKind::vss, fmt::format("VSS {}", api),
          fmt::format("did not finish within {:g} s (--vss-timeout); the operation was "
                      "cancelled and the backup aborted",
                      options.timeout_seconds),
          0, Retry::no);
    }
    // A Wait that failed at once must not turn this into a busy loop.
    if (FAILED(waited) && monotonic_seconds() - before < options.wait_slice_seconds / 2) {
      ::Sleep(slice_ms);
    }
  }
}

void run_async(std::string_view api, HRESULT started, ComPtr<IVssAsync>& async,
               const SnapshotOptions& options) {
  check(api, started);
  wait_async(async.get(), api, options);
  async.reset();
}

// COM for this thread, for the lifetime of the object.
class ComScope {
 public:
  ComScope() {
    HRESULT hr = ::CoInitializeEx(nullptr, COINIT_MULTITHREADED);
    if (hr == S_OK || hr == S_FALSE) {
      m_uninitialize = true;
    } else if (hr != RPC_E_CHANGED_MODE) {
      throw Error(ErrorKind::vss, "VSS CoInitializeEx", "", cause_of(hr));
    }
    // Once per process; RPC_E_TOO_LATE means someone (an earlier call) already did it.
    static const HRESULT security =
        ::CoInitializeSecurity(nullptr, -1, nullptr, nullptr, RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                               RPC_C_IMP_LEVEL_IMPERSONATE, nullptr, EOAC_STATIC_CLOAKING, nullptr);
    (void)security;
  }
  ~ComScope() {
    if (m_uninitialize) ::CoUninitialize();
  }
  ComScope(const ComScope&) = delete;
  ComScope& operator=(const ComScope&) = delete;

 private:
  bool m_uninitialize = false;
};

// Calls AbortBackup when destroyed while armed (every failure after PrepareForBackup).
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

void preflight() {
  BOOL wow64 = FALSE;
  if (::IsWow64Process(::GetCurrentProcess(), &wow64) && wow64) {
    throw Error(ErrorKind::vss, "VSS pre-flight", "",
                "this is a 32-bit vssimg on 64-bit Windows; VSS does not support 32-bit requesters "
                "there: use the 64-bit vssimg.exe");
  }
  HANDLE raw = nullptr;
  TOKEN_ELEVATION elevation{};
  DWORD size = 0;
  if (::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &raw)) {
    win32::UniqueHandle token(raw);
    if (::GetTokenInformation(token.get(), TokenElevation, &elevation, sizeof elevation, &size) &&
        !elevation.TokenIsElevated) {
      throw Error(
          ErrorKind::privilege, "VSS pre-flight", "",
          "this process is not elevated; VSS snapshots need administrator rights: run from an "
          "elevated prompt (\"Run as administrator\"), or in Task Scheduler tick \"Run with "
          "highest privileges\" or run as SYSTEM");
    }
  }
}

std::string default_resolve_volume(const std::string& source) {
  win32::ResolvedSource resolved = win32::resolve_source(source);
  if (!resolved.is_volume || resolved.volume_name.empty()) {
    throw Error(ErrorKind::usage, "resolving volume", source, "is not a volume");
  }
  return win32::narrow(resolved.volume_name);
}

void default_sleep(double seconds) {
  const double until = monotonic_seconds() + seconds;
  while (monotonic_seconds() < until) {
    check_interrupted();
    ::Sleep(static_cast<DWORD>(std::clamp((until - monotonic_seconds()) * 1000, 1.0, 200.0)));
  }
  check_interrupted();
}

std::filesystem::path default_records_file() {
  wchar_t buf[MAX_PATH] = {};
  DWORD n = ::GetEnvironmentVariableW(L"ProgramData", buf, MAX_PATH);
  std::filesystem::path base = (n > 0 && n < MAX_PATH) ? std::filesystem::path(buf)
                                                       : std::filesystem::path(L"C:\\ProgramData");
  return base / L"vssimg" / L"snapshots.tsv";
}

GUID parse_guid(const std::string& text) {
  GUID guid{};
  std::wstring wide = win32::widen(text);
  if (FAILED(::CLSIDFromString(wide.c_str(), &guid))) {
    throw Error(ErrorKind::usage, "reading snapshot id", text, "not a GUID like {12345678-...}");
  }
  return guid;
}

// ---- the record of snapshots vssimg made ---------------------------------------------

// Serialises record updates between vssimg processes (SYSTEM task and a user at once).
class RecordsLock {
 public:
  RecordsLock() {
    m_mutex.reset(::CreateMutexW(nullptr, FALSE, L"Global\\vssimg-snapshot-records"));
    if (!m_mutex.valid())
      m_mutex.reset(::CreateMutexW(nullptr, FALSE, L"Local\\vssimg-snapshot-records"));
    if (m_mutex.valid()) {
      DWORD rc = ::WaitForSingleObject(m_mutex.get(), 30000);
      m_owned = rc == WAIT_OBJECT_0 || rc == WAIT_ABANDONED;
    }
  }
  ~RecordsLock() {
    if (m_owned) ::ReleaseMutex(m_mutex.get());
  }
  RecordsLock(const RecordsLock&) = delete;
  RecordsLock& operator=(const RecordsLock&) = delete;

 private:
  win32::UniqueHandle m_mutex;
  bool m_owned = false;
};

std::vector<SnapshotRecord> read_records(const std::filesystem::path& file) {
  std::vector<SnapshotRecord> records;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return records;
  std::stringstream in(read_small_file(file, 16u << 20));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '\t')) f.push_back(field);
    if (f.size() == 6) f.emplace_back();  // no device path yet
    if (f.size() != 7) continue;          // a torn or foreign line: ignore it
    SnapshotRecord r;
    r.snapshot_id = f[0];
    r.set_id = f[1];
    r.pid = std::strtoull(f[2].c_str(), nullptr, 10);
    r.created_unix = std::strtoll(f[3].c_str(), nullptr, 10);
    r.persistent = f[4] == "1";
    r.volume = f[5];
    r.device_path = f[6];
    records.push_back(std::move(r));
  }
  return records;
}

// Written to a temporary file, flushed and renamed over the record: never half-written.
void write_records(const std::filesystem::path& file, const std::vector<SnapshotRecord>& records) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  std::string text = "# snapshots created by vssimg: id set pid created persistent volume device\n";
  for (const auto& r : records) {
    text += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\n", r.snapshot_id, r.set_id, r.pid,
                        r.created_unix, r.persistent ? 1 : 0, r.volume, r.device_path);
  }
  std::filesystem::path tmp = file;
  tmp += L".tmp";
  {
    File out(tmp, File::Open::create_trunc);
    out.append(text.data(), text.size());
    out.sync();
  }
  rename_replace(tmp, file);
}

template <typename Fn>
void update_records(const Backend& backend, Fn&& fn) {
  RecordsLock lock;
  auto records = read_records(backend.records_file);
  fn(records);
  write_records(backend.records_file, records);
}

// An initialised backup components object for managing existing snapshots.
struct Manager {
  ComScope com;
  ComPtr<IVssBackupComponents> components;
  explicit Manager(const Backend& backend) {
    check("CreateVssBackupComponents", backend.create_components(components.put()));
    check("InitializeForBackup", components->InitializeForBackup(nullptr));
    check("SetContext", components->SetContext(VSS_CTX_ALL));
  }
};

// Deletes one snapshot. Returns false (no error) when it no longer exists.
bool delete_one(IVssBackupComponents* components, const std::string& id) {
  LONG deleted = 0;
  VSS_ID not_deleted = GUID_NULL;
  HRESULT hr = components->DeleteSnapshots(parse_guid(id), VSS_OBJECT_SNAPSHOT, TRUE, &deleted,
                                           &not_deleted);
  if (hr == VSS_E_OBJECT_NOT_FOUND) return false;
  check("DeleteSnapshots", hr);
  return true;
}

// Deletes snapshots recorded by runs that no longer exist (killed, crashed, power loss).
void delete_leftovers(const Backend& backend, ProgressSink& progress) {
  RecordsLock lock;
  auto records = read_records(backend.records_file);
  std::vector<SnapshotRecord> keep;
  std::unique_ptr<Manager> manager;
  for (auto& r : records) {
    if (r.pid == 0 || process_alive(r.pid)) {
      keep.push_back(r);
      continue;
    }
    try {
      if (!manager) manager = std::make_unique<Manager>(backend);
      bool existed = delete_one(manager->components.get(), r.snapshot_id);
      progress.info(fmt::format("{} snapshot {} of {} left by process {}",
                                existed ? "deleted" : "forgot", r.snapshot_id, r.volume, r.pid));
    } catch (const Error& e) {
      progress.warning(fmt::format("could not delete leftover snapshot {} of {}: {}", r.snapshot_id,
                                   r.volume, e.what()));
      keep.push_back(r);
    }
  }
  if (keep.size() != records.size()) write_records(backend.records_file, keep);
}

}  // namespace

std::string guid_string(const GUID& g) {
  return fmt::format("{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}",
                     g.Data1, g.Data2, g.Data3, g.Data4[0], g.Data4[1], g.Data4[2], g.Data4[3],
                     g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7]);
}

Backend system_backend() {
  Backend b;
  b.create_components = [](IVssBackupComponents** out) { return ::CreateVssBackupComponents(out); };
  b.free_snapshot_properties = [](VSS_SNAPSHOT_PROP* prop) { ::VssFreeSnapshotProperties(prop); };
  b.resolve_volume = default_resolve_volume;
  b.sleep = default_sleep;
  b.records_file = default_records_file();
  return b;
}

bool looks_like_volume(const std::string& source) {
  if (looks_like_volume_syntax(source)) return true;
  try {
    return win32::resolve_source(source).is_volume;
  } catch (const Error&) {
    return false;
  }
}

// ---- list-writers ---------------------------------------------------------------------

namespace {

std::vector<WriterComponent> components_of(IVssExamineWriterMetadata* metadata) {
  std::vector<WriterComponent> out;
  UINT includes = 0, excludes = 0, count = 0;
  check("GetFileCounts", metadata->GetFileCounts(&includes, &excludes, &count));
  for (UINT i = 0; i < count; ++i) {
    ComPtr<IVssWMComponent> component;
    check("GetComponent", metadata->GetComponent(i, component.put()));
    PVSSCOMPONENTINFO info = nullptr;
    check("GetComponentInfo", component->GetComponentInfo(&info));
    WriterComponent c;
    c.logical_path = bstr_text(info->bstrLogicalPath);
    c.name = bstr_text(info->bstrComponentName);
    c.type = info->type == VSS_CT_DATABASE    ? "database"
             : info->type == VSS_CT_FILEGROUP ? "filegroup"
                                              : "undefined";
    c.selectable = info->bSelectable != 0;
    component->FreeComponentInfo(info);
    out.push_back(std::move(c));
  }
  return out;
}

// One GatherWriterStatus pass (wait included): every writer's name, ids, state and last
// error. Writers that failed Identify appear only here, so list-writers and the snapshot
// sequence both use it. Frees the status before returning.
std::vector<WriterOutcome> gather_writer_status(IVssBackupComponents* components,
                                                const SnapshotOptions& options) {
  ComPtr<IVssAsync> async;
  run_async("GatherWriterStatus", components->GatherWriterStatus(async.put()), async, options);
  UINT count = 0;
  check("GetWriterStatusCount", components->GetWriterStatusCount(&count));
  std::vector<WriterOutcome> out;
  for (UINT i = 0; i < count; ++i) {
    VSS_ID instance = GUID_NULL, writer = GUID_NULL;
    BSTR name = nullptr;
    VSS_WRITER_STATE state = VSS_WS_UNKNOWN;
    HRESULT failure = S_OK;
    check("GetWriterStatus",
          components->GetWriterStatus(i, &instance, &writer, &name, &state, &failure));
    WriterOutcome w;
    w.name = bstr_text(name);
    ::SysFreeString(name);
    w.writer_id = guid_string(writer);
    w.instance_id = guid_string(instance);
    w.state = static_cast<int>(state);
    w.state_name = writer_state_name(w.state);
    w.error = static_cast<uint32_t>(failure);
    w.error_name = hresult_name(w.error);
    w.failed = writer_state_failed(w.state) || FAILED(failure);
    out.push_back(std::move(w));
  }
  components->FreeWriterStatus();
  return out;
}

}  // namespace

std::vector<WriterInfo> list_writers(const Backend& backend, bool with_components,
                                     ProgressSink& progress) {
  (void)progress;
  if (backend.preflight) preflight();
  SnapshotOptions options;  // timeouts for the waits
  ComScope com;
  ComPtr<IVssBackupComponents> components;
  check("CreateVssBackupComponents", backend.create_components(components.put()));
  check("InitializeForBackup", components->InitializeForBackup(nullptr));
  check("SetBackupState", components->SetBackupState(false, false, VSS_BT_COPY, false));
  ComPtr<IVssAsync> async;
  run_async("GatherWriterMetadata", components->GatherWriterMetadata(async.put()), async, options);

  std::vector<std::pair<std::string, std::vector<WriterComponent>>> metadata;  // by instance id
  if (with_components) {
    UINT count = 0;
    check("GetWriterMetadataCount", components->GetWriterMetadataCount(&count));
    for (UINT i = 0; i < count; ++i) {
      VSS_ID instance = GUID_NULL;
      ComPtr<IVssExamineWriterMetadata> examine;
      check("GetWriterMetadata", components->GetWriterMetadata(i, &instance, examine.put()));
      metadata.emplace_back(guid_string(instance), components_of(examine.get()));
    }
  }

  std::vector<WriterInfo> writers;
  for (const auto& o : gather_writer_status(components.get(), options)) {
    WriterInfo w;
    w.name = o.name;
    w.writer_id = o.writer_id;
    w.instance_id = o.instance_id;
    w.state = o.state;
    w.state_name = o.state_name;
    w.last_error = o.error;
    w.last_error_name = o.error_name;
    for (auto& [id, comps] : metadata) {
      if (id == w.instance_id) w.components = comps;
    }
    writers.push_back(std::move(w));
  }
  if (with_components) components->FreeWriterMetadata();
  return writers;
}

// ---- snapshots ------------------------------------------------------------------------

class SnapshotSession::Impl {
 public:
  Impl(const Backend& backend, const SnapshotOptions& options, ProgressSink& progress)
      : m_backend(backend), m_options(options), m_progress(progress) {}
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

 private:
  void gather_writer_status(std::string_view when);
  void forget_records(bool keep_persistent);

  Backend m_backend;
  SnapshotOptions m_options;
  ProgressSink& m_progress;
  // Destroyed in reverse order: the guard aborts, then the object is released, then
  // COM is uninitialised.
  ComScope m_com;
  ComPtr<IVssBackupComponents> m_components;
  std::unique_ptr<AbortGuard> m_guard;
  std::vector<VSS_ID> m_snapshot_ids;
  VSS_ID m_set = GUID_NULL;
  bool m_created = false;
  bool m_recorded = false;
  bool m_completed = false;
};

void SnapshotSession::Impl::run(const std::vector<std::string>& sources) {
  check_interrupted();
  check("CreateVssBackupComponents", m_backend.create_components(m_components.put()));
  m_guard = std::make_unique<AbortGuard>(m_components.get());
  check("InitializeForBackup", m_components->InitializeForBackup(nullptr));
  if (m_options.persistent) check("SetContext", m_components->SetContext(VSS_CTX_APP_ROLLBACK));
  VSS_BACKUP_TYPE type = m_options.backup_type == BackupType::full ? VSS_BT_FULL : VSS_BT_COPY;
  check("SetBackupState", m_components->SetBackupState(false, false, type, false));
  ComPtr<IVssAsync> async;
  run_async("GatherWriterMetadata", m_components->GatherWriterMetadata(async.put()), async,
            m_options);

  check("StartSnapshotSet", m_components->StartSnapshotSet(&m_set));
  m_set_id = guid_string(m_set);
  for (const auto& source : sources) {
    SnapshotVolume v;
    v.source = source;
    v.volume_name = m_backend.resolve_volume(source);
    std::wstring wide = win32::widen(v.volume_name);
    VSS_ID id = GUID_NULL;
    check("AddToSnapshotSet", m_components->AddToSnapshotSet(wide.data(), GUID_NULL, &id));
    v.snapshot_id = guid_string(id);
    m_snapshot_ids.push_back(id);
    m_volumes.push_back(std::move(v));
  }
  // Recorded before the snapshot exists, so a run killed from here on is cleaned up.
  update_records(m_backend, [&](std::vector<SnapshotRecord>& records) {
    for (const auto& v : m_volumes) {
      records.push_back(
          {v.snapshot_id, m_set_id, v.source, "", now_unix(), process_id(), m_options.persistent});
    }
  });
  m_recorded = true;

  m_guard->arm();
  run_async("PrepareForBackup", m_components->PrepareForBackup(async.put()), async, m_options);
  gather_writer_status("PrepareForBackup");
  m_progress.info(fmt::format("creating the shadow copy of {} volume(s)", m_volumes.size()));
  run_async("DoSnapshotSet", m_components->DoSnapshotSet(async.put()), async, m_options);
  m_created = true;
  gather_writer_status("DoSnapshotSet");

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
  }
  update_records(m_backend, [&](std::vector<SnapshotRecord>& records) {
    for (auto& r : records) {
      for (const auto& v : m_volumes) {
        if (r.snapshot_id == v.snapshot_id) r.device_path = v.device_path;
      }
    }
  });
}

void SnapshotSession::Impl::gather_writer_status(std::string_view when) {
  std::vector<WriterOutcome> outcomes = vss::gather_writer_status(m_components.get(), m_options);
  for (const auto& w : outcomes) {
    if (!w.failed) continue;
    const HresultInfo* info = find_hresult(w.error);
    if (info && info->retry == Retry::writer) {
      throw VssFailure(ErrorKind::vss, fmt::format("VSS writer \"{}\"", w.name),
                       fmt::format("[{}] {} after {}: {}", w.state, w.state_name, when,
                                   describe_vss_hresult(w.error)),
                       w.error, Retry::writer);
    }
    m_progress.warning(
        fmt::format("VSS writer \"{}\" failed after {}: [{}] {}, {}; its data in this backup is "
                    "crash-consistent only",
                    w.name, when, w.state, w.state_name, describe_vss_hresult(w.error)));
  }
  m_writers = std::move(outcomes);
}

void SnapshotSession::Impl::forget_records(bool keep_persistent) {
  if (!m_recorded) return;
  try {
    update_records(m_backend, [&](std::vector<SnapshotRecord>& records) {
      for (auto it = records.begin(); it != records.end();) {
        bool ours = std::any_of(m_volumes.begin(), m_volumes.end(), [&](const SnapshotVolume& v) {
          return v.snapshot_id == it->snapshot_id;
        });
        if (!ours) {
          ++it;
        } else if (keep_persistent) {
          it->pid = 0;
          ++it;
        } else {
          it = records.erase(it);
        }
      }
    });
  } catch (const Error& e) {
    m_progress.warning(fmt::format("could not update the snapshot record: {}", e.what()));
  }
}

void SnapshotSession::Impl::complete(bool ok) {
  if (m_completed) return;
  m_completed = true;
  if (!m_components) return;
  std::optional<Error> error;
  if (ok && m_created) {
    try {
      ComPtr<IVssAsync> async;
      run_async("BackupComplete", m_components->BackupComplete(async.put()), async, m_options);
      m_guard->disarm();
    } catch (const Error& e) {
      error = e;
    }
  }
  if (m_guard) m_guard->fire();
  const bool keep = m_options.persistent && ok && m_created && !error;
  if (m_created && !keep) {
    LONG deleted = 0;
    VSS_ID not_deleted = GUID_NULL;
    HRESULT hr =
        m_components->DeleteSnapshots(m_set, VSS_OBJECT_SNAPSHOT_SET, TRUE, &deleted, &not_deleted);
    if (FAILED(hr)) {
      m_progress.warning(
          fmt::format("VSS DeleteSnapshots: {}; the shadow copy set {} is deleted by the next "
                      "vssimg run or with vssadmin delete shadows",
                      cause_of(hr), m_set_id));
    }
  }
  m_guard.reset();
  m_components.reset();
  forget_records(keep);
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
bool SnapshotSession::crash_consistent() const {
  return std::any_of(m_impl->m_writers.begin(), m_impl->m_writers.end(),
                     [](const WriterOutcome& w) { return w.failed; });
}
void SnapshotSession::complete(bool ok) {
  m_impl->complete(ok);
}

std::unique_ptr<SnapshotSession> create_snapshot(const Backend& backend,
                                                 const std::vector<std::string>& volumes,
                                                 const SnapshotOptions& options,
                                                 ProgressSink& progress) {
  if (volumes.empty() || volumes.size() > 64) {
    throw Error(ErrorKind::usage, "creating a VSS snapshot", "", "give between 1 and 64 volumes");
  }
  if (backend.preflight) preflight();
  delete_leftovers(backend, progress);
  for (unsigned attempt = 0;; ++attempt) {
    auto impl = std::make_unique<SnapshotSession::Impl>(backend, options, progress);
    try {
      impl->run(volumes);
      return std::make_unique<SnapshotSession>(std::move(impl));
    } catch (const VssFailure& e) {
      impl.reset();  // AbortBackup (if armed), Release, forget the records of this attempt
      if (e.retry() == Retry::no) throw;
      if (attempt >= options.retries) {
        throw Error(
            e.kind(), e.operation(), "",
            fmt::format("{} (gave up after {} attempts; --vss-retries)", e.cause(), attempt + 1));
      }
      // A retry that then succeeds leaves nothing to warn about: info, not warning.
      progress.info(fmt::format("{}; retrying in {:g} s (attempt {} of {})", e.what(),
                                options.retry_delay_seconds, attempt + 2, options.retries + 1));
      backend.sleep(options.retry_delay_seconds);
    }
  }
}

std::vector<SnapshotRecord> list_snapshots(const Backend& backend, ProgressSink& progress) {
  delete_leftovers(backend, progress);
  RecordsLock lock;
  return read_records(backend.records_file);
}

SnapshotRecord delete_snapshot(const Backend& backend, const std::string& id,
                               ProgressSink& progress) {
  if (backend.preflight) preflight();
  std::string wanted = id;
  std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  if (!wanted.empty() && wanted[0] != '{') wanted.insert(wanted.begin(), '{');
  std::vector<SnapshotRecord> records;
  {
    RecordsLock lock;
    records = read_records(backend.records_file);
  }
  std::vector<SnapshotRecord> matches;
  for (const auto& r : records) {
    if (r.snapshot_id.rfind(wanted, 0) == 0) matches.push_back(r);
  }
  if (matches.size() != 1) {
    throw Error(ErrorKind::usage, "deleting snapshot", id,
                matches.empty() ? "not a snapshot vssimg made (see `vssimg snapshot list`)"
                                : "the prefix matches more than one snapshot; give more of the id");
  }
  const SnapshotRecord& target = matches.front();
  if (target.pid != 0 && target.pid != process_id() && process_alive(target.pid)) {
    throw Error(ErrorKind::usage, "deleting snapshot", id,
                fmt::format("it belongs to the running vssimg process {}", target.pid));
  }
  Manager manager(backend);
  bool existed = delete_one(manager.components.get(), target.snapshot_id);
  if (!existed)
    progress.warning(fmt::format("snapshot {} no longer existed; removed it from the record",
                                 target.snapshot_id));
  update_records(backend, [&](std::vector<SnapshotRecord>& all) {
    all.erase(std::remove_if(
                  all.begin(), all.end(),
                  [&](const SnapshotRecord& r) { return r.snapshot_id == target.snapshot_id; }),
              all.end());
  });
  return target;
}

// ---- the neutral entry points use the real system ---------------------------------------

std::vector<WriterInfo> list_writers(bool with_components, ProgressSink& progress) {
  return list_writers(system_backend(), with_components, progress);
}
std::unique_ptr<SnapshotSession> create_snapshot(const std::vector<std::string>& volumes,
                                                 const SnapshotOptions& options,
                                                 ProgressSink& progress) {
  return create_snapshot(system_backend(), volumes, options, progress);
}
std::vector<SnapshotRecord> list_snapshots(ProgressSink& progress) {
  return list_snapshots(system_backend(), progress);
}
SnapshotRecord delete_snapshot(const std::string& id, ProgressSink& progress) {
  return delete_snapshot(system_backend(), id, progress);
}

}  // namespace vssimg::vss
