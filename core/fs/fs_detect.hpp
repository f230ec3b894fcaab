// Which byte ranges of a volume its filesystem uses, read from the filesystem's own
// allocation bitmap: NTFS ($Bitmap), ext2/3/4 (libext2fs, Linux build only), FAT32.
// Platform-neutral; for Windows volumes FSCTL_GET_VOLUME_BITMAP comes first
// (core/fs/alloc_choice.hpp picks), this parser for image files and raw devices.
#pragma once

#include "core/fs/alloc_map.hpp"
#include "core/source/block_source.hpp"

#include <optional>
#include <string>

namespace vssimg {

struct AllocationResult {
  // No map means: image every block. A map never omits a block the filesystem uses.
  std::optional<AllocationMap> map;
  // One line for the log: what was found ("ntfs: $Bitmap marks 3.1 GiB of 20 GiB used")
  // or why there is no map ("unknown filesystem: imaging all blocks").
  std::string note;
};

// Detects the filesystem of `source` from its boot sector / superblock and reads its
// allocation bitmap. A damaged, unclean or hostile filesystem yields no map and a note
// saying why; only I/O errors of the source itself throw (Error, as read_at does).
AllocationResult read_allocation_map(BlockSource& source);

}  // namespace vssimg
