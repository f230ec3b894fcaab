// Store locks (docs/format.md, "Locks"): backup, verify, restore, list and show hold the
// store lock shared, forget, prune and repair exclusively; a backup also holds the writer
// lock. How a lock is held is the storage's (Storage::lock); what a holder records about
// itself, and when a record is stale, is here.
#pragma once

#include "image/storage.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

class StoreLock {
 public:
  // Storage::lock: never waits; throws Error(store_locked) naming the holders when refused.
  StoreLock(const Storage& storage, LockMode mode, bool writer, const std::string& command);
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

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
