// Verify: checks the store's structure and, with read_data, every block's bytes.
#pragma once

#include "core/progress.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

struct VerifyOptions {
  std::vector<std::string> points;  // resolved ids; empty = all points
  bool read_data = false;
  unsigned threads = 0;
};

// One damaged block of one point (offset is the volume offset), or a damaged file
// (offset == k_whole_file).
struct Damage {
  static constexpr uint64_t k_whole_file = UINT64_MAX;
  std::string point;  // empty for store-level damage (config, index segment, pack)
  uint64_t offset = k_whole_file;
  std::string pack;   // pack id, if known
  std::string what;
};

struct VerifyResult {
  size_t points_checked = 0;
  size_t points_damaged = 0;
  uint64_t blocks_referenced = 0;   // distinct data blocks the points refer to
  size_t packs_checked = 0;
  uint64_t records_read = 0;        // --read-data
  uint64_t bytes_read = 0;
  std::vector<Damage> damage;
  std::vector<std::string> notes;   // not damage (unreferenced packs, unreadable source blocks)
  bool ok() const { return damage.empty(); }
};

// The caller holds a shared store lock.
VerifyResult run_verify(const Store& store, const VerifyOptions& options, ProgressSink& progress);

}  // namespace vssimg
