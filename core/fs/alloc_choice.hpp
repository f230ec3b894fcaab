// Which allocation map decides the blocks a backup reads: for a Windows volume or its
// shadow copy the mounted filesystem's volume bitmap (fs_windows.hpp), otherwise, or when
// the FSCTLs fail, the filesystem's own bitmap read by the portable parsers
// (fs_detect.hpp), and without either every block.
#pragma once

#include "core/fs/alloc_map.hpp"
#include "core/source/block_source.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vssimg {

struct AllocationChoiceOptions {
  bool windows_volume = false;    // the source is a Windows volume or its shadow copy
  bool include_pagefile = false;  // keep the paging and hibernation files' clusters
};

struct AllocationChoice {
  std::optional<AllocationMap> map;  // none: read every block
  // Set when the volume bitmap was used: the paging files' bytes it left out.
  std::optional<uint64_t> excluded_bytes;
  // Lines for the log, in order: what was found, and why a reader was passed over. A
  // fallback is no warning: the image is complete either way.
  std::vector<std::string> notes;
};

// Throws only for I/O errors of the source (as read_allocation_map does).
AllocationChoice choose_allocation(BlockSource& source, const AllocationChoiceOptions& options);

}  // namespace vssimg
