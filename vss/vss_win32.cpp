// The VSS requester on the real system: the Backend of vssapi.dll and the Windows
// services it needs, the pre-flight checks, and the platform-neutral entry points of
// vss.hpp, which use that Backend. The rest lives beside it (vss_internal_win32.hpp).
#include "vss/vss_internal_win32.hpp"

#include "core/os/platform.hpp"
#include "core/source/block_source_win32.hpp"

#include <algorithm>
#include <cwchar>

namespace vssimg::vss {

bool looks_like_volume_syntax(const std::string& s);

namespace {

std::string default_resolve_volume(const std::string& source) {
  win32::ResolvedSource resolved = win32::resolve_source(source);
  if (!resolved.is_volume || resolved.volume_name.empty()) {
    throw Error(ErrorKind::usage, "resolving volume", source, "is not a volume");
  }
  return win32::narrow(resolved.volume_name);
}

PathVolume default_volume_of_path(const std::string& path) {
  PathVolume out;
  out.mount = path;
  std::wstring wide = win32::widen(path);
  std::wstring expanded(32768, L'\0');
  DWORD n = ::ExpandEnvironmentStringsW(wide.c_str(), expanded.data(),
                                        static_cast<DWORD>(expanded.size()));
  if (n == 0 || n > expanded.size()) return out;
  expanded.resize(n - 1);
  std::wstring mount(expanded.size() + 2, L'\0');
  if (!::GetVolumePathNameW(expanded.c_str(), mount.data(), static_cast<DWORD>(mount.size()))) {
    return out;
  }
  mount.resize(std::wcslen(mount.c_str()));
  wchar_t name[MAX_PATH] = {};
  if (!::GetVolumeNameForVolumeMountPointW(mount.c_str(), name, MAX_PATH)) return out;
  out.volume_name = win32::narrow(name);
  if (mount.size() > 1 && mount.back() == L'\\') mount.pop_back();  // "E:\" -> "E:"
  out.mount = win32::narrow(mount);
  return out;
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

}  // namespace

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

Backend system_backend() {
  // One for the process: destroyed at exit, after every VSS object (CoUninitialize).
  static const std::shared_ptr<ComProcess> process_com =
      std::make_shared<ComProcess>(system_com_calls());
  Backend b;
  b.com = process_com;
  b.create_components = [](IVssBackupComponents** out) { return ::CreateVssBackupComponents(out); };
  b.free_snapshot_properties = [](VSS_SNAPSHOT_PROP* prop) { ::VssFreeSnapshotProperties(prop); };
  b.resolve_volume = default_resolve_volume;
  b.volume_of_path = default_volume_of_path;
  b.sleep = default_sleep;
  b.records_file = default_records_file();
  b.secure_path = set_protected_dacl;
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
