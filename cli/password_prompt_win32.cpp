// The console password prompt on Windows: CONIN$ with ENABLE_ECHO_INPUT cleared.
#include "cli/password.hpp"
#include "core/os/win32.hpp"

#include <string>

namespace vssimg::cli {

std::optional<std::string> prompt_password(const std::string& prompt) {
  HANDLE in = ::CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, nullptr,
                            OPEN_EXISTING, 0, nullptr);
  if (in == INVALID_HANDLE_VALUE) return std::nullopt;
  DWORD mode = 0;
  if (!::GetConsoleMode(in, &mode) ||
      ::GetFileType(::GetStdHandle(STD_INPUT_HANDLE)) != FILE_TYPE_CHAR) {
    ::CloseHandle(in);
    return std::nullopt;
  }
  HANDLE out = ::CreateFileW(L"CONOUT$", GENERIC_WRITE, FILE_SHARE_WRITE, nullptr, OPEN_EXISTING, 0,
                             nullptr);
  std::wstring wprompt = win32::widen(prompt);
  DWORD written = 0;
  if (out != INVALID_HANDLE_VALUE) {
    ::WriteConsoleW(out, wprompt.data(), static_cast<DWORD>(wprompt.size()), &written, nullptr);
  }
  ::SetConsoleMode(in, (mode & ~static_cast<DWORD>(ENABLE_ECHO_INPUT)) | ENABLE_LINE_INPUT);
  std::wstring line;
  wchar_t buf[256];
  DWORD got = 0;
  while (line.size() < 4096 && ::ReadConsoleW(in, buf, 256, &got, nullptr) && got > 0) {
    line.append(buf, got);
    if (line.find(L'\n') != std::wstring::npos) break;
  }
  ::SetConsoleMode(in, mode);
  if (out != INVALID_HANDLE_VALUE) {
    ::WriteConsoleW(out, L"\r\n", 2, &written, nullptr);
    ::CloseHandle(out);
  }
  ::CloseHandle(in);
  line = line.substr(0, line.find_first_of(L"\r\n"));
  return win32::narrow(line);
}

}  // namespace vssimg::cli
