// Holes of sparse image files as runs of a BlockSource (BlockSource::run_at): the one
// platform-neutral reading of the allocated ranges a filesystem reports (Windows:
// FSCTL_QUERY_ALLOCATED_RANGES, answered in source_runs_win32.cpp), tested with canned
// answers.
#pragma once

#include "core/source/block_source.hpp"

#include <cstddef>
#include <cstdint>

namespace vssimg {

struct AllocatedRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// The run that holds `offset` (< size) of a file of `size` bytes, from the allocated
// ranges the filesystem gave for [offset, size), sorted by offset. `complete` is false
// when the answer was cut short (its buffer was full: more ranges may follow the last).
// Bytes in no range are a hole; a cut-short answer ends its last data run where the
// answer ends, so nothing unknown is ever called a hole.
SourceRun run_from_allocated(const AllocatedRange* ranges, size_t count, bool complete,
                             uint64_t offset, uint64_t size);

}  // namespace vssimg
