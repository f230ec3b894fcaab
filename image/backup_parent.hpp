// The parent of a backup: the point it compares with (docs/format.md, `parent`), chosen
// by host and source, and the host a backup records.
#pragma once

#include "core/base/progress.hpp"
#include "image/damage_blocks.hpp"
#include "image/index.hpp"
#include "image/point_select.hpp"
#include "image/store.hpp"

#include <string>
#include <vector>

namespace vssimg {

// The host a backup records and chooses its parent by: `given` (backup --host), or this
// machine's name when empty.
std::string backup_host(const std::string& given);

// Loads the newest point of the same host and source (`same`) as the comparison base:
// another host's point of a source of the same name, such as every server's C:, is never
// one. Keeps only the ids the index still has with a usable copy (a damaged index must
// not make us reference lost blocks; a block with no intact copy must be stored again);
// the others become UNREADABLE markers, which never match. Sets `parent_id`; an empty map
// and no parent when there is none or it cannot be read (a warning says why).
std::vector<BlockId> load_parent(const Store& store, const PointFilter& same,
                                 const BlockIndex& index, const BlockIdSet& unusable,
                                 std::string& parent_id, ProgressSink& progress);

}  // namespace vssimg
