// Copy: recovery points from one store into another (docs/format.md, "Copied points").
// Every block is read back through BlockReader (checked against its id), re-identified
// with the destination's secret, and stored through the backup's PackSink only when the
// destination lacks it; then the point is written with the destination's ids and its
// origin (source store id and point id), which makes a second copy skip it.
#pragma once

#include "core/base/progress.hpp"
#include "image/point.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

struct CopyStats {
  uint64_t blocks = 0;        // map entries
  uint64_t bytes_read = 0;    // raw bytes of blocks read back from the source store
  uint64_t reused_bytes = 0;  // data the destination already had
  uint64_t new_bytes = 0;     // raw bytes of blocks added to the destination
  uint64_t new_stored_bytes = 0;
  uint64_t new_blocks = 0;
  uint64_t packs_written = 0;
  double seconds = 0;
};

// What became of one source point.
struct CopiedPoint {
  std::string source_id;
  std::string point_id;  // in the destination: the new point, or the earlier copy
  bool already = false;  // copied before (or a copy of a point of the destination)
  std::string error;     // not copied: why (a damaged block, naming point and offset)
  CopyStats stats;
};

// The points of `from` a copy into `to` skips: copied before (their origin is recorded in
// a point of `to`) or copies of a point of `to` themselves. By source point id, with the id
// of the destination's point.
std::vector<std::pair<std::string, std::string>> already_copied(const Store& from, const Store& to);

class CopyRun {
 public:
  // The caller holds `to`'s store lock shared and its writer lock (as a backup does) and
  // reads `from` under a shared lock or none (a read-only store). Throws Error(usage) when
  // the stores are one store or their block sizes differ. Deletes `to`'s tmp/ leftovers.
  CopyRun(const Store& from, const Store& to, ProgressSink& progress,
          size_t pack_target_size = size_t{32} << 20);
  ~CopyRun();
  CopyRun(const CopyRun&) = delete;
  CopyRun& operator=(const CopyRun&) = delete;

  // Copies point `id` of `from` unless it was copied before. A damaged block of the
  // source is no exception: the result names the point and the offset in `error`, and
  // the point is not written. Other errors (the destination, an interrupt) are thrown;
  // what was committed before them stays unreferenced or indexed, never half a point.
  CopiedPoint copy(const std::string& id);
  // With `record`: records the damage the reads found in the source's damage record
  // (advisory) and says once when a block took a further copy. Without (a read-only
  // source): nothing.
  void finish(bool record);

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace vssimg
