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
#include <memory>
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

// The process-wide COM calls, as the wrapper makes them (a seam for tests).
struct ComCalls {
  std::function<HRESULT()> initialize;           // CoInitializeEx(nullptr, COINIT_MULTITHREADED)
  std::function<HRESULT()> initialize_security;  // CoInitializeSecurity (see ComProcess)
  // IGlobalOptions::Set(COMGLB_EXCEPTION_HANDLING, COMGLB_EXCEPTION_DONOT_HANDLE).
  std::function<HRESULT()> disable_exception_handling;
  std::function<void()> uninitialize;  // CoUninitialize
};

// COM for the whole process, set up once before the first VSS object and kept until the
// object dies (for the real system: at exit), never per attempt: a CoUninitialize
// between retries could reset the process security. ensure() runs, on its first
// successful call only: initialize (S_OK/S_FALSE: uninitialize at the end;
// RPC_E_CHANGED_MODE: go on without), initialize_security (RPC_E_TOO_LATE: someone in
// the process already did, an info line), disable_exception_handling (a failure is an
// info line: it hardens, it is not needed for a snapshot). Other failures throw
// Error(ErrorKind::vss) and the next ensure() tries again. Thread-safe.
class ComProcess {
 public:
  explicit ComProcess(ComCalls calls);
  ~ComProcess();
  ComProcess(const ComProcess&) = delete;
  ComProcess& operator=(const ComProcess&) = delete;
  void ensure(ProgressSink& progress);

 private:
  struct State;
  std::unique_ptr<State> m_state;
};

// Where the wrapper gets its COM objects and system services from.
struct Backend {
  // COM for the process; shared by every Backend of the same system (or fake).
  std::shared_ptr<ComProcess> com;
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
  // Gives a path (the records folder and file) a protected DACL from an SDDL string
  // (ConvertStringSecurityDescriptorToSecurityDescriptorW + SetNamedSecurityInfoW).
  std::function<void(const std::filesystem::path&, const wchar_t* sddl)> secure_path;
  // Refuse WOW64 and non-elevated processes before touching VSS.
  bool preflight = true;
};

// The real system: vssapi.dll, COM once per process, %ProgramData%\vssimg\snapshots.tsv.
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

// The real process-wide COM calls (vss_com_win32.cpp).
ComCalls system_com_calls();
// SetNamedSecurityInfoW(DACL | PROTECTED_DACL) with the DACL of `sddl`; throws Error.
void set_protected_dacl(const std::filesystem::path& path, const wchar_t* sddl);

// "{12345678-...}" in upper case, as vssadmin prints it.
std::string guid_string(const GUID& guid);

}  // namespace vssimg::vss
