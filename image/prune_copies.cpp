#include "image/prune_copies.hpp"

#include <algorithm>

namespace vssimg {

CopyChooser::CopyChooser(const BlockIndex& index, const DamageSet& damage,
                         const std::vector<PackId>& on_disk)
    : m_index(index), m_damage(damage), m_readable(index.packs().size(), 0) {
  for (size_t p = 0; p < index.packs().size(); ++p) {
    const PackId& id = index.packs()[p];
    m_readable[p] = std::binary_search(on_disk.begin(), on_disk.end(), id) && !damage.has_pack(id);
  }
}

bool CopyChooser::choose(const BlockId& id, BlockLocation& out, bool& damaged) const {
  bool found = false;
  for (const BlockLocation& c : m_index.copies(id)) {
    if (!readable(c.pack)) continue;
    if (!m_damage.copy_bad(id, m_index.packs()[c.pack], c.offset)) {
      out = c;
      damaged = false;
      return true;
    }
    if (!found) {
      out = c;
      damaged = true;
      found = true;
    }
  }
  return found;
}

}  // namespace vssimg
