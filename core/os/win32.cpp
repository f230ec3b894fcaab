#include "core/os/win32.hpp"

#include <fmt/format.h>

#include <cwchar>

namespace vssimg::win32 {

std::wstring widen(std::string_view utf8) {
  if (utf8.empty()) return {};
  int n = ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

std::string narrow(std::wstring_view wide) {
  if (wide.empty()) return {};
  int n = ::WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), nullptr, 0,
                                nullptr, nullptr);
  std::string out(static_cast<size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), out.data(), n,
                        nullptr, nullptr);
  return out;
}

std::string utf8_path(const std::filesystem::path& path) {
  return narrow(path.native());
}

std::wstring api_path(const std::filesystem::path& path) {
  const std::wstring& p = path.native();
  if (p.size() < MAX_PATH - 12 || p.rfind(L"\\\\?\\", 0) == 0 || p.rfind(L"\\\\.\\", 0) == 0)
    return p;
  if (!path.is_absolute()) return p;
  std::wstring normal = path.lexically_normal().native();
  for (auto& c : normal) {
    if (c == L'/') c = L'\\';
  }
  if (normal.rfind(L"\\\\", 0) == 0) return L"\\\\?\\UNC\\" + normal.substr(2);
  return L"\\\\?\\" + normal;
}

const char* win32_error_name(DWORD code) {
  switch (code) {
#define VSSIMG_WIN32_ERROR(name) \
  case name:                     \
    return #name;
    VSSIMG_WIN32_ERROR(ERROR_SUCCESS)
    VSSIMG_WIN32_ERROR(ERROR_INVALID_FUNCTION)
    VSSIMG_WIN32_ERROR(ERROR_FILE_NOT_FOUND)
    VSSIMG_WIN32_ERROR(ERROR_PATH_NOT_FOUND)
    VSSIMG_WIN32_ERROR(ERROR_TOO_MANY_OPEN_FILES)
    VSSIMG_WIN32_ERROR(ERROR_ACCESS_DENIED)
    VSSIMG_WIN32_ERROR(ERROR_INVALID_HANDLE)
    VSSIMG_WIN32_ERROR(ERROR_NOT_ENOUGH_MEMORY)
    VSSIMG_WIN32_ERROR(ERROR_OUTOFMEMORY)
    VSSIMG_WIN32_ERROR(ERROR_INVALID_DRIVE)
    VSSIMG_WIN32_ERROR(ERROR_WRITE_PROTECT)
    VSSIMG_WIN32_ERROR(ERROR_NOT_READY)
    VSSIMG_WIN32_ERROR(ERROR_CRC)
    VSSIMG_WIN32_ERROR(ERROR_SECTOR_NOT_FOUND)
    VSSIMG_WIN32_ERROR(ERROR_WRITE_FAULT)
    VSSIMG_WIN32_ERROR(ERROR_READ_FAULT)
    VSSIMG_WIN32_ERROR(ERROR_GEN_FAILURE)
    VSSIMG_WIN32_ERROR(ERROR_SHARING_VIOLATION)
    VSSIMG_WIN32_ERROR(ERROR_LOCK_VIOLATION)
    VSSIMG_WIN32_ERROR(ERROR_HANDLE_EOF)
    VSSIMG_WIN32_ERROR(ERROR_HANDLE_DISK_FULL)
    VSSIMG_WIN32_ERROR(ERROR_NOT_SUPPORTED)
    VSSIMG_WIN32_ERROR(ERROR_BAD_NETPATH)
    VSSIMG_WIN32_ERROR(ERROR_NETWORK_ACCESS_DENIED)
    VSSIMG_WIN32_ERROR(ERROR_BAD_NET_NAME)
    VSSIMG_WIN32_ERROR(ERROR_FILE_EXISTS)
    VSSIMG_WIN32_ERROR(ERROR_INVALID_PARAMETER)
    VSSIMG_WIN32_ERROR(ERROR_BROKEN_PIPE)
    VSSIMG_WIN32_ERROR(ERROR_DISK_FULL)
    VSSIMG_WIN32_ERROR(ERROR_INSUFFICIENT_BUFFER)
    VSSIMG_WIN32_ERROR(ERROR_INVALID_NAME)
    VSSIMG_WIN32_ERROR(ERROR_DIR_NOT_EMPTY)
    VSSIMG_WIN32_ERROR(ERROR_ALREADY_EXISTS)
    VSSIMG_WIN32_ERROR(ERROR_FILENAME_EXCED_RANGE)
    VSSIMG_WIN32_ERROR(ERROR_MORE_DATA)
    VSSIMG_WIN32_ERROR(ERROR_OPERATION_ABORTED)
    VSSIMG_WIN32_ERROR(ERROR_IO_PENDING)
    VSSIMG_WIN32_ERROR(ERROR_NOACCESS)
    VSSIMG_WIN32_ERROR(ERROR_IO_DEVICE)
    VSSIMG_WIN32_ERROR(ERROR_DEVICE_NOT_CONNECTED)
    VSSIMG_WIN32_ERROR(ERROR_PRIVILEGE_NOT_HELD)
    VSSIMG_WIN32_ERROR(ERROR_CANT_ACCESS_FILE)
    VSSIMG_WIN32_ERROR(ERROR_DIRECTORY)
    VSSIMG_WIN32_ERROR(ERROR_UNRECOGNIZED_VOLUME)
    VSSIMG_WIN32_ERROR(ERROR_INVALID_USER_BUFFER)
#undef VSSIMG_WIN32_ERROR
    default:
      return "";
  }
}

const char* hresult_name(HRESULT hr) {
  switch (static_cast<uint32_t>(hr)) {
    case 0x00000000u:
      return "S_OK";
    case 0x00000001u:
      return "S_FALSE";
    case 0x80004001u:
      return "E_NOTIMPL";
    case 0x80004002u:
      return "E_NOINTERFACE";
    case 0x80004003u:
      return "E_POINTER";
    case 0x80004004u:
      return "E_ABORT";
    case 0x80004005u:
      return "E_FAIL";
    case 0x8000FFFFu:
      return "E_UNEXPECTED";
    case 0x80070005u:
      return "E_ACCESSDENIED";
    case 0x8007000Eu:
      return "E_OUTOFMEMORY";
    case 0x80070057u:
      return "E_INVALIDARG";
    case 0x80010106u:
      return "RPC_E_CHANGED_MODE";
    case 0x80010119u:
      return "RPC_E_TOO_LATE";
    case 0x800401F0u:
      return "CO_E_NOTINITIALIZED";
    default:
      break;
  }
  if (HRESULT_FACILITY(hr) == FACILITY_WIN32) return win32_error_name(HRESULT_CODE(hr));
  return "";
}

std::string system_message(DWORD code) {
  wchar_t* text = nullptr;
  auto fetch = [&](DWORD lang) {
    return ::FormatMessageW(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
        nullptr, code, lang, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  };
  DWORD n = fetch(MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US));
  if (n == 0) n = fetch(0);
  if (n == 0 || text == nullptr) return "unknown error";
  std::wstring w(text, n);
  ::LocalFree(text);
  while (!w.empty() &&
         (w.back() == L'\r' || w.back() == L'\n' || w.back() == L' ' || w.back() == L'.')) {
    w.pop_back();
  }
  return narrow(w);
}

std::string describe_win32_error(std::string_view api, DWORD code) {
  const char* name = win32_error_name(code);
  if (*name) return fmt::format("{}: {} (0x{:X}): {}", api, name, code, system_message(code));
  return fmt::format("{}: Win32 error {} (0x{:X}): {}", api, code, code, system_message(code));
}

std::string describe_hresult(std::string_view api, HRESULT hr) {
  const char* name = hresult_name(hr);
  auto code = static_cast<uint32_t>(hr);
  if (*name) return fmt::format("{}: {} (0x{:08X}): {}", api, name, code, system_message(code));
  return fmt::format("{}: HRESULT 0x{:08X}: {}", api, code, system_message(code));
}

void throw_win32(const std::string& operation, const std::string& object, std::string_view api,
                 DWORD code, ErrorKind kind) {
  throw Error(kind, operation, object, describe_win32_error(api, code));
}

void throw_last_error(const std::string& operation, const std::string& object, std::string_view api,
                      ErrorKind kind) {
  throw_win32(operation, object, api, ::GetLastError(), kind);
}

}  // namespace vssimg::win32
