// The damage record against the index and the points: which blocks have no usable copy
// left (backup stores them again), and which points a heal made whole.
#pragma once

#include "core/base/hash.hpp"
#include "image/damage.hpp"
#include "image/index.hpp"
#include "image/store.hpp"

#include <string>
#include <unordered_set>
#include <vector>

namespace vssimg {

using BlockIdSet = std::unordered_set<BlockId, BlockIdHash>;

// The blocks of `index` whose every copy `damage` lists, or lies in a pack of `missing`
// (indexed packs that are not on disk).
BlockIdSet unusable_blocks(const BlockIndex& index, const DamageSet& damage,
                           const std::vector<PackId>& missing);

// The indexed packs that are not on disk.
std::vector<PackId> missing_packs(const Store& store, const BlockIndex& index);

// The points other than `except` that refer to a block of `healed` and to none of
// `still_damaged`: whole again after a heal. Unreadable points are skipped.
std::vector<std::string> points_whole_again(const Store& store, const BlockIdSet& healed,
                                            const BlockIdSet& still_damaged,
                                            const std::string& except);

}  // namespace vssimg
