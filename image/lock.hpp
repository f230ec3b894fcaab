// Store locks (docs/format.md, "Locks"): backup, verify, restore, list and show hold the
// store lock shared, forget, prune and repair exclusively; backups hold the writer lock
// shared (they run side by side), heal and repair exclusively. How a lock is held is the
// storage's (Storage::lock); waiting for it, what a holder records about itself, and when
// a record is stale, is here.
#pragma once

#include "image/storage.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

struct LockOptions {
  // How long to wait for conflicting holders before Error(store_locked); 0: refuse at once.
  double wait_seconds = 0;
  // A store this user cannot write is used without a lock (a reader's); else Error(privilege).
  bool read_only_ok = false;
  // Called with one line when the lock must be waited for (once) or is not taken.
  std::function<void(const std::string&)> note;
};

class StoreLock {
 public:
  // Storage::lock, retried every half second for up to options.wait_seconds while it is
  // refused; then throws Error(store_locked) naming the holders.
  StoreLock(const Storage& storage, LockMode mode, WriterLock writer, const std::string& command,
            const LockOptions& options = {});
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  // The store cannot be written by this user: no lock is held (LockOptions::read_only_ok).
  bool read_only() const { return !m_lock; }

 private:
  std::unique_ptr<StorageLock> m_lock;
};

// What a lock holder records about itself (a lock info object, `key=value` lines).
struct LockHolder {
  std::string command;
  std::string host;
  uint64_t pid = 0;
  int64_t started = 0;  // Unix seconds
};

LockHolder this_process(const std::string& command);
std::string encode_lock_info(const LockHolder& holder);
// Parses an info object named `name` (<host>-<pid>). An empty or cut one (its writer was
// killed before it finished) still names its owner through `name`.
LockHolder decode_lock_info(const std::string& text, const std::string& name);
// The name of this process's info object: <host>-<pid>.
std::string lock_info_name(const LockHolder& holder);

// Descriptions of the other holders ("backup (pid 42 on srv1, since 2026-11-25 01:00:03)"),
// from the storage's lock info objects. Removes the info of dead processes on this host
// (an info of another host is never judged: its pid means nothing here).
std::vector<std::string> describe_lock_holders(const Storage& storage);

// Throws Error(store_locked) naming the holders of the storage's locks.
[[noreturn]] void throw_store_locked(const Storage& storage);

}  // namespace vssimg
