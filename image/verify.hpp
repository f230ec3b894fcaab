// Verify: checks the store's structure and, with read_data, every block's bytes.
#pragma once

#include "core/base/progress.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

struct VerifyOptions {
  std::vector<std::string> points;  // resolved ids; empty = all points
  bool read_data = false;
  unsigned threads = 0;
  // --subset N/T: with read_data, read only the packs of slice N (1-based) of T, chosen
  // by pack id (deterministic); 0/0 = all packs. The tables of all packs are checked.
  unsigned subset_index = 0;
  unsigned subset_count = 0;
  // --max-duration: stop reading pack data after this many seconds (0 = no limit); the
  // packs not read are reported as not covered.
  double max_seconds = 0;
  // Read the packs read longest ago first and remember what was read in the store's
  // verify.state (docs/format.md, "Verify state").
  bool remember = true;
  // The store cannot be written (a read-only store, no lock held): verify.state is still
  // read, but neither it nor the damage record is written.
  bool read_only = false;
};

// Slice of a pack for --subset: the pack id's first 8 bytes (big-endian) mod `count`,
// plus 1.
unsigned pack_subset_of(const PackId& pack, unsigned count);

// One damaged block of one point (offset is the volume offset), or a damaged file
// (offset == k_whole_file).
struct Damage {
  static constexpr uint64_t k_whole_file = UINT64_MAX;
  std::string point;  // empty for store-level damage (config, index segment, pack)
  uint64_t offset = k_whole_file;
  std::string pack;  // pack id, if known
  std::string what;
};

struct VerifyResult {
  size_t points_checked = 0;
  size_t points_damaged = 0;
  uint64_t blocks_referenced = 0;  // distinct data blocks the points refer to
  size_t packs_checked = 0;
  uint64_t records_read = 0;  // --read-data
  uint64_t bytes_read = 0;
  size_t packs_selected = 0;  // packs --read-data was asked to read (subset)
  size_t packs_read = 0;      // of those, read before the time limit
  bool time_limit_reached = false;
  std::vector<Damage> damage;
  std::vector<std::string> notes;  // not damage (unreferenced packs, unreadable source blocks)
  bool ok() const { return damage.empty(); }
};

// The caller holds a shared store lock.
VerifyResult run_verify(const Store& store, const VerifyOptions& options, ProgressSink& progress);

}  // namespace vssimg
