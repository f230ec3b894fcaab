// Windows-only: the COM pieces of the VSS wrapper and its test seam. The Backend holds
// everything the wrapper gets from the system, so tests under Wine can drive the real
// wrapper with a fake IVssBackupComponents (tests/vss/fake_vss.hpp).
#pragma once

#include "core/os/win32.hpp"
#include "vss/vss.hpp"

#include <objbase.h>
#include <vss.h>
#include <vsserror.h>
#include <vswriter.h>
#include <vsbackup.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>

namespace vssimg::vss {

// Owning COM pointer: Release() on destruction, move-only.
template <typename T>
class ComPtr {
 public:
  ComPtr() = default;
  ~ComPtr() { reset(); }
  ComPtr(ComPtr&& o) noexcept : m_ptr(std::exchange(o.m_ptr, nullptr)) {}
  ComPtr& operator=(ComPtr&& o) noexcept {
    if (this != &o) {
      reset();
      m_ptr = std::exchange(o.m_ptr, nullptr);
    }
    return *this;
  }
  ComPtr(const ComPtr&) = delete;
  ComPtr& operator=(const ComPtr&) = delete;

  T* get() const { return m_ptr; }
  T* operator->() const { return m_ptr; }
  explicit operator bool() const { return m_ptr != nullptr; }
  // For out-parameters: releases what is held and hands out the slot.
  T** put() {
    reset();
    return &m_ptr;
  }
  void reset() {
    if (m_ptr) std::exchange(m_ptr, nullptr)->Release();
  }

 private:
  T* m_ptr = nullptr;
};

// The volume a writer's file lies on.
struct PathVolume {
  std::string volume_name;  // "\\?\Volume{GUID}\"
  std::string mount;        // how the user names it: "E:" or "D:\mnt\data"
};

// Where the wrapper gets its COM objects and system services from.
struct Backend {
  // CreateVssBackupComponents.
  std::function<HRESULT(IVssBackupComponents**)> create_components;
  // VssFreeSnapshotProperties. A fake must free its own data: Wine's real function
  // aborts the process.
  std::function<void(VSS_SNAPSHOT_PROP*)> free_snapshot_properties;
  // "C:" -> "\\?\Volume{GUID}\" (GetVolumePathNameW + GetVolumeNameForVolumeMountPointW).
  std::function<std::string(const std::string&)> resolve_volume;
  // The volume of a path from writer metadata ("%SystemRoot%\NTDS\ntds.dit",
  // "E:\Logs"): environment variables expanded, GetVolumePathNameW +
  // GetVolumeNameForVolumeMountPointW. A path that does not resolve gets an empty
  // volume_name and the path as mount: its component counts as outside the set.
  std::function<PathVolume(const std::string&)> volume_of_path;
  // Sleeps between retries; must return early (throwing) on Ctrl+C.
  std::function<void(double seconds)> sleep;
  // The record of snapshots vssimg made (leftover cleanup, `snapshot list/delete`).
  std::filesystem::path records_file;
  // Refuse WOW64 and non-elevated processes before touching VSS.
  bool preflight = true;
};

// The real system: vssapi.dll, %ProgramData%\vssimg\snapshots.tsv.
Backend system_backend();

std::vector<WriterInfo> list_writers(const Backend& backend, bool with_components,
                                     ProgressSink& progress);
std::unique_ptr<SnapshotSession> create_snapshot(const Backend& backend,
                                                 const std::vector<std::string>& volumes,
                                                 const SnapshotOptions& options,
                                                 ProgressSink& progress);
std::vector<SnapshotRecord> list_snapshots(const Backend& backend, ProgressSink& progress);
SnapshotRecord delete_snapshot(const Backend& backend, const std::string& id,
                               ProgressSink& progress);

// "{12345678-...}" in upper case, as vssadmin prints it.
std::string guid_string(const GUID& guid);

}  // namespace vssimg::vss
