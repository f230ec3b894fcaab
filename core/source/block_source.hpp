// Something to image: an image file, a block device, or (Windows) a volume or shadow
// copy device. Implementations: block_source_posix.cpp, block_source_win32.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace vssimg {

// A run of a source that is all data or all hole (a never-written range of a sparse image
// file: it reads as zeros). `end` is where the run ends (> the asked offset, <= size()).
struct SourceRun {
  bool hole = false;
  uint64_t end = 0;
};

class BlockSource {
 public:
  virtual ~BlockSource() = default;
  // Name for messages and the point header ("/dev/sdb1", "disk.img", "C:").
  virtual std::string name() const = 0;
  virtual uint64_t size() const = 0;
  // Offsets, lengths and buffers of read_at must be multiples of this (unbuffered I/O).
  virtual uint32_t alignment() const { return 1; }
  // Reads exactly len bytes at offset (len may end at size()). Throws Error on an I/O
  // error, naming the source and the offset. Must be safe to call from several threads
  // at once (the backup workers read in parallel): positioned reads only, no shared
  // file position or unguarded scratch buffer.
  virtual void read_at(void* buf, size_t len, uint64_t offset) = 0;
  // Hint: the caller is about to read [offset, offset+len) in order.
  virtual void will_read(uint64_t offset, uint64_t len) {
    (void)offset;
    (void)len;
  }
  // The run that holds `offset` (< size()). Image files answer from the filesystem
  // (SEEK_DATA/SEEK_HOLE; FSCTL_QUERY_ALLOCATED_RANGES on Windows sparse files), so a
  // backup records holes as ZERO without reading them; others say: data to the end.
  // Called by one thread at a time (the backup's producer); throws no I/O errors (an
  // answer it cannot get is "data").
  virtual SourceRun run_at(uint64_t offset) {
    (void)offset;
    return SourceRun{false, size()};
  }
  // True for block devices and volumes, false for regular files.
  virtual bool is_device() const { return false; }
};

// Opens a file or block device read-only. Refuses directories and empty sources with
// an Error naming the path. On Windows also accepts \\.\X: and \\?\GLOBALROOT\... paths.
std::unique_ptr<BlockSource> open_block_source(const std::string& path);

}  // namespace vssimg
