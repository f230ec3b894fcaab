// Reads blocks back from packs through the index, checking every one: the record
// checksum, the id in the record, decompression to the recorded length and the keyed
// hash of the result. When a block has several copies (a healed block) and one fails its
// check, the next one is read. Thread-safe. Every reader of points (restore, verify,
// export, and through PointSource ls, extract and mount) reads through it and ends with
// report_reading(): the damage it met goes to the store's damage record, and a fallback to
// a further copy is said once.
#pragma once

#include "core/base/progress.hpp"
#include "image/damage.hpp"
#include "image/index.hpp"
#include "image/storage.hpp"
#include "image/store.hpp"

#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace vssimg {

class BlockReader {
 public:
  // `known` (may be null, else outlives the reader): the store's damage record; the copies
  // it lists are tried after the others.
  BlockReader(const Store& store, const BlockIndex& index, const DamageSet* known = nullptr);

  // Decodes block `id` into `out` (capacity >= block size) from the first of its copies
  // that passes every check; returns its length. `scratch` is the caller's reusable read
  // buffer. Throws Error(damage) naming the pack and offset of the first copy when the
  // block is missing or every copy is damaged. When the first copy is good (the usual
  // case) nothing is allocated. `stored_len`, if given, gets the size of
  // the record's payload in the pack.
  uint32_t read(const BlockId& id, uint8_t* out, std::vector<uint8_t>& scratch,
                uint32_t* stored_len = nullptr);

  // Hint: the first copies of `ids` will be read soon (restore's producer, a job ahead of
  // its workers); their packs are opened and told which bytes are wanted. Never throws
  // (a failure shows when the block is read).
  void prefetch(const std::vector<BlockId>& ids) noexcept;

  // The copies (and packs) that failed their check here and were not known to be bad.
  DamageSet found_damage() const;
  // How many reads took a further copy after a copy not known to be bad failed, and for
  // the first of those the block, what was wrong and the copy used ("" for none).
  size_t fallbacks() const;
  std::string first_fallback() const;

 private:
  // The pack, opened once (concurrent callers wait for the one opening it) and kept among
  // the k_max_open_packs most recently used.
  std::shared_ptr<const ObjectReader> open_pack(uint32_t ordinal);
  // Opens the pack and checks its header's version (Error(damage) when it cannot be opened).
  std::shared_ptr<const ObjectReader> open_pack_file(const PackId& id) const;
  // Reads one copy; returns what is wrong with it ("" when it is good).
  std::string read_copy(const BlockId& id, BlockLocation loc, uint8_t* out,
                        std::vector<uint8_t>& scratch, uint32_t& raw_len, uint32_t* stored_len);
  // read() once the first copy failed or is known bad: every copy in order, what was
  // wrong with each kept for the damage record and the error.
  uint32_t read_copies(const BlockId& id, uint8_t* out, std::vector<uint8_t>& scratch,
                       uint32_t* stored_len);
  bool known_bad(const BlockId& id, BlockLocation loc) const;
  // The copies of `id` in the order to try them: those `known` lists last.
  std::vector<BlockLocation> order_copies(const BlockId& id) const;
  void note_bad_copy(const BlockId& id, BlockLocation loc, bool whole_pack);
  void note_fallback(const BlockId& id, const std::string& what, BlockLocation used);

  const Store& m_store;
  const BlockIndex& m_index;
  const DamageSet* m_known;
  mutable std::mutex m_mutex;        // guards the open packs and what was found
  std::condition_variable m_opened;  // a pack being opened was opened (or failed)
  DamageSet m_found;
  size_t m_fallbacks = 0;
  std::string m_first_fallback;
  std::list<uint32_t> m_lru;  // the open packs, most recently used first
  // Each open pack's reader (null while a thread is opening it) and its place in m_lru.
  std::unordered_map<uint32_t,
                     std::pair<std::shared_ptr<const ObjectReader>, std::list<uint32_t>::iterator>>
      m_open;
};

// The end of a command that read through `reader`: adds the damage it found to the store's
// damage record (record_found) and, when reads took a further copy, warns once naming
// the first such block and the copy used. Returns reader.fallbacks().
size_t report_reading(const Store& store, const BlockReader& reader, ProgressSink& progress);
// Only the recording (also on the error path of a command): a failure to record is an
// info line of `progress`, never thrown (the record is advisory).
void record_found(const Store& store, const BlockReader& reader, ProgressSink& progress);

}  // namespace vssimg
