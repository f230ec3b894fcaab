#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "core/os/win32.hpp"

#include <aclapi.h>
#include <psapi.h>
#include <winioctl.h>
#include <sddl.h>

#include <fcntl.h>
#include <io.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

// RtlGenRandom (exported from advapi32 as SystemFunction036): the CSPRNG behind
// BCryptGenRandom, without pulling in bcrypt.lib. Declared here because ntsecapi.h
// drags in half of the NT headers.
extern "C" BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

namespace vssimg {

std::vector<uint8_t> random_bytes(size_t n) {
  std::vector<uint8_t> out(n);
  size_t done = 0;
  while (done < n) {
    ULONG chunk = static_cast<ULONG>(std::min<size_t>(n - done, 1u << 20));
    if (!SystemFunction036(out.data() + done, chunk)) {
      win32::throw_last_error("reading", "random bytes", "RtlGenRandom");
    }
    done += chunk;
  }
  return out;
}

std::string host_name() {
  wchar_t buf[256] = {};
  DWORD len = static_cast<DWORD>(std::size(buf));
  if (!::GetComputerNameExW(ComputerNameDnsHostname, buf, &len)) {
    len = static_cast<DWORD>(std::size(buf));
    if (!::GetComputerNameW(buf, &len)) return "unknown";
  }
  return win32::narrow(std::wstring_view(buf, len));
}

uint64_t process_id() {
  return ::GetCurrentProcessId();
}

bool process_alive(uint64_t pid) {
  if (pid == 0 || pid > 0xFFFFFFFFu) return false;
  win32::UniqueHandle h(::OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                                      static_cast<DWORD>(pid)));
  if (!h.valid()) {
    // ERROR_INVALID_PARAMETER: no such process. Access denied: it exists (another user's).
    return ::GetLastError() == ERROR_ACCESS_DENIED;
  }
  return ::WaitForSingleObject(h.get(), 0) == WAIT_TIMEOUT;
}

namespace {

struct LocalFreeDeleter {
  void operator()(void* p) const { ::LocalFree(p); }
};

// The SID of the user this process runs as (the token user: SYSTEM under Task Scheduler).
std::vector<uint8_t> current_user_sid() {
  HANDLE raw = nullptr;
  if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &raw)) {
    win32::throw_last_error("reading", "the process token", "OpenProcessToken");
  }
  win32::UniqueHandle token(raw);
  DWORD size = 0;
  ::GetTokenInformation(token.get(), TokenUser, nullptr, 0, &size);
  std::vector<uint8_t> buf(size);
  if (!::GetTokenInformation(token.get(), TokenUser, buf.data(), size, &size)) {
    win32::throw_last_error("reading", "the process token", "GetTokenInformation");
  }
  auto* user = reinterpret_cast<TOKEN_USER*>(buf.data());
  DWORD sid_len = ::GetLengthSid(user->User.Sid);
  std::vector<uint8_t> sid(sid_len);
  ::CopySid(sid_len, sid.data(), user->User.Sid);
  return sid;
}

}  // namespace

void restrict_to_owner(const std::filesystem::path& path) {
  // A protected DACL with one entry: full control for the current user. Inherited
  // entries (Users: read on most folders) are dropped.
  std::vector<uint8_t> sid = current_user_sid();
  EXPLICIT_ACCESSW access{};
  access.grfAccessPermissions = GENERIC_ALL;
  access.grfAccessMode = SET_ACCESS;
  access.grfInheritance = NO_INHERITANCE;
  access.Trustee.TrusteeForm = TRUSTEE_IS_SID;
  access.Trustee.TrusteeType = TRUSTEE_IS_USER;
  access.Trustee.ptstrName = reinterpret_cast<LPWSTR>(sid.data());
  PACL raw_acl = nullptr;
  DWORD rc = ::SetEntriesInAclW(1, &access, nullptr, &raw_acl);
  if (rc != ERROR_SUCCESS) {
    win32::throw_win32("restricting permissions of", win32::utf8_path(path), "SetEntriesInAclW",
                       rc);
  }
  std::unique_ptr<void, LocalFreeDeleter> acl(raw_acl);
  std::wstring wide = win32::api_path(path);
  rc = ::SetNamedSecurityInfoW(wide.data(), SE_FILE_OBJECT,
                               DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                               nullptr, nullptr, raw_acl, nullptr);
  if (rc != ERROR_SUCCESS) {
    win32::throw_win32("restricting permissions of", win32::utf8_path(path),
                       "SetNamedSecurityInfoW", rc);
  }
}

bool is_symlink(const std::filesystem::path& path) {
  DWORD attrs = ::GetFileAttributesW(win32::api_path(path).c_str());
  return attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
}

TargetInfo inspect_target(const std::filesystem::path& path) {
  TargetInfo info;
  const std::wstring& p = path.native();
  const bool device_syntax = p.rfind(L"\\\\.\\", 0) == 0 ||
                             p.rfind(L"\\\\?\\GLOBALROOT\\", 0) == 0 ||
                             (p.size() == 2 && p[1] == L':');
  if (!device_syntax) {
    DWORD attrs = ::GetFileAttributesW(win32::api_path(path).c_str());
    if (attrs == INVALID_FILE_ATTRIBUTES) {
      DWORD err = ::GetLastError();
      if (err != ERROR_FILE_NOT_FOUND && err != ERROR_PATH_NOT_FOUND) {
        win32::throw_win32("inspecting", win32::utf8_path(path), "GetFileAttributesW", err);
      }
      return info;
    }
    info.exists = true;
    info.is_directory = (attrs & FILE_ATTRIBUTE_DIRECTORY) != 0;
    return info;
  }
  std::wstring device = p.size() == 2 ? L"\\\\.\\" + p : p;
  info.exists = true;
  info.is_device = true;
  // A volume (\\.\E:) carries a mounted filesystem as far as we can tell without
  // locking it; only whole disks (\\.\PhysicalDriveN) are restore targets.
  info.is_mounted = device.find(L"PhysicalDrive") == std::wstring::npos;
  win32::UniqueHandle h(::CreateFileW(device.c_str(), GENERIC_READ,
                                      FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING, 0,
                                      nullptr));
  if (!h.valid()) {
    win32::throw_last_error("inspecting", win32::utf8_path(path), "CreateFileW");
  }
  GET_LENGTH_INFORMATION length{};
  DWORD returned = 0;
  if (::DeviceIoControl(h.get(), IOCTL_DISK_GET_LENGTH_INFO, nullptr, 0, &length, sizeof length,
                        &returned, nullptr)) {
    info.device_size = static_cast<uint64_t>(length.Length.QuadPart);
  }
  return info;
}

std::FILE* binary_stdout(const std::string& operation, const std::string& example) {
  if (::_isatty(::_fileno(stdout))) {
    throw Error(ErrorKind::usage, operation, "standard output",
                "is a console; redirect it to a file or a pipe (" + example + ")");
  }
  ::_setmode(::_fileno(stdout), _O_BINARY);
  return stdout;
}

bool stderr_is_console() {
  DWORD mode = 0;
  return ::GetConsoleMode(::GetStdHandle(STD_ERROR_HANDLE), &mode) != 0;
}

namespace {

std::atomic<bool> g_console_stop{false};

const char* console_event_cause(DWORD event) {
  switch (event) {
    case CTRL_BREAK_EVENT:
      return "interrupted by the user (Ctrl+Break)";
    case CTRL_CLOSE_EVENT:
      return "interrupted: the console window was closed";
    case CTRL_LOGOFF_EVENT:
      return "interrupted: the user is logging off";
    case CTRL_SHUTDOWN_EVENT:
      return "interrupted: Windows is shutting down";
    default:
      return nullptr;  // Ctrl+C: "interrupted by the user"
  }
}

}  // namespace

// Runs on a thread of its own that Windows starts for each event.
BOOL WINAPI win32::console_event_handler(DWORD event) {
  if (event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT) {
    if (interrupt_requested()) return FALSE;  // the second one: the default handler exits
    g_console_stop.store(true);
    request_interrupt(console_event_cause(event));
    return TRUE;
  }
  if (event != CTRL_CLOSE_EVENT && event != CTRL_LOGOFF_EVENT && event != CTRL_SHUTDOWN_EVENT) {
    return FALSE;
  }
  DWORD session = 0;
  if (event == CTRL_LOGOFF_EVENT && ::ProcessIdToSessionId(::GetCurrentProcessId(), &session) &&
      session == 0) {
    return TRUE;  // some user logs off; this (scheduled, SYSTEM) run is not theirs
  }
  g_console_stop.store(true);
  request_interrupt(console_event_cause(event));
  // Returning lets Windows end the process at once; waiting here gives the main thread
  // the time Windows allows to abort VSS and exit (the exit ends this thread too).
  ::Sleep(INFINITE);
  return TRUE;
}

void install_interrupt_handlers() {
  ::SetConsoleCtrlHandler(win32::console_event_handler, TRUE);
}

InterruptSignal interrupt_signal() {
  return g_console_stop.load() ? InterruptSignal::interrupt : InterruptSignal::none;
}

void tune_memory() {}

uint64_t peak_rss_bytes() {
  PROCESS_MEMORY_COUNTERS counters{};
  counters.cb = sizeof counters;
  if (!::K32GetProcessMemoryInfo(::GetCurrentProcess(), &counters, sizeof counters)) return 0;
  return counters.PeakWorkingSetSize;
}

}  // namespace vssimg
