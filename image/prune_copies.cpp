#include "image/prune_copies.hpp"

#include "core/base/error.hpp"
#include "image/block_reader.hpp"

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

DamageSet check_kept_copies(const Store& store, const BlockIndex& index,
                            const std::unordered_set<BlockId, BlockIdHash>& live,
                            const DamageSet& known) {
  if (index.extra_copies() == 0) return {};
  BlockReader reader(store, index, &known);  // tries copies in the chooser's order
  std::vector<uint8_t> out(store.block_size()), scratch;
  for (const BlockId& id : live) {
    if (index.copies(id).size() < 2) continue;
    try {
      reader.read(id, out.data(), scratch);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::newer_format) throw;  // else every copy is damaged: kept
    }
    check_interrupted();
  }
  return reader.found_damage();
}

}  // namespace vssimg
