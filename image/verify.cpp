#include "image/verify.hpp"

#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/damage.hpp"
#include "image/point_map_stream.hpp"
#include "image/verify_packs.hpp"
#include "image/verify_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace vssimg {

namespace {

// The ids of the points to check: the selected ones, or all, including those whose
// header is unreadable (damage that list_points only warns about).
std::vector<std::string> point_ids(const Store& store, const VerifyOptions& options) {
  std::vector<std::string> ids = options.points;
  if (!ids.empty()) return ids;
  std::vector<std::string> list_problems;
  for (const auto& info : store.list_points(&list_problems)) ids.push_back(info.id);
  for (const auto& id : store.storage().list(ObjectKind::point)) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

// A point whose map read whole: its id, block size and UNREADABLE entries. Maps are never
// held whole (a 16 TiB volume's is 1 GiB at 256 KiB blocks): each pass streams them.
struct ChosenPoint {
  std::string id;
  uint32_t block_size = 0;
  uint64_t unreadable = 0;
};

struct ChosenPoints {
  std::vector<ChosenPoint> points;  // those that read whole
  BlockSet referenced;              // their distinct data blocks
};

// Calls f(block number, entry) for every entry of point `id`'s map, in volume order, one
// map chunk in memory. Throws Error as open_point_map and PointMapReader do.
template <class F>
void for_each_entry(const Store& store, const std::string& id, PointInfo& info, F&& f) {
  const auto map = open_point_map(store, id);
  uint64_t b = 0;
  for (;;) {
    const std::vector<BlockId>& chunk = map->next_chunk();
    if (chunk.empty()) break;
    for (const auto& e : chunk) f(b++, e);
  }
  info = map->info();
}

// Reads the points `ids`; one whose map does not read whole is damage (a newer format is
// refused). A point's blocks count as referenced only once its whole map (every chunk
// checksum, the file's checksum) read clean, so it is streamed twice.
ChosenPoints load_points(const Store& store, const std::vector<std::string>& ids,
                         VerifyResult& result) {
  ChosenPoints chosen;
  for (const auto& id : ids) {
    ++result.points_checked;
    ChosenPoint point{id};
    PointInfo info;
    try {
      for_each_entry(store, id, info, [&](uint64_t, const BlockId& e) {
        point.unreadable += e.is_unreadable() ? 1 : 0;
      });
      for_each_entry(store, id, info, [&](uint64_t, const BlockId& e) {
        if (!e.is_marker()) chosen.referenced.insert(e);
      });
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::newer_format) throw;  // a newer point format: refuse (exit 10)
      result.damage.push_back(Damage{id, Damage::k_whole_file, "", e.what()});
      ++result.points_damaged;
      continue;
    }
    point.block_size = info.block_size;
    chosen.points.push_back(point);
  }
  result.blocks_referenced = chosen.referenced.size();
  return chosen;
}

BadBlocks lost_blocks(const BlockIndex& index, const BlockSet& referenced) {
  BadBlocks bad;
  for (const auto& id : referenced) {
    if (!index.contains(id)) bad.emplace(id, BadBlock{"", "block is not in the index (lost)"});
  }
  return bad;
}

// The copies of referenced blocks that the damage record lists and this run did not read
// (`read`: per pack ordinal): damage found earlier stays damage until a read finds the
// copy intact or prune drops it.
void add_recorded_copies(const BlockIndex& index, const BlockSet& referenced,
                         const DamageSet& recorded, const std::vector<char>& read, BadCopies& bad) {
  if (recorded.empty()) return;
  index.for_each_copy([&](const BlockId& id, BlockLocation loc) {
    const PackId& pack = index.packs()[loc.pack];
    if (read[loc.pack] || !referenced.count(id) || !recorded.copy_bad(id, pack, loc.offset)) return;
    bad.emplace_back(id, BadBlock{pack.hex(),
                                  fmt::format("record at offset {}: found damaged by an earlier "
                                              "check (damage record)",
                                              loc.offset),
                                  loc.offset, recorded.has_pack(pack)});
  });
}

// The blocks whose every copy is damaged; a block with an intact copy left is a note.
void judge_copies(const BlockIndex& index, const BadCopies& copies, BadBlocks& bad,
                  std::vector<std::string>& notes) {
  std::unordered_map<BlockId, std::set<std::pair<std::string, uint32_t>>, BlockIdHash> seen;
  for (const auto& [id, b] : copies) seen[id].emplace(b.pack, b.offset);
  BlockSet intact_left;
  const BadBlock* example = nullptr;
  for (const auto& [id, b] : copies) {
    if (seen[id].size() >= index.copies(id).size()) {
      bad.emplace(id, b);  // the first copy found names the damage
    } else if (intact_left.insert(id).second && !example) {
      example = &b;
    }
  }
  if (const size_t healed = intact_left.size()) {
    notes.push_back(fmt::format(
        "{} block(s) have a damaged copy and an intact one, which is used (e.g. pack {}: {}); "
        "`vssimg prune` removes the damaged copies",
        healed, example->pack, example->what));
  }
}

// What this run found, for the store's damage record (bad copies, unreadable packs and
// segments); what was read from the record already is not added again.
DamageSet found_damage(const BadCopies& copies, const std::vector<std::string>& segments) {
  DamageSet found;
  const int64_t now = now_unix();
  for (const auto& [id, b] : copies) {
    PackId pack;
    if (!PackId::parse(b.pack, pack)) continue;
    if (b.whole_pack)
      found.add_pack(pack, now);
    else
      found.add_copy(id, pack, b.offset, now);
  }
  for (const auto& name : segments) found.add_segment(name, now);
  return found;
}

// Runs the pack checker under the read plan and adds its findings to `result` and
// `bad`; remembers in verify.state what --read-data read. Returns, per pack ordinal,
// whether its data was read.
std::vector<char> check_packs(const Store& store, const BlockIndex& index,
                              const ChosenPoints& chosen, const VerifyOptions& options,
                              VerifyResult& result, BadCopies& bad,
                              std::vector<Damage>& pack_damage, ProgressSink& progress) {
  const bool remember = options.read_data && options.remember;
  PackReadTimes state;
  if (remember) state = load_verify_state(store, result.notes);
  ReadPlan plan = plan_reads(index.packs(), options, state);
  const unsigned threads = options.threads ? options.threads : hardware_threads();
  const bool scoped = !options.points.empty();
  PackCheckResult checked =
      PackChecker(store, index, chosen.referenced, options.read_data, scoped, plan)
          .run(threads, progress);
  pack_damage = checked.pack_damage;
  bad.insert(bad.end(), checked.bad.begin(), checked.bad.end());
  result.packs_checked = checked.packs_checked;
  result.bytes_read = checked.bytes_read;
  result.records_read = checked.records_read;
  if (options.read_data) {
    result.packs_selected = plan.selected_count();
    result.packs_read = plan.read_count();
    result.time_limit_reached = plan.deadline != 0 && result.packs_read < result.packs_selected;
  }
  // After damage the order stays (the state is advisory; the damage record says more).
  if (remember && !options.read_only && checked.pack_damage.empty() && checked.bad.empty()) {
    save_verify_state(store, updated_verify_state(index.packs(), plan, state, now_unix()),
                      result.notes);
  }
  return plan.read;
}

// Packs on disk that no index segment names: left by an interrupted backup.
void note_unindexed_packs(const Store& store, const BlockIndex& index,
                          std::vector<std::string>& notes) {
  std::set<PackId> indexed(index.packs().begin(), index.packs().end());
  size_t unindexed = 0;
  for (const auto& p : store.packs_on_disk()) unindexed += indexed.count(p) ? 0 : 1;
  if (unindexed) {
    notes.push_back(fmt::format(
        "{} pack(s) are not in the index (left by an interrupted backup, or a lost index segment; "
        "`vssimg repair index` indexes them, `vssimg prune` removes unused ones)",
        unindexed));
  }
}

// One damage record per damaged block of each point, at its volume offset, in map order
// (the maps are streamed again only when there is damage to place).
void attribute_damage(const Store& store, const std::vector<ChosenPoint>& points,
                      const BadBlocks& bad, VerifyResult& result) {
  for (const auto& p : points) {
    bool damaged = false;
    if (!bad.empty()) {
      PointInfo info;
      try {
        for_each_entry(store, p.id, info, [&](uint64_t i, const BlockId& b) {
          if (b.is_marker()) return;
          auto it = bad.find(b);
          if (it == bad.end()) return;
          damaged = true;
          result.damage.push_back(Damage{p.id, i * p.block_size, it->second.pack, it->second.what});
        });
      } catch (const Error& e) {  // changed since it read whole: damage all the same
        if (e.kind() == ErrorKind::newer_format) throw;
        result.damage.push_back(Damage{p.id, Damage::k_whole_file, "", e.what()});
        damaged = true;
      }
    }
    if (damaged) ++result.points_damaged;
    if (p.unreadable) {
      result.notes.push_back(fmt::format(
          "point {} has {} block(s) that were unreadable at backup time", p.id, p.unreadable));
    }
  }
}

// Damaged segments and unreadable packs are damage when a block of the points checked is
// lost or damaged through them; when every such block has an intact copy elsewhere (a
// healed store) they are notes: they cost space until prune or repair index.
void report_store_damage(const std::vector<std::string>& segment_problems,
                         const std::vector<Damage>& pack_damage, const BadBlocks& bad,
                         const VerifyOptions& options, VerifyResult& result) {
  std::set<std::string> packs_with_bad;
  bool lost = false;
  for (const auto& [id, b] : bad) {
    packs_with_bad.insert(b.pack);
    lost = lost || b.pack.empty();
  }
  for (const auto& p : segment_problems) {
    if (!options.points.empty() || !lost)
      result.notes.push_back(p +
                             " (no block of the points checked is lost through it; "
                             "`vssimg repair index` rebuilds the index)");
    else
      result.damage.push_back(Damage{"", Damage::k_whole_file, "", p});
  }
  for (const auto& d : pack_damage) {
    if (packs_with_bad.count(d.pack))
      result.damage.push_back(d);
    else
      result.notes.push_back(d.what +
                             " (every block of the points checked in it has an intact "
                             "copy elsewhere; `vssimg prune` drops it)");
  }
}

// Adds what this run found to the store's damage record; a failure is a note (the record
// is advisory: the next verify finds the damage again).
void save_damage(const Store& store, const DamageSet& found, std::vector<std::string>& notes) {
  if (found.empty()) return;
  try {
    record_damage(store.storage(), found);
  } catch (const Error& e) {
    notes.push_back(fmt::format("could not record the damage found: {}", e.what()));
  }
}

}  // namespace

VerifyResult run_verify(const Store& store, const VerifyOptions& options, ProgressSink& progress) {
  VerifyResult result;
  std::vector<std::string> problems, damaged_segments;
  BlockIndex index = store.load_index(&problems, &damaged_segments);
  const ChosenPoints chosen = load_points(store, point_ids(store, options), result);
  DamageRecord record = load_damage(store.storage());
  result.notes.insert(result.notes.end(), record.notes.begin(), record.notes.end());
  BadCopies copies;
  std::vector<Damage> pack_damage;
  const auto read =
      check_packs(store, index, chosen, options, result, copies, pack_damage, progress);
  const DamageSet found = found_damage(copies, damaged_segments);
  add_recorded_copies(index, chosen.referenced, record.set, read, copies);
  BadBlocks bad = lost_blocks(index, chosen.referenced);
  judge_copies(index, copies, bad, result.notes);
  report_store_damage(problems, pack_damage, bad, options, result);
  note_unindexed_packs(store, index, result.notes);
  attribute_damage(store, chosen.points, bad, result);
  if (!options.read_only) save_damage(store, found, result.notes);
  return result;
}

}  // namespace vssimg
