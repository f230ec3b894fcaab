// Index segments and the in-memory block index (docs/format.md, "Index segment"; layout
// in image/format.hpp).
#pragma once

#include "core/base/hash.hpp"
#include "image/config.hpp"
#include "image/pack.hpp"
#include "image/storage.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace vssimg {

struct BlockLocation {
  uint32_t pack = 0;    // ordinal into BlockIndex::packs()
  uint32_t offset = 0;  // record offset in the pack
};

// floor(prefix * slots / 2^64): the home slot of an id whose 64-bit prefix is `prefix` in
// a table of `slots` slots, the same on every compiler (MSVC: __umulh, others: __int128).
size_t slot_for_prefix(uint64_t prefix, size_t slots);

// id -> location, an open-addressing table of 24-byte slots, 68-85% full while growing
// (28-35 bytes per block, 32 on average; docs/format.md "In memory"). A block stored more
// than once (healed after damage, or by an interrupted backup) has further copies in a
// side table; the first copy added stays the first.
// Not thread-safe; callers that share it across threads lock around it.
class BlockIndex {
 public:
  BlockIndex() = default;
  void reserve(size_t blocks);
  uint32_t add_pack(const PackId& pack);
  const std::vector<PackId>& packs() const { return m_packs; }
  bool find(const BlockId& id, BlockLocation& out) const;
  bool contains(const BlockId& id) const {
    BlockLocation l;
    return find(id, l);
  }
  // Inserts unless present; returns false (and keeps the old location) if present.
  bool insert(const BlockId& id, BlockLocation loc);
  // Adds a copy of `id`: the first copy when it is new, else a further one (a location
  // already known is not added twice).
  void add_copy(const BlockId& id, BlockLocation loc);
  // Every copy of `id`, the first one first; empty when unknown.
  std::vector<BlockLocation> copies(const BlockId& id) const;
  // How many copies beyond the first the index knows, over all blocks.
  size_t extra_copies() const { return m_extra.size(); }
  size_t size() const { return m_count; }
  size_t memory_bytes() const {
    return m_slots.capacity() * sizeof(Slot) + m_extra.size() * (sizeof(BlockId) + 32);
  }

  // The first copy of every block.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : m_slots) {
      if (!s.id.is_zero()) f(s.id, BlockLocation{s.pack, s.offset});
    }
  }
  // Every copy of every block: the first copies, then the further ones.
  template <class F>
  void for_each_copy(F&& f) const {
    for_each(f);
    for (const auto& [id, loc] : m_extra) f(id, loc);
  }

 private:
  struct Slot {
    BlockId id;  // all-zero = empty (the ZERO marker is never inserted)
    uint32_t pack;
    uint32_t offset;
  };
  static_assert(sizeof(Slot) == 24);
  size_t slot_of(const BlockId& id) const;
  void grow(size_t capacity);

  std::vector<Slot> m_slots;
  size_t m_count = 0;
  std::vector<PackId> m_packs;
  std::map<PackId, uint32_t> m_pack_ordinals;
  std::unordered_multimap<BlockId, BlockLocation, BlockIdHash> m_extra;
};

struct SegmentEntry {
  BlockId id;
  uint32_t pack = 0;  // ordinal into Segment::packs
  uint32_t offset = 0;
  uint32_t raw_len = 0;
  uint32_t stored_len = 0;
};

struct Segment {
  std::vector<PackId> packs;
  std::vector<SegmentEntry> entries;  // sorted by id
};

// The storage object of an index segment.
ObjectRef segment_object(const std::string& name);

// Encodes a segment for the given committed packs (entries sorted by block id).
std::vector<uint8_t> encode_index_segment(
    const StoreId& store_id, const std::vector<std::pair<PackId, std::vector<PackEntry>>>& packs);
// Parses and checks a segment's bytes. Throws Error(damage) naming the segment as `name`,
// Error(newer_format) for a segment of a newer format.
Segment decode_index_segment(const uint8_t* data, size_t len, const StoreId& store_id,
                             const std::string& name);

// Commits a new index segment for the given committed packs; returns its name.
std::string write_index_segment(
    const Storage& storage, const StoreId& store_id,
    const std::vector<std::pair<PackId, std::vector<PackEntry>>>& packs);
// Reads and checks the segment `name` (see decode_index_segment).
Segment read_index_segment(const Storage& storage, const std::string& name,
                           const StoreId& store_id);

// How many packs one index segment covers: writers checkpoint the index this often.
inline constexpr size_t k_packs_per_segment = 64;

// The one index-segment writer: collects committed packs and writes a segment for every
// k_packs_per_segment of them, and for the rest on flush(). Not thread-safe.
class SegmentBatcher {
 public:
  SegmentBatcher(const Storage& storage, const StoreId& store_id)
      : m_storage(&storage), m_store_id(store_id) {}
  // Adds a committed pack; writes a segment when the batch is full.
  void add(const PackId& pack, std::vector<PackEntry> entries);
  // Writes a segment for the packs added since the last one (nothing when there are none).
  void flush();
  size_t segments_written() const { return m_written; }

 private:
  const Storage* m_storage;
  StoreId m_store_id;
  std::vector<std::pair<PackId, std::vector<PackEntry>>> m_pending;
  size_t m_written = 0;
};

}  // namespace vssimg
