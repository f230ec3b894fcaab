#include "tests/vss/fake_vss.hpp"

#include "core/base/error.hpp"

#include <algorithm>
#include <tuple>
#include <type_traits>

// COM interfaces have no virtual destructor by design: objects delete themselves in
// Release(), through their own (final) type.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#endif

namespace vssimg::test {

namespace {

// The Windows SDK declares some parameters `bool`, MinGW's headers `boolean`; take the
// type from the interface itself so the fake compiles against either.
template <typename>
struct MethodArgs;
template <typename C, typename R, typename... A>
struct MethodArgs<R (C::*)(A...)> {
  template <size_t I>
  using at = std::tuple_element_t<I, std::tuple<A...>>;
};
#define VSSIMG_ARG(iface, method, i) MethodArgs<decltype(&iface::method)>::template at<i>
#define VSSIMG_BC_ARG(method, i) VSSIMG_ARG(IVssBackupComponents, method, i)

wchar_t* co_string(const std::wstring& s) {
  auto* p = static_cast<wchar_t*>(::CoTaskMemAlloc((s.size() + 1) * sizeof(wchar_t)));
  std::copy(s.c_str(), s.c_str() + s.size() + 1, p);
  return p;
}

GUID numbered_guid(uint32_t kind, uint32_t n) {
  GUID g{};
  g.Data1 = kind;
  g.Data2 = 0xFA4E;
  g.Data3 = 0x0001;
  g.Data4[7] = static_cast<unsigned char>(n);
  return g;
}

// "C:" or "C:\Data" -> "\\?\Volume{fa4e0000-0000-0000-0000-00000000000C}\".
std::string fake_volume_name(const std::string& source) {
  return "\\\\?\\Volume{fa4e0000-0000-0000-0000-00000000000" +
         std::string(1, source.empty() ? 'X' : source[0]) + "}\\";
}

class FakeAsync final : public IVssAsync {
 public:
  // on_finish: when an operation that never finishes is made to finish by Cancel().
  FakeAsync(FakeVss& vss, HRESULT status, std::function<void()> on_finish)
      : m_vss(vss), m_status(status), m_on_finish(std::move(on_finish)) {
    ++m_vss.live_async;
  }
  ~FakeAsync() { --m_vss.live_async; }

  HRESULT STDMETHODCALLTYPE QueryInterface(REFIID, void** out) override {
    *out = nullptr;
    return E_NOINTERFACE;
  }
  ULONG STDMETHODCALLTYPE AddRef() override { return ++m_refs; }
  ULONG STDMETHODCALLTYPE Release() override {
    ULONG n = --m_refs;
    if (n == 0) delete this;
    return n;
  }
  HRESULT STDMETHODCALLTYPE Cancel() override {
    m_vss.calls.push_back("Cancel");
    if (m_vss.finish_on_cancel && m_status == k_never_finishes) {
      m_status = S_OK;
      if (m_on_finish) m_on_finish();
      return S_OK;
    }
    m_cancelled = true;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE Wait(DWORD ms) override {
    if (m_vss.on_wait) m_vss.on_wait();
    if (m_status == k_never_finishes && !m_cancelled) ::Sleep(std::min<DWORD>(ms, 10));
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE QueryStatus(HRESULT* result, INT*) override {
    if (m_cancelled)
      *result = VSS_S_ASYNC_CANCELLED;
    else if (m_status == k_never_finishes)
      *result = VSS_S_ASYNC_PENDING;
    else if (m_status == S_OK)
      *result = VSS_S_ASYNC_FINISHED;
    else
      *result = m_status;
    return S_OK;
  }

 private:
  FakeVss& m_vss;
  HRESULT m_status;
  std::function<void()> m_on_finish;
  ULONG m_refs = 1;
  bool m_cancelled = false;
};

class FakeFiledesc final : public IVssWMFiledesc {
 public:
  explicit FakeFiledesc(std::wstring path) : m_path(std::move(path)) {}
  HRESULT STDMETHODCALLTYPE QueryInterface(REFIID, void** out) override {
    *out = nullptr;
    return E_NOINTERFACE;
  }
  ULONG STDMETHODCALLTYPE AddRef() override { return ++m_refs; }
  ULONG STDMETHODCALLTYPE Release() override {
    ULONG n = --m_refs;
    if (n == 0) delete this;
    return n;
  }
  HRESULT STDMETHODCALLTYPE GetPath(BSTR* out) override {
    *out = ::SysAllocString(m_path.c_str());
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetFilespec(BSTR* out) override {
    *out = ::SysAllocString(L"*");
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetRecursive(VSSIMG_ARG(IVssWMFiledesc, GetRecursive, 0) out) override {
    *out = false;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetAlternateLocation(BSTR*) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE GetBackupTypeMask(DWORD*) override { return E_NOTIMPL; }

 private:
  std::wstring m_path;
  ULONG m_refs = 1;
};

HRESULT hand_out_file(const std::vector<std::wstring>& files, UINT i, IVssWMFiledesc** out) {
  if (i >= files.size()) return E_INVALIDARG;
  *out = new FakeFiledesc(files[i]);
  return S_OK;
}

class FakeWMComponent final : public IVssWMComponent {
 public:
  explicit FakeWMComponent(FakeComponent spec) : m_spec(std::move(spec)) {}
  HRESULT STDMETHODCALLTYPE QueryInterface(REFIID, void** out) override {
    *out = nullptr;
    return E_NOINTERFACE;
  }
  ULONG STDMETHODCALLTYPE AddRef() override { return ++m_refs; }
  ULONG STDMETHODCALLTYPE Release() override {
    ULONG n = --m_refs;
    if (n == 0) delete this;
    return n;
  }
  HRESULT STDMETHODCALLTYPE GetComponentInfo(PVSSCOMPONENTINFO* out) override {
    auto* info = new VSS_COMPONENTINFO{};
    info->type = VSS_CT_DATABASE;
    info->bstrLogicalPath = ::SysAllocString(m_spec.logical_path.c_str());
    info->bstrComponentName = ::SysAllocString(m_spec.name.c_str());
    info->bSelectable = m_spec.selectable;
    info->cDatabases = static_cast<UINT>(m_spec.database_files.size());
    info->cLogFiles = static_cast<UINT>(m_spec.log_files.size());
    *out = info;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE FreeComponentInfo(PVSSCOMPONENTINFO info) override {
    ::SysFreeString(info->bstrLogicalPath);
    ::SysFreeString(info->bstrComponentName);
    delete info;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetFile(UINT, IVssWMFiledesc**) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE GetDatabaseFile(UINT i, IVssWMFiledesc** out) override {
    return hand_out_file(m_spec.database_files, i, out);
  }
  HRESULT STDMETHODCALLTYPE GetDatabaseLogFile(UINT i, IVssWMFiledesc** out) override {
    return hand_out_file(m_spec.log_files, i, out);
  }
  HRESULT STDMETHODCALLTYPE GetDependency(UINT, IVssWMDependency**) override { return E_NOTIMPL; }

 private:
  FakeComponent m_spec;
  ULONG m_refs = 1;
};

class FakeExamine final : public IVssExamineWriterMetadata {
 public:
  explicit FakeExamine(FakeWriter writer) : m_writer(std::move(writer)) {}
  HRESULT STDMETHODCALLTYPE QueryInterface(REFIID, void** out) override {
    *out = nullptr;
    return E_NOINTERFACE;
  }
  ULONG STDMETHODCALLTYPE AddRef() override { return ++m_refs; }
  ULONG STDMETHODCALLTYPE Release() override {
    ULONG n = --m_refs;
    if (n == 0) delete this;
    return n;
  }
  HRESULT STDMETHODCALLTYPE GetIdentity(VSS_ID* instance, VSS_ID* writer, BSTR* name,
                                        VSS_USAGE_TYPE* usage, VSS_SOURCE_TYPE* source) override {
    *instance = m_writer.instance_id;
    *writer = m_writer.writer_id;
    *name = ::SysAllocString(m_writer.name.c_str());
    *usage = VSS_UT_USERDATA;
    *source = VSS_ST_TRANSACTEDDB;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetFileCounts(UINT* includes, UINT* excludes,
                                          UINT* components) override {
    *includes = 0;
    *excludes = 0;
    *components = static_cast<UINT>(m_writer.components.size());
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetIncludeFile(UINT, IVssWMFiledesc**) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE GetExcludeFile(UINT, IVssWMFiledesc**) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE GetComponent(UINT i, IVssWMComponent** out) override {
    if (i >= m_writer.components.size()) return E_INVALIDARG;
    *out = new FakeWMComponent(m_writer.components[i]);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE
  GetRestoreMethod(VSS_RESTOREMETHOD_ENUM*, BSTR*, BSTR*, VSS_WRITERRESTORE_ENUM*,
                   VSSIMG_ARG(IVssExamineWriterMetadata, GetRestoreMethod, 4), UINT*) override {
    return E_NOTIMPL;
  }
  HRESULT STDMETHODCALLTYPE GetAlternateLocationMapping(UINT, IVssWMFiledesc**) override {
    return E_NOTIMPL;
  }
  HRESULT STDMETHODCALLTYPE GetBackupSchema(DWORD*) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE GetDocument(IXMLDOMDocument**) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE SaveAsXML(BSTR*) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE LoadFromXML(BSTR) override { return E_NOTIMPL; }

 private:
  FakeWriter m_writer;
  ULONG m_refs = 1;
};

#define VSSIMG_LOG(name) m_vss.calls.push_back(name)
#define VSSIMG_UNEXPECTED(name)                \
  do {                                         \
    m_vss.calls.push_back("unexpected " name); \
    return E_NOTIMPL;                          \
  } while (0)

class FakeComponents final : public IVssBackupComponents {
 public:
  explicit FakeComponents(FakeVss& vss) : m_vss(vss) { ++m_vss.live_components; }
  ~FakeComponents() { --m_vss.live_components; }

  HRESULT STDMETHODCALLTYPE QueryInterface(REFIID, void** out) override {
    *out = nullptr;
    return E_NOINTERFACE;
  }
  ULONG STDMETHODCALLTYPE AddRef() override { return ++m_refs; }
  ULONG STDMETHODCALLTYPE Release() override {
    ULONG n = --m_refs;
    if (n == 0) {
      VSSIMG_LOG("Release");
      if (m_context == VSS_CTX_BACKUP) m_vss.sets_alive -= m_sets_alive;  // auto-release
      delete this;
    }
    return n;
  }

  HRESULT STDMETHODCALLTYPE GetWriterComponentsCount(UINT*) override {
    VSSIMG_UNEXPECTED("GetWriterComponentsCount");
  }
  HRESULT STDMETHODCALLTYPE GetWriterComponents(UINT, IVssWriterComponentsExt**) override {
    VSSIMG_UNEXPECTED("GetWriterComponents");
  }
  HRESULT STDMETHODCALLTYPE InitializeForBackup(BSTR) override {
    return simple("InitializeForBackup");
  }
  HRESULT STDMETHODCALLTYPE SetBackupState(VSSIMG_BC_ARG(SetBackupState, 0) select_components,
                                           VSSIMG_BC_ARG(SetBackupState, 1), VSS_BACKUP_TYPE type,
                                           VSSIMG_BC_ARG(SetBackupState, 3)) override {
    m_vss.backup_type = type;
    m_component_mode = select_components;
    m_vss.component_mode = m_component_mode;
    return simple("SetBackupState");
  }
  HRESULT STDMETHODCALLTYPE InitializeForRestore(BSTR) override {
    VSSIMG_UNEXPECTED("InitializeForRestore");
  }
  HRESULT STDMETHODCALLTYPE SetRestoreState(VSS_RESTORE_TYPE) override {
    VSSIMG_UNEXPECTED("SetRestoreState");
  }
  HRESULT STDMETHODCALLTYPE GatherWriterMetadata(IVssAsync** out) override {
    return async("GatherWriterMetadata", out);
  }
  HRESULT STDMETHODCALLTYPE GetWriterMetadataCount(UINT* n) override {
    *n = static_cast<UINT>(m_vss.writers.size());
    return simple("GetWriterMetadataCount");
  }
  HRESULT STDMETHODCALLTYPE GetWriterMetadata(UINT i, VSS_ID* instance,
                                              IVssExamineWriterMetadata** out) override {
    if (i >= m_vss.writers.size()) return E_INVALIDARG;
    *instance = m_vss.writers[i].instance_id;
    *out = new FakeExamine(m_vss.writers[i]);
    return simple("GetWriterMetadata");
  }
  HRESULT STDMETHODCALLTYPE FreeWriterMetadata() override { return simple("FreeWriterMetadata"); }
  HRESULT STDMETHODCALLTYPE AddComponent(VSS_ID, VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR path,
                                         LPCWSTR name) override {
    if (!m_component_mode || m_prepared || m_aborted) return bad_state("AddComponent");
    m_vss.added_components.push_back(component_path(path, name));
    return simple("AddComponent");
  }
  HRESULT STDMETHODCALLTYPE PrepareForBackup(IVssAsync** out) override {
    if (m_aborted) return bad_state("PrepareForBackup");
    m_prepared = true;
    return async("PrepareForBackup", out);
  }
  HRESULT STDMETHODCALLTYPE AbortBackup() override {
    if (!m_set_started) return bad_state("AbortBackup");
    m_aborted = true;
    return simple("AbortBackup");
  }
  HRESULT STDMETHODCALLTYPE GatherWriterStatus(IVssAsync** out) override {
    HRESULT hr = async("GatherWriterStatus", out);
    if (SUCCEEDED(hr)) m_status = m_vss.next_writer_status();
    return hr;
  }
  HRESULT STDMETHODCALLTYPE GetWriterStatusCount(UINT* n) override {
    *n = static_cast<UINT>(m_status.size());
    return simple("GetWriterStatusCount");
  }
  HRESULT STDMETHODCALLTYPE FreeWriterStatus() override { return simple("FreeWriterStatus"); }
  HRESULT STDMETHODCALLTYPE GetWriterStatus(UINT i, VSS_ID* instance, VSS_ID* writer, BSTR* name,
                                            VSS_WRITER_STATE* state, HRESULT* failure) override {
    if (i >= m_status.size()) return E_INVALIDARG;
    const FakeWriter& w = m_status[i];
    *instance = w.instance_id;
    *writer = w.writer_id;
    *name = ::SysAllocString(w.name.c_str());
    *state = w.state;
    *failure = w.failure;
    return simple("GetWriterStatus");
  }
  HRESULT STDMETHODCALLTYPE SetBackupSucceeded(VSS_ID, VSS_ID writer, VSS_COMPONENT_TYPE,
                                               LPCWSTR path, LPCWSTR name,
                                               VSSIMG_BC_ARG(SetBackupSucceeded, 5) ok) override {
    if (!m_component_mode || !m_snapshot_done || m_aborted || m_backup_completed) {
      return bad_state("SetBackupSucceeded");
    }
    if (ok) {
      m_vss.succeeded_components.push_back(component_path(path, name));
      m_succeeded_writers.push_back(writer);
    }
    return simple("SetBackupSucceeded");
  }
  HRESULT STDMETHODCALLTYPE SetBackupOptions(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                             LPCWSTR) override {
    VSSIMG_UNEXPECTED("SetBackupOptions");
  }
  HRESULT STDMETHODCALLTYPE SetSelectedForRestore(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                  VSSIMG_BC_ARG(SetSelectedForRestore,
                                                                4)) override {
    VSSIMG_UNEXPECTED("SetSelectedForRestore");
  }
  HRESULT STDMETHODCALLTYPE SetRestoreOptions(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                              LPCWSTR) override {
    VSSIMG_UNEXPECTED("SetRestoreOptions");
  }
  HRESULT STDMETHODCALLTYPE SetAdditionalRestores(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                  VSSIMG_BC_ARG(SetAdditionalRestores,
                                                                4)) override {
    VSSIMG_UNEXPECTED("SetAdditionalRestores");
  }
  HRESULT STDMETHODCALLTYPE SetPreviousBackupStamp(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                   LPCWSTR) override {
    VSSIMG_UNEXPECTED("SetPreviousBackupStamp");
  }
  // A small document naming the backup type and every added component.
  HRESULT STDMETHODCALLTYPE SaveAsXML(BSTR* out) override {
    if (!m_snapshot_done || m_aborted) return bad_state("SaveAsXML");
    std::wstring xml = L"<BACKUP_COMPONENTS backupType=\"" +
                       std::wstring(m_vss.backup_type == VSS_BT_FULL ? L"FULL" : L"COPY") +
                       L"\" selectComponents=\"" + (m_component_mode ? L"yes" : L"no") + L"\">";
    for (const auto& c : m_vss.added_components) xml += L"<COMPONENT name=\"" + c + L"\"/>";
    xml += L"</BACKUP_COMPONENTS>";
    *out = ::SysAllocString(xml.c_str());
    return simple("SaveAsXML");
  }
  HRESULT STDMETHODCALLTYPE BackupComplete(IVssAsync** out) override {
    if (!m_snapshot_done || m_aborted || m_backup_completed) return bad_state("BackupComplete");
    m_backup_completed = true;
    HRESULT hr = async("BackupComplete", out);
    if (SUCCEEDED(hr)) writers_learn_backup_complete();
    return hr;
  }
  HRESULT STDMETHODCALLTYPE
  AddAlternativeLocationMapping(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR, LPCWSTR, LPCWSTR,
                                VSSIMG_BC_ARG(AddAlternativeLocationMapping, 6), LPCWSTR) override {
    VSSIMG_UNEXPECTED("AddAlternativeLocationMapping");
  }
  HRESULT STDMETHODCALLTYPE AddRestoreSubcomponent(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                   LPCWSTR, LPCWSTR,
                                                   VSSIMG_BC_ARG(AddRestoreSubcomponent,
                                                                 6)) override {
    VSSIMG_UNEXPECTED("AddRestoreSubcomponent");
  }
  HRESULT STDMETHODCALLTYPE SetFileRestoreStatus(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                 VSS_FILE_RESTORE_STATUS) override {
    VSSIMG_UNEXPECTED("SetFileRestoreStatus");
  }
  HRESULT STDMETHODCALLTYPE AddNewTarget(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR, LPCWSTR,
                                         LPCWSTR, VSSIMG_BC_ARG(AddNewTarget, 6),
                                         LPCWSTR) override {
    VSSIMG_UNEXPECTED("AddNewTarget");
  }
  HRESULT STDMETHODCALLTYPE SetRangesFilePath(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR, UINT,
                                              LPCWSTR) override {
    VSSIMG_UNEXPECTED("SetRangesFilePath");
  }
  HRESULT STDMETHODCALLTYPE PreRestore(IVssAsync**) override { VSSIMG_UNEXPECTED("PreRestore"); }
  HRESULT STDMETHODCALLTYPE PostRestore(IVssAsync**) override { VSSIMG_UNEXPECTED("PostRestore"); }
  HRESULT STDMETHODCALLTYPE SetContext(LONG context) override {
    m_vss.context = context;
    m_context = context;
    return simple("SetContext");
  }
  HRESULT STDMETHODCALLTYPE StartSnapshotSet(VSS_ID* set) override {
    *set = numbered_guid(0x5E7, ++m_vss_sets);
    HRESULT hr = simple("StartSnapshotSet");
    m_set_started = SUCCEEDED(hr);
    return hr;
  }
  HRESULT STDMETHODCALLTYPE AddToSnapshotSet(VSS_PWSZ volume, VSS_ID, VSS_ID* id) override {
    m_vss.added_volumes.emplace_back(volume);
    *id = numbered_guid(0x5A4, static_cast<uint32_t>(m_vss.added_volumes.size()));
    return simple("AddToSnapshotSet");
  }
  HRESULT STDMETHODCALLTYPE DoSnapshotSet(IVssAsync** out) override {
    if (!m_prepared || m_aborted) return bad_state("DoSnapshotSet");
    HRESULT hr = async("DoSnapshotSet", out, [this] { snapshot_made(); });
    if (SUCCEEDED(hr) && m_last_async == S_OK) snapshot_made();
    return hr;
  }
  HRESULT STDMETHODCALLTYPE DeleteSnapshots(VSS_ID, VSS_OBJECT_TYPE type,
                                            VSSIMG_BC_ARG(DeleteSnapshots, 2), LONG* deleted,
                                            VSS_ID* nondeleted) override {
    if (type == VSS_OBJECT_SNAPSHOT_SET && m_sets_alive > 0) {
      --m_sets_alive;
      --m_vss.sets_alive;
    }
    *deleted = 1;
    *nondeleted = GUID_NULL;
    return simple("DeleteSnapshots");
  }
  HRESULT STDMETHODCALLTYPE ImportSnapshots(IVssAsync**) override {
    VSSIMG_UNEXPECTED("ImportSnapshots");
  }
  HRESULT STDMETHODCALLTYPE BreakSnapshotSet(VSS_ID) override {
    VSSIMG_UNEXPECTED("BreakSnapshotSet");
  }
  HRESULT STDMETHODCALLTYPE GetSnapshotProperties(VSS_ID id, VSS_SNAPSHOT_PROP* prop) override {
    HRESULT hr = simple("GetSnapshotProperties");
    if (FAILED(hr)) return hr;
    *prop = VSS_SNAPSHOT_PROP{};
    prop->m_SnapshotId = id;
    prop->m_pwszSnapshotDeviceObject = co_string(m_vss.device_path);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE Query(VSS_ID, VSS_OBJECT_TYPE, VSS_OBJECT_TYPE,
                                  IVssEnumObject**) override {
    VSSIMG_UNEXPECTED("Query");
  }
  HRESULT STDMETHODCALLTYPE IsVolumeSupported(VSS_ID, VSS_PWSZ,
                                              VSSIMG_BC_ARG(IsVolumeSupported, 2)) override {
    VSSIMG_UNEXPECTED("IsVolumeSupported");
  }
  HRESULT STDMETHODCALLTYPE DisableWriterClasses(const VSS_ID*, UINT) override {
    VSSIMG_UNEXPECTED("DisableWriterClasses");
  }
  HRESULT STDMETHODCALLTYPE EnableWriterClasses(const VSS_ID*, UINT) override {
    VSSIMG_UNEXPECTED("EnableWriterClasses");
  }
  HRESULT STDMETHODCALLTYPE DisableWriterInstances(const VSS_ID*, UINT) override {
    VSSIMG_UNEXPECTED("DisableWriterInstances");
  }
  HRESULT STDMETHODCALLTYPE ExposeSnapshot(VSS_ID, VSS_PWSZ, LONG, VSS_PWSZ, VSS_PWSZ*) override {
    VSSIMG_UNEXPECTED("ExposeSnapshot");
  }
  HRESULT STDMETHODCALLTYPE RevertToSnapshot(VSS_ID, VSSIMG_BC_ARG(RevertToSnapshot, 1)) override {
    VSSIMG_UNEXPECTED("RevertToSnapshot");
  }
  HRESULT STDMETHODCALLTYPE QueryRevertStatus(VSS_PWSZ, IVssAsync**) override {
    VSSIMG_UNEXPECTED("QueryRevertStatus");
  }

 private:
  HRESULT simple(const char* method) {
    VSSIMG_LOG(method);
    return m_vss.next_result(method);
  }
  HRESULT async(const char* method, IVssAsync** out, std::function<void()> on_finish = {}) {
    VSSIMG_LOG(method);
    HRESULT hr = m_vss.next_result(method);
    if (FAILED(hr)) return hr;
    m_last_async = m_vss.next_async(method);
    *out = new FakeAsync(m_vss, m_last_async, std::move(on_finish));
    return S_OK;
  }
  void snapshot_made() {
    m_snapshot_done = true;
    ++m_sets_alive;
    ++m_vss.sets_alive;
  }
  bool succeeded(const FakeWriter& w) const {
    return std::any_of(m_succeeded_writers.begin(), m_succeeded_writers.end(),
                       [&](const VSS_ID& id) { return IsEqualGUID(id, w.writer_id); });
  }
  // What SQL Server's and Exchange's writers do at BackupComplete, by backup type.
  void writers_learn_backup_complete() {
    for (const auto& w : m_vss.writers) {
      if (!m_component_mode || !succeeded(w)) continue;
      const std::string name = win32::narrow(w.name);
      const bool full = m_vss.backup_type == VSS_BT_FULL;
      if (w.kind == WriterKind::sql) {
        m_vss.writer_events.push_back(name + (full ? ": differential base set" : ": copy only"));
      } else if (w.kind == WriterKind::exchange && full) {
        m_vss.writer_events.push_back(name + ": logs truncated");
      }
    }
  }
  HRESULT bad_state(const std::string& method) {
    m_vss.calls.push_back(method + ": bad state");
    return VSS_E_BAD_STATE;
  }
  static std::wstring component_path(LPCWSTR path, LPCWSTR name) {
    std::wstring p = path ? path : L"";
    return p.empty() ? std::wstring(name) : p + L"\\" + name;
  }

  FakeVss& m_vss;
  ULONG m_refs = 1;
  HRESULT m_last_async = S_OK;
  // Microsoft's state machine, as far as the requester can break it.
  bool m_component_mode = false;
  bool m_prepared = false;
  bool m_snapshot_done = false;
  bool m_backup_completed = false;
  bool m_aborted = false;
  bool m_set_started = false;
  LONG m_context = VSS_CTX_BACKUP;
  int m_sets_alive = 0;
  std::vector<VSS_ID> m_succeeded_writers;
  uint32_t m_vss_sets = 0;
  std::vector<FakeWriter> m_status;
};

}  // namespace

FakeWriter fake_writer(const std::wstring& name, int number, VSS_WRITER_STATE state,
                       HRESULT failure) {
  FakeWriter w;
  w.name = name;
  w.writer_id = numbered_guid(0x3217E7, static_cast<uint32_t>(number));
  w.instance_id = numbered_guid(0x1257, static_cast<uint32_t>(number));
  w.state = state;
  w.failure = failure;
  return w;
}

FakeVss::FakeVss() {
  writers.push_back(fake_writer(L"Fake SQL Writer", 1));
  writers[0].kind = WriterKind::sql;
  auto logged = [this](const char* name) {
    return [this, name] {
      com_calls.push_back(name);
      return next_result(name);
    };
  };
  vss::ComCalls c;
  c.initialize = logged("CoInitializeEx");
  c.initialize_security = logged("CoInitializeSecurity");
  c.disable_exception_handling = logged("DisableExceptionHandling");
  c.uninitialize = [this] { com_calls.push_back("CoUninitialize"); };
  com = std::make_shared<vss::ComProcess>(std::move(c));
}

HRESULT FakeVss::next_result(const std::string& method) {
  auto it = results.find(method);
  if (it == results.end() || it->second.empty()) return S_OK;
  HRESULT hr = it->second.front();
  it->second.pop_front();
  return hr;
}

HRESULT FakeVss::next_async(const std::string& method) {
  auto it = async_results.find(method);
  if (it == async_results.end() || it->second.empty()) return S_OK;
  HRESULT hr = it->second.front();
  it->second.pop_front();
  return hr;
}

std::vector<FakeWriter> FakeVss::next_writer_status() {
  if (writer_status.empty()) return writers;
  auto w = std::move(writer_status.front());
  writer_status.pop_front();
  return w;
}

vss::Backend FakeVss::backend(const std::filesystem::path& records_file) {
  vss::Backend b;
  b.com = com;
  b.create_components = [this](IVssBackupComponents** out) {
    if (!created_any) com_calls_at_first_create = com_calls.size();
    created_any = true;
    calls.push_back("Create");
    HRESULT hr = next_result("Create");
    if (FAILED(hr)) return hr;
    *out = new FakeComponents(*this);
    return S_OK;
  };
  // Frees what the fake allocated. Never the real VssFreeSnapshotProperties: Wine's
  // aborts the process.
  b.free_snapshot_properties = [this](VSS_SNAPSHOT_PROP* prop) {
    ::CoTaskMemFree(prop->m_pwszSnapshotDeviceObject);
    prop->m_pwszSnapshotDeviceObject = nullptr;
    ++freed_properties;
  };
  b.resolve_volume = fake_volume_name;
  b.volume_of_path = [](const std::string& path) {
    vss::PathVolume v;
    v.volume_name = fake_volume_name(path);
    v.mount = path.substr(0, 2);
    return v;
  };
  b.sleep = [this](double seconds) {
    sleeps.push_back(seconds);
    check_interrupted();
  };
  b.records_file = records_file;
  b.secure_path = [this](const std::filesystem::path& path, const wchar_t* sddl) {
    secured.push_back(win32::utf8_path(path) + "|" + win32::narrow(sddl));
  };
  b.preflight = false;
  return b;
}

size_t count_calls(const std::vector<std::string>& calls, const std::string& name) {
  return static_cast<size_t>(std::count(calls.begin(), calls.end(), name));
}

}  // namespace vssimg::test
