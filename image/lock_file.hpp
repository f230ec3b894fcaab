// An OS lock on one local file (flock / LockFileEx) for the local storage's store and
// writer locks. Like the process's handles, it vanishes when the process dies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

namespace vssimg {

class FileLock {
 public:
  // Locks `path` (created if missing), shared or exclusive, without waiting. Empty when a
  // conflicting lock is held (by another process, or another handle of this one); throws
  // Error on any other failure.
  static std::optional<FileLock> try_lock(const std::filesystem::path& path, bool exclusive);
  ~FileLock();
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(intptr_t handle) : m_handle(handle) {}
  intptr_t m_handle = -1;  // fd or HANDLE; closing it releases the lock
};

}  // namespace vssimg
