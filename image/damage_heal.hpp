// heal --from SOURCE: stores again the blocks of a point that have no intact copy, reading
// only their offsets from a source (no full backup). A block is stored only when the
// source's bytes at its offset still hash to the block's id.
#pragma once

#include "core/base/progress.hpp"
#include "core/source/block_source.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

struct HealResult {
  std::string point_id;
  uint64_t damaged_blocks = 0;          // offsets of the point with no intact copy (or lost)
  uint64_t healed_blocks = 0;           // distinct blocks stored again
  std::vector<uint64_t> still_damaged;  // offsets the source no longer holds (ascending)
  std::vector<std::string> points_whole_again;  // every point whole after this heal
};

// Heals point `point_id` from `source`. The caller holds the store lock (shared) and the
// writer lock. The new blocks are committed (pack, then index segment) before it returns;
// a crash leaves at most an unindexed pack.
HealResult run_heal(const Store& store, BlockSource& source, const std::string& point_id,
                    size_t pack_target_size, ProgressSink& progress);

}  // namespace vssimg
