// The record of snapshots vssimg made (Backend::records_file, one tab-separated line per
// snapshot): written by the session before a snapshot exists, so that the leftovers of a
// killed run are deleted by the next one; read by `snapshot list/delete`, which touch only
// what vssimg made.
#include "vss/vss_internal_win32.hpp"

#include "core/os/file.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>

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

// Read, change and write the record under the lock.
void update_records(const Backend& backend,
                    const std::function<void(std::vector<SnapshotRecord>&)>& change) {
  RecordsLock lock;
  auto records = read_records(backend.records_file);
  change(records);
  write_records(backend.records_file, records);
}

// True when `r` records the snapshot of one of `volumes`.
bool records_one_of(const SnapshotRecord& r, const std::vector<SnapshotVolume>& volumes) {
  return std::any_of(volumes.begin(), volumes.end(),
                     [&](const SnapshotVolume& v) { return v.snapshot_id == r.snapshot_id; });
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

// The one recorded snapshot whose id starts with `id` ("{" and case optional).
SnapshotRecord find_recorded(const Backend& backend, const std::string& id) {
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
  return matches.front();
}

}  // namespace

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

void record_new_snapshots(const Backend& backend, const std::string& set_id,
                          const std::vector<SnapshotVolume>& volumes, bool persistent) {
  update_records(backend, [&](std::vector<SnapshotRecord>& records) {
    for (const auto& v : volumes) {
      records.push_back(
          {v.snapshot_id, set_id, v.source, "", now_unix(), process_id(), persistent});
    }
  });
}

void record_device_paths(const Backend& backend, const std::vector<SnapshotVolume>& volumes) {
  update_records(backend, [&](std::vector<SnapshotRecord>& records) {
    for (auto& r : records) {
      for (const auto& v : volumes) {
        if (r.snapshot_id == v.snapshot_id) r.device_path = v.device_path;
      }
    }
  });
}

void forget_snapshots(const Backend& backend, const std::vector<SnapshotVolume>& volumes,
                      bool keep_persistent) {
  update_records(backend, [&](std::vector<SnapshotRecord>& records) {
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
  return read_records(backend.records_file);
}

SnapshotRecord delete_snapshot(const Backend& backend, const std::string& id,
                               ProgressSink& progress) {
  if (backend.preflight) preflight();
  const SnapshotRecord target = find_recorded(backend, id);
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

}  // namespace vssimg::vss
