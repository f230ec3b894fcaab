// Store locks (docs/format.md, "Locks"). OS locks (flock / LockFileEx) vanish with their
// process, so a killed vssimg never leaves a lock behind; info files name the holder.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

enum class LockMode { shared, exclusive };

class StoreLock {
 public:
  // Takes locks/store.lock in `mode` and, if `writer`, locks/writer.lock exclusively.
  // Never waits: throws Error(store_locked) naming the holders when refused.
  StoreLock(const std::filesystem::path& store_root, LockMode mode, bool writer,
            const std::string& command);
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Holder descriptions from locks/*.info ("backup (pid 42 on srv1, since 2026-11-25 01:00:03)");
// removes info files of dead processes on this host. Shared by the platform lock code.
std::vector<std::string> describe_lock_holders(const std::filesystem::path& store_root);
// Writes this process's info file; returns its path.
std::filesystem::path write_lock_info(const std::filesystem::path& store_root,
                                      const std::string& command);

}  // namespace vssimg
