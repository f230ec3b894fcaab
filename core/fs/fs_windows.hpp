// Used blocks of a Windows volume or shadow copy device, asked from the mounted
// filesystem itself: FSCTL_GET_VOLUME_BITMAP (NTFS and ReFS), minus the clusters of
// pagefile.sys, swapfile.sys and hiberfil.sys found with FSCTL_GET_RETRIEVAL_POINTERS.
// Declared for every platform; the FSCTLs live in fs_windows_win32.cpp, the POSIX build
// (fs_windows_posix.cpp) always answers "no map". The logic around the FSCTLs
// (continuation loops, combining bitmap and file extents) is portable (fs_windows.cpp)
// and unit-tested on canned buffers.
#pragma once

#include "core/fs/alloc_map.hpp"
#include "core/source/block_source.hpp"
#include "core/fs/fs_detect.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vssimg {

struct WindowsAllocation {
  // A map, or no map and a note saying why (then callers use read_allocation_map).
  AllocationResult result;
  // True when the source is a Windows NTFS/ReFS volume but an FSCTL failed or returned
  // a buffer that fails its checks (Wine: ERROR_NOT_SUPPORTED). False when the source is
  // simply not something the FSCTLs apply to (POSIX, image files, other filesystems).
  bool fsctl_failed = false;
  // Bytes of pagefile.sys / swapfile.sys / hiberfil.sys cleared from the map.
  uint64_t excluded_bytes = 0;
};

// Windows: the volume bitmap of the volume or shadow copy device `source` (a source from
// open_block_source), and, unless include_pagefile, the paging/hibernation files' clusters
// cleared. Never throws for FSCTL or buffer failures (no map, fsctl_failed); a file that
// does not exist is fine, one whose extents cannot be read is kept (said in the note).
WindowsAllocation read_windows_allocation(BlockSource& source, bool include_pagefile);

// The files whose clusters are left out unless --include-pagefile (root of the volume).
extern const char* const k_windows_excluded_files[3];

// ---- Portable parts (fs_windows.cpp), used by the Windows code and the unit tests ----

// The output of one FSCTL call: the bytes it returned and whether it failed with
// ERROR_MORE_DATA (more to fetch from the position the parser reports).
struct FsctlChunk {
  std::vector<uint8_t> data;
  bool more = false;
};

// Calls fetch(starting_lcn) from LCN 0 while it reports more, continuing at each
// buffer's next_lcn. Returns the used byte ranges; `clusters` receives the number of
// clusters covered. Throws Error when a buffer fails parse_volume_bitmap's checks, does
// not start where asked (rounding down to a multiple of 8 is allowed), or makes no progress.
std::vector<ByteRange> collect_volume_bitmap(const std::function<FsctlChunk(uint64_t)>& fetch,
                                             uint32_t cluster_size, uint64_t& clusters);

// Calls fetch(starting_vcn) from VCN 0 while it reports more, continuing at NextVcn of
// the last extent. Returns the file's extents on the volume (sparse ones left out).
// Throws Error on a bad buffer or no progress.
std::vector<ByteRange> collect_retrieval_pointers(const std::function<FsctlChunk(uint64_t)>& fetch,
                                                  uint32_t cluster_size);

struct ExcludedFile {
  std::string name;                // "pagefile.sys"
  std::vector<ByteRange> extents;  // from collect_retrieval_pointers
};

// Builds the map: `used` (the bitmap ranges) over `clusters` clusters, plus, always, the
// boot area (first cluster, at least 8 KiB) and everything past the last cluster (NTFS
// keeps its backup boot sector there), then clears each excluded file's extents. A file
// with an extent in the boot area or past the last cluster is not trusted and not
// cleared (said in the note). excluded_bytes counts bytes that were used and are now free.
WindowsAllocation combine_windows_allocation(const std::string& filesystem, uint64_t volume_size,
                                             uint32_t cluster_size, uint64_t clusters,
                                             std::vector<ByteRange> used,
                                             const std::vector<ExcludedFile>& excluded);

}  // namespace vssimg
