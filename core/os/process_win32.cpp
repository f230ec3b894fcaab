#include "core/base/error.hpp"
#include "core/os/process.hpp"
#include "core/os/win32.hpp"

#include <shellapi.h>

namespace vssimg {

int run_shell_command(const std::string& command,
                      const std::vector<std::pair<std::string, std::string>>& env) {
  // Inherited by the child; the variables describe this run, so keeping them is harmless.
  for (const auto& [name, value] : env) {
    ::SetEnvironmentVariableW(win32::widen(name).c_str(), win32::widen(value).c_str());
  }
  wchar_t comspec[MAX_PATH] = {};
  DWORD n = ::GetEnvironmentVariableW(L"ComSpec", comspec, MAX_PATH);
  std::wstring shell = (n > 0 && n < MAX_PATH) ? comspec : L"cmd.exe";
  // /s /c "...": cmd strips exactly the outer quotes, so the user's quoting survives.
  std::wstring line = L"\"" + shell + L"\" /d /s /c \"" + win32::widen(command) + L"\"";
  STARTUPINFOW si{};
  si.cb = sizeof si;
  PROCESS_INFORMATION pi{};
  if (!::CreateProcessW(shell.c_str(), line.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr,
                        &si, &pi)) {
    win32::throw_last_error("running", command, "CreateProcessW");
  }
  win32::UniqueHandle process(pi.hProcess);
  win32::UniqueHandle thread(pi.hThread);
  ::WaitForSingleObject(process.get(), INFINITE);
  DWORD code = 1;
  if (!::GetExitCodeProcess(process.get(), &code)) {
    win32::throw_last_error("running", command, "GetExitCodeProcess");
  }
  return static_cast<int>(code);
}

std::vector<std::string> utf8_arguments(int argc, char** argv) {
  int count = 0;
  LPWSTR* wide = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  if (!wide) return {argv, argv + argc};
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(win32::narrow(wide[i]));
  ::LocalFree(wide);
  return out;
}

std::optional<std::string> utf8_environment_variable(const std::string& name) {
  const std::wstring wide_name = win32::widen(name);
  std::wstring value(256, L'\0');
  for (;;) {
    ::SetLastError(ERROR_SUCCESS);
    DWORD n = ::GetEnvironmentVariableW(wide_name.c_str(), value.data(),
                                        static_cast<DWORD>(value.size()));
    if (n == 0) {
      if (::GetLastError() == ERROR_ENVVAR_NOT_FOUND) return std::nullopt;
      return std::string();
    }
    if (n < value.size()) {
      value.resize(n);
      return win32::narrow(value);
    }
    value.resize(n);  // n is the size needed, with the terminator
  }
}

void use_utf8_console() {
  ::SetConsoleOutputCP(CP_UTF8);
  ::SetConsoleCP(CP_UTF8);
}

}  // namespace vssimg
