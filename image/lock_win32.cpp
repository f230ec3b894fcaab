// Store locks on Windows: LockFileEx on the same lock files as the POSIX flock version.
// Like flock, the lock belongs to the open handle and vanishes with the process.
#include "core/base/error.hpp"
#include "core/os/win32.hpp"
#include "image/lock.hpp"

#include <system_error>

namespace vssimg {

namespace fs = std::filesystem;

struct StoreLock::Impl {
  win32::UniqueHandle store_lock;
  win32::UniqueHandle writer_lock;
  fs::path info;
  ~Impl() {
    if (!info.empty()) {
      std::error_code ec;
      fs::remove(info, ec);
    }
    // Closing the handles releases the byte-range locks.
  }
};

namespace {

win32::UniqueHandle lock_file(const fs::path& path, bool exclusive, const fs::path& root) {
  win32::UniqueHandle h(::CreateFileW(win32::api_path(path).c_str(), GENERIC_READ | GENERIC_WRITE,
                                      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                      nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!h.valid()) win32::throw_last_error("opening lock", win32::utf8_path(path), "CreateFileW");
  OVERLAPPED ov{};
  DWORD flags = LOCKFILE_FAIL_IMMEDIATELY | (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
  // Lock one byte far beyond any content: the region need not exist in the file.
  if (!::LockFileEx(h.get(), flags, 0, 1, 0, &ov)) {
    DWORD err = ::GetLastError();
    if (err != ERROR_LOCK_VIOLATION && err != ERROR_SHARING_VIOLATION && err != ERROR_IO_PENDING) {
      win32::throw_win32("locking", win32::utf8_path(path), "LockFileEx", err);
    }
    auto holders = describe_lock_holders(root);
    std::string who = holders.empty() ? "another process" : holders.front();
    for (size_t i = 1; i < holders.size(); ++i) who += ", " + holders[i];
    throw Error(ErrorKind::store_locked, "locking store", win32::utf8_path(root),
                "in use by " + who);
  }
  return h;
}

}  // namespace

StoreLock::StoreLock(const fs::path& store_root, LockMode mode, bool writer,
                     const std::string& command)
    : m_impl(std::make_unique<Impl>()) {
  auto locks = store_root / "locks";
  if (writer) m_impl->writer_lock = lock_file(locks / "writer.lock", true, store_root);
  m_impl->store_lock = lock_file(locks / "store.lock", mode == LockMode::exclusive, store_root);
  describe_lock_holders(store_root);  // removes info files left by dead processes
  m_impl->info = write_lock_info(store_root, command);
}

StoreLock::~StoreLock() = default;

}  // namespace vssimg
