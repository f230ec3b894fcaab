// Component mode: which writer components the backup includes, judged from the files
// each component names against the volumes of the snapshot set ("Use of Components by
// the Requester"; vshadow does the same), and telling VSS about them.
#include "vss/vss_internal_win32.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace vssimg::vss {

namespace {

// One component as the writer's metadata describes it, with the volume of every file.
struct ComponentFiles {
  SelectedComponent id;
  bool selectable = false;
  std::vector<PathVolume> volumes;  // one per file, database or log file descriptor
};

struct WriterFiles {
  std::string name;
  VSS_ID writer_id = GUID_NULL;
  VSS_ID instance_id = GUID_NULL;
  std::vector<ComponentFiles> components;
};

using GetDesc = HRESULT (STDMETHODCALLTYPE IVssWMComponent::*)(UINT, IVssWMFiledesc**);

// The volumes of `count` descriptors fetched with `get`.
void add_volumes_of(IVssWMComponent* component, GetDesc get, UINT count, const Backend& backend,
                    std::vector<PathVolume>& out) {
  for (UINT i = 0; i < count; ++i) {
    ComPtr<IVssWMFiledesc> desc;
    check("IVssWMComponent file descriptor", (component->*get)(i, desc.put()));
    BSTR path = nullptr;
    check("IVssWMFiledesc::GetPath", desc->GetPath(&path));
    std::string text = bstr_text(path);
    ::SysFreeString(path);
    out.push_back(backend.volume_of_path(text));
  }
}

ComponentFiles component_files(IVssWMComponent* component, const VSS_ID& instance,
                               const VSS_ID& writer, const Backend& backend) {
  PVSSCOMPONENTINFO info = nullptr;
  check("GetComponentInfo", component->GetComponentInfo(&info));
  ComponentFiles c;
  c.id.instance_id = instance;
  c.id.writer_id = writer;
  c.id.type = info->type;
  if (info->bstrLogicalPath) c.id.logical_path = info->bstrLogicalPath;
  if (info->bstrComponentName) c.id.name = info->bstrComponentName;
  c.selectable = info->bSelectable != 0;
  const UINT files = info->cFileCount, databases = info->cDatabases, logs = info->cLogFiles;
  component->FreeComponentInfo(info);
  add_volumes_of(component, &IVssWMComponent::GetFile, files, backend, c.volumes);
  add_volumes_of(component, &IVssWMComponent::GetDatabaseFile, databases, backend, c.volumes);
  add_volumes_of(component, &IVssWMComponent::GetDatabaseLogFile, logs, backend, c.volumes);
  return c;
}

WriterFiles writer_files(IVssExamineWriterMetadata* metadata, const VSS_ID& instance,
                         const Backend& backend) {
  WriterFiles w;
  VSS_ID identity_instance = GUID_NULL, writer = GUID_NULL;
  BSTR name = nullptr;
  VSS_USAGE_TYPE usage = VSS_UT_UNDEFINED;
  VSS_SOURCE_TYPE source = VSS_ST_UNDEFINED;
  check("GetIdentity", metadata->GetIdentity(&identity_instance, &writer, &name, &usage, &source));
  w.name = bstr_text(name);
  ::SysFreeString(name);
  w.writer_id = writer;
  w.instance_id = instance;
  UINT includes = 0, excludes = 0, count = 0;
  check("GetFileCounts", metadata->GetFileCounts(&includes, &excludes, &count));
  for (UINT i = 0; i < count; ++i) {
    ComPtr<IVssWMComponent> component;
    check("GetComponent", metadata->GetComponent(i, component.put()));
    w.components.push_back(component_files(component.get(), instance, writer, backend));
  }
  return w;
}

std::string component_label(const SelectedComponent& c) {
  std::wstring full = c.logical_path.empty() ? c.name : c.logical_path + L"\\" + c.name;
  return win32::narrow(full);
}

bool in_set(const PathVolume& v, const std::vector<SnapshotVolume>& set) {
  return std::any_of(set.begin(), set.end(),
                     [&](const SnapshotVolume& s) { return s.volume_name == v.volume_name; });
}

// The mount points (e.g. "E:") of the volumes `c` uses outside the set, "" when none.
std::string volumes_outside(const ComponentFiles& c, const std::vector<SnapshotVolume>& set) {
  std::vector<std::string> outside;
  for (const auto& v : c.volumes) {
    if (!in_set(v, set) && std::find(outside.begin(), outside.end(), v.mount) == outside.end()) {
      outside.push_back(v.mount);
    }
  }
  std::string text;
  for (const auto& m : outside) text += (text.empty() ? "" : " ") + m;
  return text;
}

// Judges one writer: a writer with no file on the set is not part of this backup; in
// one that is, components with files elsewhere are left out (with a warning), and a
// non-selectable component left out takes the whole writer with it, since VSS backs up
// a writer's non-selectable components together or not at all.
void judge_writer(const WriterFiles& w, const std::vector<SnapshotVolume>& set,
                  ComponentSelection& out) {
  const bool involved = std::any_of(w.components.begin(), w.components.end(), [&](const auto& c) {
    return std::any_of(c.volumes.begin(), c.volumes.end(),
                       [&](const PathVolume& v) { return in_set(v, set); });
  });
  if (!involved) return;
  std::vector<SelectedComponent> included;
  bool writer_left_out = false;
  for (const auto& c : w.components) {
    std::string outside = volumes_outside(c, set);
    if (outside.empty()) {
      included.push_back(c.id);
      included.back().writer_name = w.name;
      continue;
    }
    writer_left_out = writer_left_out || !c.selectable;
    out.warnings.push_back(fmt::format(
        "VSS writer \"{}\": component {} has files on {}, which is not in the backup, so it is "
        "left out{}; add {} to the backup",
        w.name, component_label(c.id), outside,
        c.selectable ? "" : " and with it the whole writer (the component is not selectable)",
        outside));
  }
  if (!writer_left_out) out.included.insert(out.included.end(), included.begin(), included.end());
}

std::string upper(const std::string& text) {
  std::string out;
  for (char c : text) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// "{ABC...}" and "abc..." alike: upper case, without braces.
std::string id_key(const std::string& text) {
  std::string out;
  for (char c : upper(text)) {
    if (c != '{' && c != '}') out += c;
  }
  return out;
}

// True when an --exclude-writer pattern names `w`; then it adds no component.
bool excluded(const WriterFiles& w, const std::vector<std::string>& exclude) {
  return std::any_of(exclude.begin(), exclude.end(), [&](const std::string& pattern) {
    return writer_matches(pattern, w.name, guid_string(w.writer_id), guid_string(w.instance_id));
  });
}

}  // namespace

bool writer_matches(const std::string& pattern, const std::string& name,
                    const std::string& writer_id, const std::string& instance_id) {
  const std::string key = id_key(pattern);
  if (key.empty()) return false;
  return upper(pattern) == upper(name) || key == id_key(writer_id) || key == id_key(instance_id);
}

ComponentSelection select_components(IVssBackupComponents* components, const Backend& backend,
                                     const std::vector<SnapshotVolume>& set,
                                     const std::vector<std::string>& exclude) {
  ComponentSelection selection;
  for_each_writer_metadata(
      components, [&](const VSS_ID& instance, IVssExamineWriterMetadata* examine) {
        WriterFiles w = writer_files(examine, instance, backend);
        if (!excluded(w, exclude)) {
          judge_writer(w, set, selection);
          return;
        }
        selection.notes.push_back(fmt::format(
            "VSS writer \"{}\" {} is excluded (--exclude-writer): none of its components is added, "
            "so its data in this backup is crash-consistent only",
            w.name, guid_string(w.writer_id)));
      });
  return selection;
}

std::vector<IncludedComponent> describe_components(const std::vector<SelectedComponent>& selected) {
  std::vector<IncludedComponent> out;
  for (const auto& c : selected) {
    IncludedComponent d;
    d.writer_name = c.writer_name;
    d.writer_id = guid_string(c.writer_id);
    d.instance_id = guid_string(c.instance_id);
    d.logical_path = win32::narrow(c.logical_path);
    d.name = win32::narrow(c.name);
    d.type = c.type == VSS_CT_DATABASE ? "database" : c.type == VSS_CT_FILEGROUP ? "filegroup" : "";
    out.push_back(std::move(d));
  }
  return out;
}

void add_components(IVssBackupComponents* components,
                    const std::vector<SelectedComponent>& selected) {
  for (const auto& c : selected) {
    check("AddComponent",
          components->AddComponent(c.instance_id, c.writer_id, c.type,
                                   c.logical_path.empty() ? nullptr : c.logical_path.c_str(),
                                   c.name.c_str()));
  }
}

void set_backup_succeeded(IVssBackupComponents* components,
                          const std::vector<SelectedComponent>& selected) {
  for (const auto& c : selected) {
    check("SetBackupSucceeded",
          components->SetBackupSucceeded(c.instance_id, c.writer_id, c.type,
                                         c.logical_path.empty() ? nullptr : c.logical_path.c_str(),
                                         c.name.c_str(), TRUE));
  }
}

}  // namespace vssimg::vss
