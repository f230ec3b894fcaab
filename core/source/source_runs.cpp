#include "core/source/source_runs.hpp"

#include <algorithm>

namespace vssimg {

SourceRun run_from_allocated(const AllocatedRange* ranges, size_t count, bool complete,
                             uint64_t offset, uint64_t size) {
  const SourceRun data_to_end{false, size};
  if (offset >= size) return data_to_end;
  size_t i = 0;
  // Ranges that end at or before offset (or are empty) say nothing about it.
  while (i < count && (ranges[i].length == 0 || ranges[i].offset + ranges[i].length <= offset)) ++i;
  if (i == count) return complete ? SourceRun{true, size} : data_to_end;
  if (ranges[i].offset > offset) return SourceRun{true, std::min(ranges[i].offset, size)};
  uint64_t end = ranges[i].offset + ranges[i].length;
  for (++i; i < count && ranges[i].offset <= end; ++i)
    end = std::max(end, ranges[i].offset + ranges[i].length);
  return SourceRun{false, std::min(end, size)};
}

}  // namespace vssimg
