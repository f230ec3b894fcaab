// The damage record of a store (docs/format.md, "Damage record"): which copies of blocks
// failed their check, which packs and index segments could not be read. Advisory: every
// reader still checks every block it reads; backup uses the record to store again the
// blocks that have no good copy left, prune to drop damaged copies that have a good one.
//
// Several processes may add to it at once (verify and restore hold only a shared lock), so
// it is a set of write-once objects whose union is the record: an addition is a new object
// (never a read-modify-write of a shared one, so no addition is lost), and a compaction
// writes the union of the objects it read before it removes exactly those objects (an
// object written meanwhile by someone else survives it).
#pragma once

#include "core/base/hash.hpp"
#include "image/pack.hpp"
#include "image/storage.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vssimg {

enum class DamageKind : uint8_t {
  copy = 1,     // one record (block id at an offset of a pack) failed its check
  pack = 2,     // a pack that cannot be opened or whose table is unreadable: all its copies
  segment = 3,  // an index segment that cannot be read
};

struct DamageEntry {
  DamageKind kind = DamageKind::copy;
  BlockId block;        // copy
  PackId pack;          // copy: the pack holding it; pack: the pack; segment: its name
  uint32_t offset = 0;  // copy: the record's offset in the pack
  int64_t found = 0;    // Unix seconds, when first found
};

class DamageSet {
 public:
  // Adds an entry; a known one keeps its earliest `found`. True when it was not known.
  bool add(const DamageEntry& entry);
  bool add_copy(const BlockId& block, const PackId& pack, uint32_t offset, int64_t found);
  bool add_pack(const PackId& pack, int64_t found);
  // A segment name that is not 32 hex digits cannot be recorded and is ignored.
  bool add_segment(const std::string& name, int64_t found);
  void merge(const DamageSet& other);

  bool has_pack(const PackId& pack) const;
  // Whether this copy is known bad: listed itself, or its pack is.
  bool copy_bad(const BlockId& block, const PackId& pack, uint32_t offset) const;
  bool contains(const DamageEntry& entry) const;

  // Every entry, ordered by kind, then id, pack and offset.
  std::vector<DamageEntry> entries() const;
  size_t size() const { return m_entries.size(); }
  bool empty() const { return m_entries.empty(); }

 private:
  struct Key {
    uint8_t kind;
    std::array<uint8_t, k_id_size> block;
    std::array<uint8_t, k_id_size> pack;
    uint32_t offset;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  static Key key_of(const DamageEntry& e);
  std::map<Key, int64_t> m_entries;
};

// Encodes one damage object; entries in DamageSet order.
std::vector<uint8_t> encode_damage(const DamageSet& set);
// Parses and checks one damage object. Throws Error(damage) naming it as `name`, and
// Error(newer_format) for a newer version.
DamageSet decode_damage(const uint8_t* data, size_t len, const std::string& name);

// The record as read: the union of every damage object that parsed.
struct DamageRecord {
  DamageSet set;
  std::vector<std::string> objects;  // the names merged into `set`
  std::vector<std::string> damaged;  // names that failed their check (removed by prune)
  std::vector<std::string> notes;    // what was wrong with those, and with newer ones
};

// Reads every damage object. Never throws for a bad object (a note, and skipped); an
// object that vanishes while being read (merged by a concurrent compaction) makes it read
// the list again, a few times at most.
DamageRecord load_damage(const Storage& storage);

// Adds what `found` has that the record lacks, as one new object; then, when the record
// is spread over many objects, compacts it. Safe under a shared lock with other adders.
// Throws Error when the storage cannot be written (the caller reports it as a note).
void record_damage(const Storage& storage, const DamageSet& found);

// Replaces the objects of `old` (and, with `drop_damaged`, its damaged ones) by one holding
// `next` (none when empty): `next` is committed first, then exactly those objects are
// removed. Dropping entries is only for a caller that holds the exclusive store lock.
void replace_damage(const Storage& storage, const DamageRecord& old, const DamageSet& next,
                    bool drop_damaged);

}  // namespace vssimg
