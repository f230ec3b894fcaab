// Export: a recovery point as a dynamic VHDX holding a GPT disk whose one partition is
// the volume (docs/export.md). The file is written front to back in one pass, so it can
// go to a pipe: the layout follows from the point's map, then the payload blocks are
// read, checked and decoded by worker threads (as restore does) and appended in order.
#pragma once

#include "core/base/progress.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace vssimg {

// The VHDX payload block size export uses unless told otherwise (docs/export.md:
// the smallest of 1, 2 and 32 MiB wastes the least space and is as fast).
inline constexpr uint32_t k_export_block_size = 1u << 20;

// Where the VHDX goes: bytes are appended in order. `write` gets buffers aligned to
// 4 KiB with lengths that are multiples of 1 MiB.
class ExportSink {
 public:
  virtual ~ExportSink() = default;
  virtual void write(const uint8_t* data, size_t len) = 0;
  // Everything is written: flush it to stable storage (or to the reader of the pipe).
  virtual void finish() = 0;
};

// A sink that also takes writes at any offset, from several threads at once for distinct
// ranges (a file): the workers then write their own blocks where the layout puts them,
// as restore's workers do, and the file still gets every byte once.
class PositionedSink : public ExportSink {
 public:
  virtual void write_at(const uint8_t* data, size_t len, uint64_t offset) = 0;
  // Everything before `end` is written (called in order): a hint for early writeback.
  virtual void written_up_to(uint64_t end) = 0;
};

// A file sink: refuses a directory, a device, and an existing file without `force`
// (Error(usage)); removes the file it wrote unless finish() returned, so that a failed
// export leaves no VHDX that looks complete. Writes past the page cache where the
// platform allows it.
std::unique_ptr<ExportSink> open_export_file(const std::filesystem::path& path, bool force);

struct ExportOptions {
  uint32_t block_size = k_export_block_size;
  unsigned threads = 0;  // 0: all cores
};

struct ExportStats {
  uint64_t volume_bytes = 0;      // the point's size
  uint64_t disk_bytes = 0;        // the virtual disk's size
  uint64_t file_bytes = 0;        // the VHDX file's size
  uint32_t block_size = 0;        // VHDX payload block
  uint64_t blocks_present = 0;    // payload blocks in the file
  uint64_t blocks_zero = 0;       // PAYLOAD_BLOCK_ZERO
  uint64_t blocks_absent = 0;     // PAYLOAD_BLOCK_NOT_PRESENT
  uint64_t bytes_unreadable = 0;  // UNREADABLE blocks of the point, exported as zeros
  uint64_t fallbacks = 0;         // blocks read from a further copy (a warning said so)
  std::string partition_type;     // "basic-data" or "linux-data"
  double seconds = 0;
};

// Exports `point` into `sink` (finish() included). The caller holds a shared store
// lock. A damaged block stops the export with Error(damage) naming the point and the
// volume offset, before finish(). UNREADABLE blocks are exported as zeros, with a warning.
// A block whose first copy fails its check is read from another one (a warning says so
// once); the damage met is added to the store's damage record, on failure too.
ExportStats run_export(const Store& store, const Point& point, ExportSink& sink,
                       const ExportOptions& options, ProgressSink& progress);

}  // namespace vssimg
