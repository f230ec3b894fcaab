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

std::unique_ptr<BlockSource> open_source(const std::string& source, const SourceOptions& options);

// For a device opened by open_source (a volume or shadow copy device): its handle (owned
// by the source) and the path CreateFileW got, without a trailing backslash (files of
// the volume are <path>\name). nullptr / empty for files and other sources.
void* device_handle(BlockSource& source);
std::wstring device_path(BlockSource& source);

}  // namespace vssimg::win32
