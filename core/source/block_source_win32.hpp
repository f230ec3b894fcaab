// Windows-only parts of the block source: volume name resolution (shared with vss/)
// and an opener with a test seam. Included only by *_win32.cpp files and Windows tests.
#pragma once

#include "core/source/block_source.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace vssimg::win32 {

// What a source string names on Windows.
struct ResolvedSource {
  bool is_volume = false;    // a volume (drive letter, mount folder, \\?\Volume{GUID}\)
  bool is_device = false;    // opened as a device (volumes, \\.\..., \\?\GLOBALROOT\...)
  std::wstring open_path;    // what CreateFileW gets (no trailing backslash for devices)
  std::wstring volume_name;  // \\?\Volume{GUID}\ (with the trailing backslash) for volumes
};

// Resolves "C:", "C:\", "D:\mnt\data" (a mount folder), "\\?\Volume{GUID}\", device
// paths and plain files. Volumes go through GetVolumePathNameW +
// GetVolumeNameForVolumeMountPointW. Throws Error for network paths and for folders
// that are not a volume root.
ResolvedSource resolve_source(const std::string& source);

struct SourceOptions {
  // Treat the source as an unbuffered device with this sector size even when it is a
  // plain file (tests exercise the aligned/bounce-buffer path with image files).
  std::optional<uint32_t> force_sector_size;
};

// Devices are read with the sector size choose_sector_size picks from what the device
// (and, when it says nothing, its volume) answers; never a guessed size.
std::unique_ptr<BlockSource> open_source(const std::string& source, const SourceOptions& options);

// The answers of the sector-size queries, 0 where a query failed or said nothing.
struct SectorAnswers {
  uint32_t device_alignment = 0;   // IOCTL_STORAGE_QUERY_PROPERTY (access alignment) on the device
  uint32_t device_geometry = 0;    // IOCTL_DISK_GET_DRIVE_GEOMETRY on the device
  uint32_t volume_alignment = 0;   // the alignment query on the source volume
  uint32_t volume_free_space = 0;  // GetDiskFreeSpaceW bytes per sector of the source volume
};
// The first answer that is a power of two of at least 512, in the order above. None:
// Error("reading sector size of", name, ...), since unbuffered reads with a wrong size
// fail or, worse, read the wrong bytes.
uint32_t choose_sector_size(const SectorAnswers& answers, const std::string& name);

// The span [start, stop) of sector-aligned bytes the bounce buffer reads next for the
// wanted range [pos, end) (pos < end <= size), at most `cap` bytes (a multiple of the
// sector size). It never reaches past the sector that holds the source's last byte, so
// on a device (whose size is a whole number of sectors) it stays inside the device.
struct AlignedSpan {
  uint64_t start = 0;
  uint64_t stop = 0;
};
AlignedSpan aligned_span(uint64_t pos, uint64_t end, uint32_t sector, uint64_t cap, uint64_t size);

// Shadow copy devices may answer neither sector-size query; the VSS session registers
// each device it hands out with its source volume ("\\?\Volume{GUID}\"), whose answers
// open_source then uses, and forgets it once the set is released. Thread-safe.
void register_shadow_origin(const std::string& device_path, const std::string& volume_name);
void forget_shadow_origin(const std::string& device_path);
std::optional<std::string> shadow_origin(const std::string& device_path);

// For a device opened by open_source (a volume or shadow copy device): its handle (owned
// by the source) and the path CreateFileW got, without a trailing backslash (files of
// the volume are <path>\name). nullptr / empty for files and other sources.
void* device_handle(BlockSource& source);
// The run at `offset` (< size) of the file open as `handle` (FSCTL_QUERY_ALLOCATED_RANGES;
// "data to the end" when the query fails, e.g. on a filesystem without sparse files).
SourceRun allocated_run(void* handle, uint64_t offset, uint64_t size);
std::wstring device_path(BlockSource& source);

}  // namespace vssimg::win32
