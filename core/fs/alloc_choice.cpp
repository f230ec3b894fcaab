#include "core/fs/alloc_choice.hpp"

#include "core/fs/fs_detect.hpp"
#include "core/fs/fs_windows.hpp"

namespace vssimg {

AllocationChoice choose_allocation(BlockSource& source, const AllocationChoiceOptions& options) {
  AllocationChoice choice;
  if (options.windows_volume) {
    WindowsAllocation w = read_windows_allocation(source, options.include_pagefile);
    if (w.result.map) {
      choice.map = std::move(w.result.map);
      choice.excluded_bytes = w.excluded_bytes;
      choice.notes.push_back(std::move(w.result.note));
      return choice;
    }
    // Wine answers the FSCTLs with ERROR_NOT_SUPPORTED.
    choice.notes.push_back(w.fsctl_failed ? "volume bitmap unavailable (" + w.result.note +
                                                "); falling back to the filesystem's own "
                                                "bitmap, else all blocks"
                                          : w.result.note);
  }
  AllocationResult portable = read_allocation_map(source);
  choice.map = std::move(portable.map);
  choice.notes.push_back(std::move(portable.note));
  return choice;
}

}  // namespace vssimg
