// The Application event log through the classic API: RegisterEventSourceW / ReportEventW
// / DeregisterEventSource, and the source's registry key for install/uninstall.
#include "cli/event_log.hpp"

#include "core/os/win32.hpp"

namespace vssimg::cli {

namespace {

constexpr const wchar_t* k_key_path =
    L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\vssimg";
// The message file .NET's EventLog.CreateEventSource / New-EventLog register by default:
// every event id is the format string "%1", so the event shows our text as is.
constexpr const wchar_t* k_message_file =
    L"%SystemRoot%\\Microsoft.NET\\Framework64\\v4.0.30319\\EventLogMessages.dll";
constexpr DWORD k_event_id = 1000;

struct RegKey {
  HKEY key = nullptr;
  ~RegKey() {
    if (key) ::RegCloseKey(key);
  }
};

ErrorKind kind_for(LSTATUS status) {
  return status == ERROR_ACCESS_DENIED ? ErrorKind::privilege : ErrorKind::failure;
}

bool message_file_exists() {
  wchar_t expanded[MAX_PATH * 2];
  DWORD n = ::ExpandEnvironmentStringsW(k_message_file, expanded, MAX_PATH * 2);
  if (n == 0 || n > MAX_PATH * 2) return false;
  DWORD attrs = ::GetFileAttributesW(expanded);
  return attrs != INVALID_FILE_ATTRIBUTES && !(attrs & FILE_ATTRIBUTE_DIRECTORY);
}

}  // namespace

bool event_log_available() {
  return true;
}

void write_event(EventLevel level, const std::string& text) {
  // RegisterEventSourceW succeeds for any name; an unregistered source would write
  // events that Event Viewer cannot attribute, so the key is checked first.
  RegKey key;
  LSTATUS st = ::RegOpenKeyExW(HKEY_LOCAL_MACHINE, k_key_path, 0, KEY_READ, &key.key);
  if (st == ERROR_FILE_NOT_FOUND) {
    throw Error(
        "writing to the event log", k_event_source,
        "the event source is not registered; run `vssimg eventlog install` as administrator");
  }
  if (st != ERROR_SUCCESS)
    win32::throw_win32("writing to the event log", k_event_source_key, "RegOpenKeyExW",
                       static_cast<DWORD>(st));

  HANDLE source = ::RegisterEventSourceW(nullptr, L"vssimg");
  if (!source)
    win32::throw_last_error("writing to the event log", k_event_source, "RegisterEventSourceW");
  const WORD type = level == EventLevel::information ? EVENTLOG_INFORMATION_TYPE
                    : level == EventLevel::warning   ? EVENTLOG_WARNING_TYPE
                                                     : EVENTLOG_ERROR_TYPE;
  std::wstring wide = win32::widen(text);
  if (wide.size() > 31000) wide.resize(31000);  // one insertion string is limited to 31839 chars
  const wchar_t* strings[1] = {wide.c_str()};
  BOOL ok = ::ReportEventW(source, type, 0, k_event_id, nullptr, 1, 0, strings, nullptr);
  DWORD err = ok ? ERROR_SUCCESS : ::GetLastError();
  ::DeregisterEventSource(source);
  if (!ok) win32::throw_win32("writing to the event log", k_event_source, "ReportEventW", err);
}

EventSourceInstall install_event_source() {
  EventSourceInstall result;
  RegKey key;
  DWORD disposition = 0;
  LSTATUS st = ::RegCreateKeyExW(HKEY_LOCAL_MACHINE, k_key_path, 0, nullptr, 0, KEY_SET_VALUE,
                                 nullptr, &key.key, &disposition);
  if (st != ERROR_SUCCESS) {
    win32::throw_win32("installing the event source", k_event_source_key, "RegCreateKeyExW",
                       static_cast<DWORD>(st), kind_for(st));
  }
  result.existed = disposition == REG_OPENED_EXISTING_KEY;
  const DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;  // 7
  st = ::RegSetValueExW(key.key, L"TypesSupported", 0, REG_DWORD,
                        reinterpret_cast<const BYTE*>(&types), sizeof(types));
  if (st != ERROR_SUCCESS) {
    win32::throw_win32("installing the event source", k_event_source_key, "RegSetValueExW",
                       static_cast<DWORD>(st), kind_for(st));
  }
  if (message_file_exists()) {
    const std::wstring file = k_message_file;
    st = ::RegSetValueExW(key.key, L"EventMessageFile", 0, REG_EXPAND_SZ,
                          reinterpret_cast<const BYTE*>(file.c_str()),
                          static_cast<DWORD>((file.size() + 1) * sizeof(wchar_t)));
    if (st != ERROR_SUCCESS) {
      win32::throw_win32("installing the event source", k_event_source_key, "RegSetValueExW",
                         static_cast<DWORD>(st), kind_for(st));
    }
    result.message_file = win32::narrow(file);
  }
  return result;
}

bool uninstall_event_source() {
  LSTATUS st = ::RegDeleteKeyW(HKEY_LOCAL_MACHINE, k_key_path);
  if (st == ERROR_FILE_NOT_FOUND) return false;
  if (st != ERROR_SUCCESS) {
    win32::throw_win32("uninstalling the event source", k_event_source_key, "RegDeleteKeyW",
                       static_cast<DWORD>(st), kind_for(st));
  }
  return true;
}

}  // namespace vssimg::cli
