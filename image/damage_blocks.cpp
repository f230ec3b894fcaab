#include "image/damage_blocks.hpp"

#include "core/base/error.hpp"

#include <algorithm>
#include <unordered_map>

namespace vssimg {

BlockIdSet unusable_blocks(const BlockIndex& index, const DamageSet& damage,
                           const std::vector<PackId>& missing) {
  BlockIdSet out;
  if (damage.empty() && missing.empty()) return out;
  std::vector<char> pack_gone(index.packs().size(), 0);
  for (size_t p = 0; p < index.packs().size(); ++p) {
    const PackId& id = index.packs()[p];
    pack_gone[p] = damage.has_pack(id) || std::binary_search(missing.begin(), missing.end(), id);
  }
  std::unordered_map<BlockId, size_t, BlockIdHash> bad_copies;
  index.for_each_copy([&](const BlockId& id, BlockLocation loc) {
    if (pack_gone[loc.pack] || damage.copy_bad(id, index.packs()[loc.pack], loc.offset))
      ++bad_copies[id];
  });
  for (const auto& [id, n] : bad_copies) {
    if (n >= index.copies(id).size()) out.insert(id);
  }
  return out;
}

std::vector<PackId> missing_packs(const Store& store, const BlockIndex& index) {
  const std::vector<PackId> on_disk = store.packs_on_disk();  // sorted
  std::vector<PackId> out;
  for (const auto& p : index.packs()) {
    if (!std::binary_search(on_disk.begin(), on_disk.end(), p)) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> points_whole_again(const Store& store, const BlockIdSet& healed,
                                            const BlockIdSet& still_damaged,
                                            const std::string& except) {
  std::vector<std::string> out;
  if (healed.empty()) return out;
  for (const auto& info : store.list_points()) {
    if (info.id == except) continue;
    try {
      const Point p = store.load_point(info.id);
      bool uses_healed = false, uses_damaged = false;
      for (const auto& b : p.map) {
        if (b.is_marker()) continue;
        uses_healed = uses_healed || healed.count(b);
        uses_damaged = uses_damaged || still_damaged.count(b);
      }
      if (uses_healed && !uses_damaged) out.push_back(info.id);
    } catch (const Error&) {
      // An unreadable point is not whole whatever was healed; verify names it.
    }
  }
  return out;
}

}  // namespace vssimg
