// The file or device a restore writes to. It owns the refusal rules for opening it, the
// two write paths (past the page cache where the platform allows it, through it
// otherwise), early writeback and the final flush, and it is the guard that removes a
// partial target: a file it created is removed unless finish() completed.
#pragma once

#include "core/os/file.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace vssimg {

class RestoreTarget {
 public:
  // Opens `path` for a point of `size` bytes. Throws Error(usage) for a directory, a
  // device in use (it or a partition of it mounted, or an LVM, md or device-mapper
  // device built on it: block_device_user, then an exclusive open), a device smaller
  // than `size`, and, without `force`, for any device or an existing file. An existing
  // file is truncated, so that blocks the restore skips become holes and not stale
  // data; a missing one is created. "-" (or /dev/stdout) is standard output: a stream
  // written in order, every block (zeros too), refused when it is a console.
  static bool is_stdout_name(const std::filesystem::path& path);
  RestoreTarget(const std::filesystem::path& path, uint64_t size, bool force);
  // Unless finish() returned: closes the handles and removes the file if this object
  // created it, so that a failed restore never leaves a file that looks complete but is
  // wrong. An existing file or a device given with --force stays (it was overwritten).
  ~RestoreTarget();
  RestoreTarget(const RestoreTarget&) = delete;
  RestoreTarget& operator=(const RestoreTarget&) = delete;

  bool is_device() const { return m_is_device; }
  // Standard output: every block must be written, in volume order (write() holds back
  // blocks that arrive early until the ones before them are written).
  bool is_stream() const { return m_stream != nullptr; }
  // True while writes go past the page cache (Linux: O_DIRECT). Turns false for good at
  // the first direct write that fails, e.g. on a device with sectors over 4 KiB.
  bool direct() const { return m_direct_ok.load(std::memory_order_relaxed); }

  // Writes `len` bytes at `offset`; callers may write distinct ranges concurrently. The
  // aligned head of the range goes past the page cache when direct() and the offset and
  // buffer address are aligned (File::k_direct_alignment); the unaligned tail, and all
  // of it otherwise, through the page cache.
  void write(const uint8_t* data, size_t len, uint64_t offset);
  // Hint that [offset, offset+len) is written: the kernel may start writing it to disk,
  // so that the flush in finish() overlaps with the restore instead of following it.
  void start_writeback(uint64_t offset, uint64_t len) {
    if (!m_stream) m_file.start_writeback(offset, len);
  }
  // Gives a file its final `size` (a device keeps its own), flushes whichever handle
  // wrote and closes. Only after it returns does the target stay when this is destroyed.
  void finish(uint64_t size);

  // Bytes written past the page cache so far.
  uint64_t bytes_unbuffered() const { return m_unbuffered.load(); }

 private:
  std::filesystem::path m_path;
  bool m_is_device = false;
  bool m_created = false;
  bool m_finished = false;
  File m_file;                   // buffered handle: the tails, the fallback, the flush
  std::optional<File> m_direct;  // O_DIRECT handle, if the platform and filesystem allow it
  std::atomic<bool> m_direct_ok{false};
  std::atomic<uint64_t> m_unbuffered{0};
  // Standard output (is_stream): the next offset to write and the blocks held back.
  void write_stream(const uint8_t* data, size_t len, uint64_t offset);
  std::FILE* m_stream = nullptr;
  std::mutex m_stream_mutex;
  uint64_t m_stream_pos = 0;
  std::map<uint64_t, std::vector<uint8_t>> m_early;
};

}  // namespace vssimg
