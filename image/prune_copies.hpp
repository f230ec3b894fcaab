// Which copy of each live block a prune keeps: an intact one when the damage record
// knows of one, so that damaged copies become dead and go with their packs.
#pragma once

#include "image/damage.hpp"
#include "image/index.hpp"

#include <cstdint>
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

}  // namespace vssimg
