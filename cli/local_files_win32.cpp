#include "cli/local_files.hpp"

#include "core/base/error.hpp"
#include "core/os/win32.hpp"

namespace vssimg::cli {

namespace {
constexpr int64_t k_filetime_unix_epoch = 116444736000000000LL;

FILETIME to_filetime(int64_t ns) {
  const auto t = static_cast<uint64_t>(ns / 100 + k_filetime_unix_epoch);
  FILETIME ft;
  ft.dwLowDateTime = static_cast<DWORD>(t & 0xFFFFFFFF);
  ft.dwHighDateTime = static_cast<DWORD>(t >> 32);
  return ft;
}
}  // namespace

void set_file_times(const std::filesystem::path& path, int64_t accessed_ns, int64_t modified_ns) {
  // FILE_FLAG_BACKUP_SEMANTICS opens directories too.
  const std::string name = win32::utf8_path(path);
  win32::UniqueHandle h(CreateFileW(win32::api_path(path).c_str(), FILE_WRITE_ATTRIBUTES,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                                    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!h.valid()) win32::throw_last_error("setting the times of", name, "CreateFileW");
  FILETIME a = to_filetime(accessed_ns), m = to_filetime(modified_ns);
  if (!SetFileTime(h.get(), nullptr, accessed_ns ? &a : nullptr, modified_ns ? &m : nullptr))
    win32::throw_last_error("setting the times of", name, "SetFileTime");
}

bool local_name_char_ok(char c) {
  return c != '/' && c != '\\' && c != ':' && c != '\0';
}

}  // namespace vssimg::cli
