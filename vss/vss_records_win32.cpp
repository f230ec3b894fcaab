// The record of snapshots vssimg made (Backend::records_file; format: vss_records.hpp):
// written by the session before a snapshot exists, so that the leftovers of a
// killed run are deleted by the next one; read by `snapshot list/delete`, which touch only
// what vssimg made.
#include "vss/vss_internal_win32.hpp"

#include "core/os/atomic_file.hpp"
#include "core/os/file.hpp"
#include "core/os/platform.hpp"
#include "vss/vss_records.hpp"

#include <fmt/format.h>

#include <aclapi.h>
#include <sddl.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>

namespace vssimg::vss {

namespace {

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

// Only SYSTEM and the Administrators may read or change the record (it decides which
// shadow copies vssimg deletes): a protected DACL, nothing inherited from ProgramData,
// whose default lets every user create files.
constexpr wchar_t k_folder_sddl[] = L"D:P(A;OICI;GA;;;SY)(A;OICI;GA;;;BA)";
constexpr wchar_t k_file_sddl[] = L"D:P(A;;GA;;;SY)(A;;GA;;;BA)";

// The records, or none when there is no file yet. A damaged or foreign file is moved
// aside to "<file>.damaged" with a warning: never trusted, never silently overwritten.
std::vector<SnapshotRecord> read_records(const Backend& backend, ProgressSink& progress) {
  const std::filesystem::path& file = backend.records_file;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return {};
  const std::string text = read_small_file(file, 16u << 20);
  try {
    return decode_records(text, win32::utf8_path(file));
  } catch (const Error& e) {
    std::filesystem::path aside = file;
    aside += L".damaged";
    rename_replace(file, aside);
    progress.warning(fmt::format(
        "{}; moved it to {} and started a new one: the snapshots it names are not deleted "
        "automatically (check `vssadmin list shadows`)",
        e.what(), win32::utf8_path(aside)));
    return {};
  }
}

// Written through AtomicFile (never half-written), folder and file owner-only.
void write_records(const Backend& backend, const std::vector<SnapshotRecord>& records) {
  const std::filesystem::path& file = backend.records_file;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  backend.secure_path(file.parent_path(), k_folder_sddl);
  const std::string text = encode_records(records);
  AtomicFile out(file, file.parent_path());
  out.append(text.data(), text.size());
  out.commit(true);
  backend.secure_path(file, k_file_sddl);
}

// Read, change and write the record under the lock.
void update_records(const Backend& backend, ProgressSink& progress,
                    const std::function<void(std::vector<SnapshotRecord>&)>& change) {
  RecordsLock lock;
  auto records = read_records(backend, progress);
  change(records);
  write_records(backend, records);
}

// True when `r` records the snapshot of one of `volumes`.
bool records_one_of(const SnapshotRecord& r, const std::vector<SnapshotVolume>& volumes) {
  return std::any_of(volumes.begin(), volumes.end(),
                     [&](const SnapshotVolume& v) { return v.snapshot_id == r.snapshot_id; });
}

// An initialised backup components object for managing existing snapshots.
struct Manager {
  ComPtr<IVssBackupComponents> components;
  Manager(const Backend& backend, ProgressSink& progress) {
    backend.com->ensure(progress);
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

// The one recorded snapshot whose id starts with `id` ("{" and case optional).
SnapshotRecord find_recorded(const Backend& backend, const std::string& id,
                             ProgressSink& progress) {
  std::string wanted = id;
  std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  if (!wanted.empty() && wanted[0] != '{') wanted.insert(wanted.begin(), '{');
  std::vector<SnapshotRecord> records;
  {
    RecordsLock lock;
    records = read_records(backend, progress);
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
  return matches.front();
}

struct LocalFreeDeleter {
  void operator()(void* p) const { ::LocalFree(p); }
};

}  // namespace

void set_protected_dacl(const std::filesystem::path& path, const wchar_t* sddl) {
  PSECURITY_DESCRIPTOR raw = nullptr;
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &raw,
                                                              nullptr)) {
    win32::throw_last_error("restricting permissions of", win32::utf8_path(path),
                            "ConvertStringSecurityDescriptorToSecurityDescriptorW");
  }
  std::unique_ptr<void, LocalFreeDeleter> descriptor(raw);
  BOOL present = FALSE, defaulted = FALSE;
  PACL dacl = nullptr;
  ::GetSecurityDescriptorDacl(raw, &present, &dacl, &defaulted);
  std::wstring wide = win32::api_path(path);
  DWORD rc = ::SetNamedSecurityInfoW(
      wide.data(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
      nullptr, nullptr, dacl, nullptr);
  if (rc != ERROR_SUCCESS) {
    win32::throw_win32("restricting permissions of", win32::utf8_path(path),
                       "SetNamedSecurityInfoW", rc);
  }
}

void delete_leftovers(const Backend& backend, ProgressSink& progress) {
  RecordsLock lock;
  auto records = read_records(backend, progress);
  std::vector<SnapshotRecord> keep;
  std::unique_ptr<Manager> manager;
  for (auto& r : records) {
    if (r.pid == 0 || process_alive(r.pid)) {
      keep.push_back(r);
      continue;
    }
    try {
      if (!manager) manager = std::make_unique<Manager>(backend, progress);
      bool existed = delete_one(manager->components.get(), r.snapshot_id);
      progress.info(fmt::format("{} snapshot {} of {} left by process {}",
                                existed ? "deleted" : "forgot", r.snapshot_id, r.volume, r.pid));
    } catch (const Error& e) {
      progress.warning(fmt::format("could not delete leftover snapshot {} of {}: {}", r.snapshot_id,
                                   r.volume, e.what()));
      keep.push_back(r);
    }
  }
  if (keep.size() != records.size()) write_records(backend, keep);
}

void record_new_snapshots(const Backend& backend, const std::string& set_id,
                          const std::vector<SnapshotVolume>& volumes, bool persistent,
                          ProgressSink& progress) {
  update_records(backend, progress, [&](std::vector<SnapshotRecord>& records) {
    for (const auto& v : volumes) {
      records.push_back(
          {v.snapshot_id, set_id, v.source, "", now_unix(), process_id(), persistent});
    }
  });
}

void record_device_paths(const Backend& backend, const std::vector<SnapshotVolume>& volumes,
                         ProgressSink& progress) {
  update_records(backend, progress, [&](std::vector<SnapshotRecord>& records) {
    for (auto& r : records) {
      for (const auto& v : volumes) {
        if (r.snapshot_id == v.snapshot_id) r.device_path = v.device_path;
      }
    }
  });
}

void forget_snapshots(const Backend& backend, const std::vector<SnapshotVolume>& volumes,
                      bool keep_persistent, ProgressSink& progress) {
  update_records(backend, progress, [&](std::vector<SnapshotRecord>& records) {
    for (auto it = records.begin(); it != records.end();) {
      if (!records_one_of(*it, volumes)) {
        ++it;
      } else if (keep_persistent) {
        it->pid = 0;
        ++it;
      } else {
        it = records.erase(it);
      }
    }
  });
}

std::vector<SnapshotRecord> list_snapshots(const Backend& backend, ProgressSink& progress) {
  delete_leftovers(backend, progress);
  RecordsLock lock;
  return read_records(backend, progress);
}

SnapshotRecord delete_snapshot(const Backend& backend, const std::string& id,
                               ProgressSink& progress) {
  if (backend.preflight) preflight();
  const SnapshotRecord target = find_recorded(backend, id, progress);
  if (target.pid != 0 && target.pid != process_id() && process_alive(target.pid)) {
    throw Error(ErrorKind::usage, "deleting snapshot", id,
                fmt::format("it belongs to the running vssimg process {}", target.pid));
  }
  Manager manager(backend, progress);
  bool existed = delete_one(manager.components.get(), target.snapshot_id);
  if (!existed)
    progress.warning(fmt::format("snapshot {} no longer existed; removed it from the record",
                                 target.snapshot_id));
  update_records(backend, progress, [&](std::vector<SnapshotRecord>& all) {
    all.erase(std::remove_if(
                  all.begin(), all.end(),
                  [&](const SnapshotRecord& r) { return r.snapshot_id == target.snapshot_id; }),
              all.end());
  });
  return target;
}

}  // namespace vssimg::vss
