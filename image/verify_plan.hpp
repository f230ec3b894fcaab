// Which packs verify --read-data reads, in what order and until when (--subset,
// --max-duration), and the store's verify.state that remembers when each pack was read
// last, so that the next run starts with the packs read longest ago (docs/format.md,
// "Verify state").
#pragma once

#include "image/pack.hpp"
#include "image/store.hpp"
#include "image/verify.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vssimg {

// When --read-data last read each pack (Unix seconds).
using PackReadTimes = std::map<PackId, int64_t>;

// Indexed by pack ordinal (BlockIndex::packs()).
struct ReadPlan {
  std::vector<size_t> order;   // pack ordinals, least recently read first
  std::vector<char> selected;  // per ordinal: read its data (the --subset slice)
  double deadline = 0;         // monotonic seconds; 0 = none
  std::vector<char> read;      // per ordinal: was read (filled by whoever reads)

  // Whether the data of pack `p` is to be read now: selected, and the deadline not passed.
  bool reads_now(size_t p) const;
  size_t selected_count() const;
  size_t read_count() const;
};

// The plan for the index's `packs`: the --subset slice of `options`, packs never read
// first, then by `last_read`, ties by id; the --max-duration deadline counts from now.
ReadPlan plan_reads(const std::vector<PackId>& packs, const VerifyOptions& options,
                    const PackReadTimes& last_read);

// Reads verify.state: empty when there is none; a damaged one is ignored with a note.
PackReadTimes load_verify_state(const Store& store, std::vector<std::string>& notes);

// The state after a run that followed `plan`: the packs it read at `now`, the others of
// `packs` as `before` had them; packs no longer in the index are dropped.
PackReadTimes updated_verify_state(const std::vector<PackId>& packs, const ReadPlan& plan,
                                   const PackReadTimes& before, int64_t now);

// Replaces verify.state atomically. A failure is a note, not an error: only the order of
// the next verify depends on it.
void save_verify_state(const Store& store, const PackReadTimes& state,
                       std::vector<std::string>& notes);

}  // namespace vssimg
