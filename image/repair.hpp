// repair index: rebuilds the index segments from the packs alone (docs/format.md,
// "Index segment": segments are redundant). A pack whose table is intact contributes its
// table; a pack whose table is damaged is scanned record by record, and only records whose
// checksum and block id (re-hashed with the store's secret) both check out are indexed.
#pragma once

#include "core/base/progress.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

struct RepairIndexResult {
  size_t packs = 0;          // packs on disk
  size_t packs_scanned = 0;  // table damaged: indexed by scanning records
  size_t packs_skipped = 0;  // nothing usable (another store's pack, unreadable)
  uint64_t blocks = 0;       // index entries written
  size_t old_segments = 0;   // replaced segments (deleted after the new ones are committed)
  size_t new_segments = 0;
  std::vector<std::string> problems;  // one line per pack that needed scanning or was skipped
};

// Finds the intact records of a pack's bytes by their magic, without the table; each
// record's checksum, decompression and keyed id are checked. Offsets are from the start.
std::vector<PackEntry> scan_pack_records(const uint8_t* data, size_t len, const BlockHasher& hasher,
                                         uint32_t block_size);

// Rebuilds the index. The caller holds the exclusive store lock and the writer lock.
// The new segments are committed before any old one is deleted, so a crash at any
// moment leaves a usable (at worst duplicated) index.
RepairIndexResult repair_index(const Store& store, ProgressSink& progress);

}  // namespace vssimg
