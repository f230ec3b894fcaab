// The one place that includes <windows.h> (lean, without min/max macros), plus the
// helpers every *_win32.cpp file shares: UTF-8 <-> UTF-16 conversion, an owning HANDLE,
// and Win32 error / HRESULT formatting as "API: SYMBOLIC (0x...): message".
// Included only by Windows-only translation units.
#pragma once

#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "core/base/error.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

namespace vssimg::win32 {

// UTF-8 -> UTF-16 and back. Invalid input is replaced (U+FFFD), never thrown on.
std::wstring widen(std::string_view utf8);
std::string narrow(std::wstring_view wide);
// A path as UTF-8 for messages (std::filesystem::path::string() uses the ANSI code page).
std::string utf8_path(const std::filesystem::path& path);
// The path to hand to a wide API: absolute paths longer than MAX_PATH get the \\?\ (or
// \\?\UNC\) prefix so that deep store folders keep working.
std::wstring api_path(const std::filesystem::path& path);

// The console control handler install_interrupt_handlers() registers: Ctrl+C and
// Ctrl+Break request an interrupt; close, logoff (outside session 0) and shutdown do too
// and then hold the handler's thread so that the main thread can abort VSS before Windows
// ends the process. Windows calls it on a thread of its own; tests call it the same way.
BOOL WINAPI console_event_handler(DWORD event);

// Symbolic name of a Win32 error ("ERROR_ACCESS_DENIED") or "" when not in our table.
const char* win32_error_name(DWORD code);
// System message text for a Win32 error or HRESULT, English when available, trimmed.
std::string system_message(DWORD code);
// "CreateFileW: ERROR_ACCESS_DENIED (0x5): Access is denied"
std::string describe_win32_error(std::string_view api, DWORD code);
// "CoInitializeEx: RPC_E_CHANGED_MODE (0x80010106): ..." — Win32 errors wrapped in an
// HRESULT (facility 7) use the Win32 table. VSS codes are named by vss/ on top of this.
std::string describe_hresult(std::string_view api, HRESULT hr);
const char* hresult_name(HRESULT hr);

// Throws Error(kind, operation, object, describe_win32_error(api, code)). Access denied
// maps to ErrorKind::privilege only where the caller asks for it.
[[noreturn]] void throw_win32(const std::string& operation, const std::string& object,
                              std::string_view api, DWORD code,
                              ErrorKind kind = ErrorKind::failure);
[[noreturn]] void throw_last_error(const std::string& operation, const std::string& object,
                                   std::string_view api, ErrorKind kind = ErrorKind::failure);

// An owning kernel HANDLE (INVALID_HANDLE_VALUE or null means none). Move-only.
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(HANDLE h) : m_handle(h) {}
  ~UniqueHandle() { reset(); }
  UniqueHandle(UniqueHandle&& o) noexcept
      : m_handle(std::exchange(o.m_handle, INVALID_HANDLE_VALUE)) {}
  UniqueHandle& operator=(UniqueHandle&& o) noexcept {
    if (this != &o) {
      reset();
      m_handle = std::exchange(o.m_handle, INVALID_HANDLE_VALUE);
    }
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;

  HANDLE get() const { return m_handle; }
  bool valid() const { return m_handle != INVALID_HANDLE_VALUE && m_handle != nullptr; }
  HANDLE release() { return std::exchange(m_handle, INVALID_HANDLE_VALUE); }
  void reset(HANDLE h = INVALID_HANDLE_VALUE) {
    if (valid()) ::CloseHandle(m_handle);
    m_handle = h;
  }

 private:
  HANDLE m_handle = INVALID_HANDLE_VALUE;
};

}  // namespace vssimg::win32
