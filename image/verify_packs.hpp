// The pack checker of verify: every pack the index refers to is present, its table
// intact and agreeing with the index; with --read-data, the records of the referenced
// blocks in the packs the read plan selects decode and re-hash to their ids. Every copy
// of a block the index knows is checked where it is.
#pragma once

#include "core/base/error.hpp"
#include "core/base/hash.hpp"
#include "core/base/progress.hpp"
#include "image/index.hpp"
#include "image/store.hpp"
#include "image/verify.hpp"
#include "image/verify_plan.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace vssimg {

using BlockSet = std::unordered_set<BlockId, BlockIdHash>;

// What is wrong with one damaged copy of a block, and where it is (pack empty if none).
struct BadBlock {
  std::string pack;
  std::string what;
  uint32_t offset = 0;      // of the record in the pack
  bool whole_pack = false;  // the pack itself cannot be opened or its table read
};
// The damaged blocks (every copy damaged), with what is wrong with the first copy.
using BadBlocks = std::unordered_map<BlockId, BadBlock, BlockIdHash>;
// Damaged copies, in the order found.
using BadCopies = std::vector<std::pair<BlockId, BadBlock>>;

struct PackCheckResult {
  std::vector<Damage> pack_damage;  // one whole-file record per pack that cannot be read
  BadCopies bad;                    // the copies in damaged packs and records
  size_t packs_checked = 0;
  uint64_t records_read = 0;
  uint64_t bytes_read = 0;
};

class PackChecker {
 public:
  // `referenced`: the data blocks of the points checked; only their records are read.
  // With `scoped` (points were selected), packs holding none of them are not checked.
  // With `read_data`, reads the packs `plan` selects, in its order, and marks those it
  // read in plan.read. All referenced objects outlive the checker.
  PackChecker(const Store& store, const BlockIndex& index, const BlockSet& referenced,
              bool read_data, bool scoped, ReadPlan& plan);

  // Checks the packs on `threads` threads. Throws the error of a pack of a newer format
  // (store_not_found, refused like a newer config) once all threads have stopped, and
  // Error(interrupted) at an interrupt.
  PackCheckResult run(unsigned threads, ProgressSink& progress);

 private:
  using Entries = std::vector<std::pair<BlockId, uint32_t>>;  // id, record offset
  using BadList = BadCopies;

  void work(ProgressSink& progress);
  bool holds_referenced(const Entries& entries) const;
  // Checks pack ordinal `p`; returns its damaged blocks and sets `problem` when the pack
  // itself cannot be opened or its table read (then all its blocks are damaged).
  BadList check_pack(size_t p, std::string& problem, std::vector<uint8_t>& window,
                     std::vector<uint8_t>& block);
  void check_table(const ObjectReader& pack, const Entries& entries, const std::string& pack_hex,
                   BadList& bad) const;
  // Reads the referenced records of the pack in offset order (sorts `entries`).
  std::string read_window(const ObjectReader& pack, uint8_t* window, size_t want, uint64_t at);
  std::string read_one(const ObjectReader& pack, std::vector<uint8_t>& window, uint64_t at,
                       uint64_t size, size_t& want);
  void check_records(const ObjectReader& pack, Entries& entries, const std::string& pack_hex,
                     BadList& bad, std::vector<uint8_t>& window, std::vector<uint8_t>& block);

  const Store& m_store;
  const BlockIndex& m_index;
  const BlockSet& m_referenced;
  const bool m_read_data;
  const bool m_scoped;
  ReadPlan& m_plan;
  std::vector<Entries> m_by_pack;  // the index's entries per pack ordinal

  std::atomic<size_t> m_next{0};  // the next position in m_plan.order to check
  std::atomic<size_t> m_packs_done{0};
  std::atomic<uint64_t> m_bytes{0}, m_records{0};
  std::mutex m_mutex;  // guards m_result and m_newer
  PackCheckResult m_result;
  std::unique_ptr<Error> m_newer;
};

}  // namespace vssimg
