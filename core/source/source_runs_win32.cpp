// FSCTL_QUERY_ALLOCATED_RANGES: the holes of a sparse image file (block_source_win32.cpp).
#include "core/os/win32.hpp"
#include "core/source/block_source_win32.hpp"
#include "core/source/source_runs.hpp"

#include <winioctl.h>

namespace vssimg::win32 {

SourceRun allocated_run(void* handle, uint64_t offset, uint64_t size) {
  constexpr size_t k_ranges = 64;
  FILE_ALLOCATED_RANGE_BUFFER query{};
  query.FileOffset.QuadPart = static_cast<LONGLONG>(offset);
  query.Length.QuadPart = static_cast<LONGLONG>(size - offset);
  FILE_ALLOCATED_RANGE_BUFFER out[k_ranges];
  DWORD returned = 0;
  bool complete = true;
  if (!::DeviceIoControl(static_cast<HANDLE>(handle), FSCTL_QUERY_ALLOCATED_RANGES, &query,
                         sizeof query, out, sizeof out, &returned, nullptr)) {
    if (::GetLastError() != ERROR_MORE_DATA) return SourceRun{false, size};  // unknown: data
    complete = false;
  }
  AllocatedRange ranges[k_ranges];
  const size_t n = returned / sizeof out[0];
  for (size_t i = 0; i < n; ++i) {
    ranges[i].offset = static_cast<uint64_t>(out[i].FileOffset.QuadPart);
    ranges[i].length = static_cast<uint64_t>(out[i].Length.QuadPart);
  }
  return run_from_allocated(ranges, n, complete, offset, size);
}

}  // namespace vssimg::win32
