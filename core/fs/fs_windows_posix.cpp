// POSIX build: there are no Windows volumes; callers use read_allocation_map.
#include "core/fs/fs_windows.hpp"

namespace vssimg {

WindowsAllocation read_windows_allocation(BlockSource& source, bool include_pagefile) {
  (void)source;
  (void)include_pagefile;
  WindowsAllocation out;
  out.result.note = "not a Windows volume";
  return out;
}

}  // namespace vssimg
