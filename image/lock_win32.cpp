// LockFileEx on the same lock files as the POSIX flock version. Like flock, the lock
// belongs to the open handle and vanishes with the process.
#include "core/base/error.hpp"
#include "core/os/win32.hpp"
#include "image/lock_file.hpp"

#include <utility>

namespace vssimg {

namespace {
HANDLE handle_of(intptr_t h) {
  return reinterpret_cast<HANDLE>(h);
}
}  // namespace

std::optional<FileLock> FileLock::try_lock(const std::filesystem::path& path, bool exclusive) {
  win32::UniqueHandle h(::CreateFileW(win32::api_path(path).c_str(), GENERIC_READ | GENERIC_WRITE,
                                      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                      nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!h.valid()) {
    const DWORD err = ::GetLastError();
    // This user cannot write the store (Storage::lock: readers go on without a lock).
    const bool denied = err == ERROR_ACCESS_DENIED || err == ERROR_WRITE_PROTECT;
    win32::throw_win32("opening lock", win32::utf8_path(path), "CreateFileW", err,
                       denied ? ErrorKind::privilege : ErrorKind::failure);
  }
  OVERLAPPED ov{};
  DWORD flags = LOCKFILE_FAIL_IMMEDIATELY | (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
  // Lock one byte far beyond any content: the region need not exist in the file.
  if (!::LockFileEx(h.get(), flags, 0, 1, 0, &ov)) {
    DWORD err = ::GetLastError();
    if (err != ERROR_LOCK_VIOLATION && err != ERROR_SHARING_VIOLATION && err != ERROR_IO_PENDING) {
      win32::throw_win32("locking", win32::utf8_path(path), "LockFileEx", err);
    }
    return std::nullopt;
  }
  return FileLock(reinterpret_cast<intptr_t>(h.release()));
}

FileLock::~FileLock() {
  if (m_handle != -1) ::CloseHandle(handle_of(m_handle));  // releases the byte-range lock
}

FileLock::FileLock(FileLock&& other) noexcept : m_handle(std::exchange(other.m_handle, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_handle != -1) ::CloseHandle(handle_of(m_handle));
    m_handle = std::exchange(other.m_handle, -1);
  }
  return *this;
}

}  // namespace vssimg
