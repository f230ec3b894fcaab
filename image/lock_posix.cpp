#include "core/base/error.hpp"
#include "image/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace vssimg {

namespace fs = std::filesystem;

struct StoreLock::Impl {
  int store_fd = -1;
  int writer_fd = -1;
  fs::path info;
  ~Impl() {
    if (!info.empty()) {
      std::error_code ec;
      fs::remove(info, ec);
    }
    if (writer_fd >= 0) ::close(writer_fd);
    if (store_fd >= 0) ::close(store_fd);
  }
};

namespace {
int lock_file(const fs::path& path, int op, const fs::path& root) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("opening lock", path.string(), errno);
  if (::flock(fd, op | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK) throw_errno("locking", path.string(), err);
    auto holders = describe_lock_holders(root);
    std::string who = holders.empty() ? "another process" : holders.front();
    for (size_t i = 1; i < holders.size(); ++i) who += ", " + holders[i];
    throw Error(ErrorKind::store_locked, "locking store", root.string(), "in use by " + who);
  }
  return fd;
}
}  // namespace

StoreLock::StoreLock(const fs::path& store_root, LockMode mode, bool writer,
                     const std::string& command)
    : m_impl(std::make_unique<Impl>()) {
  auto locks = store_root / "locks";
  if (writer) m_impl->writer_fd = lock_file(locks / "writer.lock", LOCK_EX, store_root);
  m_impl->store_fd =
      lock_file(locks / "store.lock", mode == LockMode::exclusive ? LOCK_EX : LOCK_SH, store_root);
  describe_lock_holders(store_root);  // removes info files left by dead processes
  m_impl->info = write_lock_info(store_root, command);
}

StoreLock::~StoreLock() = default;

}  // namespace vssimg
