#include "image/backup_parent.hpp"

#include "core/base/error.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

namespace vssimg {

std::string backup_host(const std::string& given) {
  return given.empty() ? host_name() : given;
}

std::vector<BlockId> load_parent(const Store& store, const PointFilter& same,
                                 const BlockIndex& index, const BlockIdSet& unusable,
                                 std::string& parent_id, ProgressSink& progress) {
  std::vector<BlockId> map;
  std::string id;
  try {
    id = resolve_point(store, "latest", same);
  } catch (const Error&) {
    return map;  // first backup of this source
  }
  try {
    Point parent = store.load_point(id);
    size_t missing = 0;
    for (auto& b : parent.map) {
      if (b.is_marker()) continue;
      const bool lost = !index.contains(b);
      if (lost || unusable.count(b)) b = BlockId::unreadable_marker();  // never a data id
      missing += lost ? 1 : 0;
    }
    if (missing) {
      progress.warning(
          fmt::format("parent point {} refers to {} blocks missing from the index; "
                      "they are stored again (run vssimg verify)",
                      id, missing));
    }
    parent_id = id;
    map = std::move(parent.map);
  } catch (const Error& e) {
    progress.warning(fmt::format("not comparing with parent point {}: {}", id, e.what()));
  }
  return map;
}

}  // namespace vssimg
