// Writers and their components: the metadata and status passes, shared by list-writers
// (a backup components object of its own) and the snapshot session.
#include "vss/vss_internal_win32.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vssimg::vss {

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

bool retryable(const WriterOutcome& w) {
  const HresultInfo* info = find_hresult(w.error);
  return w.failed && info && info->retry == Retry::writer;
}

// "\"SQL Writer\" [9] Failed at freeze, VSS_E_WRITERERROR_RETRYABLE (0x800423F3): ...; ..."
std::string failed_writers(const std::vector<WriterOutcome>& outcomes) {
  std::string text;
  for (const auto& w : outcomes) {
    if (!w.failed) continue;
    text += fmt::format("{}\"{}\" [{}] {}, {}", text.empty() ? "" : "; ", w.name, w.state,
                        w.state_name, describe_vss_hresult(w.error));
  }
  return text;
}

WriterInfo writer_info(const WriterOutcome& o, const ComponentsByInstance& metadata) {
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
  return w;
}

}  // namespace

void gather_writer_metadata(IVssBackupComponents* components, const SnapshotOptions& options) {
  ComPtr<IVssAsync> async;
  run_async("GatherWriterMetadata", components->GatherWriterMetadata(async.put()), async, options);
}

void for_each_writer_metadata(
    IVssBackupComponents* components,
    const std::function<void(const VSS_ID&, IVssExamineWriterMetadata*)>& fn) {
  UINT count = 0;
  check("GetWriterMetadataCount", components->GetWriterMetadataCount(&count));
  for (UINT i = 0; i < count; ++i) {
    VSS_ID instance = GUID_NULL;
    ComPtr<IVssExamineWriterMetadata> examine;
    check("GetWriterMetadata", components->GetWriterMetadata(i, &instance, examine.put()));
    fn(instance, examine.get());
  }
}

ComponentsByInstance writer_components(IVssBackupComponents* components) {
  ComponentsByInstance metadata;
  for_each_writer_metadata(components,
                           [&](const VSS_ID& instance, IVssExamineWriterMetadata* examine) {
                             metadata.emplace_back(guid_string(instance), components_of(examine));
                           });
  return metadata;
}

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

std::vector<WriterOutcome> check_writer_status(IVssBackupComponents* components,
                                               const SnapshotOptions& options,
                                               std::string_view when, bool retry_writers,
                                               ProgressSink& progress) {
  std::vector<WriterOutcome> outcomes = gather_writer_status(components, options);
  auto first = std::find_if(outcomes.begin(), outcomes.end(), retryable);
  if (retry_writers && first != outcomes.end()) {
    throw VssFailure(ErrorKind::vss, fmt::format("VSS writers after {}", when),
                     failed_writers(outcomes), first->error, Retry::writer);
  }
  for (const auto& w : outcomes) {
    if (!w.failed) continue;
    progress.warning(fmt::format(
        "VSS writer \"{}\" failed after {}: [{}] {}, {}; its data in this backup is "
        "crash-consistent only{}",
        w.name, when, w.state, w.state_name, describe_vss_hresult(w.error),
        retryable(w) ? " (retryable, but the retries are used up; --vss-retries)" : ""));
  }
  return outcomes;
}

VssFailure with_writer_status(IVssBackupComponents* components, const SnapshotOptions& options,
                              const VssFailure& e) {
  std::vector<WriterOutcome> outcomes;
  try {
    outcomes = gather_writer_status(components, options);
  } catch (const Error&) {
    return e;
  }
  std::string failed = failed_writers(outcomes);
  if (failed.empty()) return e;
  Retry retry = e.retry();
  if (retry == Retry::no && std::any_of(outcomes.begin(), outcomes.end(), retryable)) {
    retry = Retry::writer;
  }
  return VssFailure(e.kind(), e.operation(),
                    fmt::format("{}; failed writers: {}", e.cause(), failed), e.hr(), retry);
}

// A metadata and status pass only: no snapshot set, so no writer is frozen and none
// learns of a backup. Component mode (SetBackupState(TRUE, ...)), as vshadow lists
// writers and as the backup itself runs, so writers report what a backup would see.
std::vector<WriterInfo> list_writers(const Backend& backend, bool with_components,
                                     ProgressSink& progress) {
  if (backend.preflight) preflight();
  SnapshotOptions options;  // timeouts for the waits
  backend.com->ensure(progress);
  ComPtr<IVssBackupComponents> components;
  check("CreateVssBackupComponents", backend.create_components(components.put()));
  check("InitializeForBackup", components->InitializeForBackup(nullptr));
  check("SetBackupState", components->SetBackupState(TRUE, FALSE, VSS_BT_COPY, FALSE));
  gather_writer_metadata(components.get(), options);

  ComponentsByInstance metadata;
  if (with_components) metadata = writer_components(components.get());
  std::vector<WriterInfo> writers;
  for (const auto& o : gather_writer_status(components.get(), options)) {
    writers.push_back(writer_info(o, metadata));
  }
  if (with_components) components->FreeWriterMetadata();
  return writers;
}

}  // namespace vssimg::vss
