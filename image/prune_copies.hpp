// Which copy of each live block a prune keeps: an intact one when the damage record
// knows of one, so that damaged copies become dead and go with their packs; and, for
// blocks stored more than once, a check that the copy it would keep is intact.
#pragma once

#include "image/damage.hpp"
#include "image/index.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <unordered_set>
#include <vector>

namespace vssimg {

class CopyChooser {
 public:
  // `on_disk`: the packs on disk, sorted. All referenced objects outlive the chooser.
  CopyChooser(const BlockIndex& index, const DamageSet& damage, const std::vector<PackId>& on_disk);

  // A pack whose table cannot be read: none of its copies is kept.
  void mark_unreadable(uint32_t ordinal) { m_readable[ordinal] = 0; }
  // On disk, not recorded unreadable, and its table read.
  bool readable(uint32_t ordinal) const { return m_readable[ordinal] != 0; }

  // The copy of `id` to keep: the first in a readable pack that the damage record does
  // not list, else (`damaged` set) the first in a readable pack. False when no copy is in
  // a readable pack.
  bool choose(const BlockId& id, BlockLocation& out, bool& damaged) const;

 private:
  const BlockIndex& m_index;
  const DamageSet& m_damage;
  std::vector<char> m_readable;  // per pack ordinal
};

// Reads, for every block of `live` that has more than one copy, its copies in the order
// the chooser prefers them (those `known` lists last) up to the first intact one, and
// returns the damage met. Without it a copy damaged since the last check (not in the
// record) would be kept and its intact twin dropped. Blocks with one copy are not read.
DamageSet check_kept_copies(const Store& store, const BlockIndex& index,
                            const std::unordered_set<BlockId, BlockIdHash>& live,
                            const DamageSet& known);

}  // namespace vssimg
