#include "core/base/error.hpp"
#include "image/lock_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace vssimg {

std::optional<FileLock> FileLock::try_lock(const std::filesystem::path& path, bool exclusive) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    if (err == EACCES || err == EPERM || err == EROFS) {
      // This user cannot write the store (Storage::lock: readers go on without a lock).
      throw Error(ErrorKind::privilege, "opening lock", path.string(), errno_text(err));
    }
    throw_errno("opening lock", path.string(), err);
  }
  if (::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK) throw_errno("locking", path.string(), err);
    return std::nullopt;
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (m_handle >= 0) ::close(static_cast<int>(m_handle));
}

FileLock::FileLock(FileLock&& other) noexcept : m_handle(std::exchange(other.m_handle, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_handle >= 0) ::close(static_cast<int>(m_handle));
    m_handle = std::exchange(other.m_handle, -1);
  }
  return *this;
}

}  // namespace vssimg
