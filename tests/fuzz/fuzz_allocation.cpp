// libFuzzer target: filesystem detection and the allocation-map parsers (NTFS, ext via
// libext2fs) on hostile images. Built as fuzz_ntfs and fuzz_ext: the same entry point,
// seeded with different corpora (scripts/make-fuzz-seeds). Any exception other than a
// rejection-turned-note is a bug, as is a map reaching outside the volume.
#include "core/fs/fs_detect.hpp"
#include "tests/fuzz/fuzz_sparse_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vssimg::fuzz::SparseSource source(data, size);
  vssimg::AllocationResult r = vssimg::read_allocation_map(source);
  if (r.note.empty()) __builtin_trap();
  if (r.map) {
    for (const auto& u : r.map->used()) {
      if (u.length == 0 || u.end() > source.size()) __builtin_trap();
    }
  }
  return 0;
}
