#include "image/verify.hpp"

#include "core/base/error.hpp"
#include "core/os/platform.hpp"
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

struct ChosenPoints {
  std::vector<Point> points;  // those that loaded
  BlockSet referenced;        // their distinct data blocks
};

// Loads the points `ids`; one that does not load is damage (a newer format is refused).
ChosenPoints load_points(const Store& store, const std::vector<std::string>& ids,
                         VerifyResult& result) {
  ChosenPoints chosen;
  for (const auto& id : ids) {
    ++result.points_checked;
    try {
      chosen.points.push_back(store.load_point(id));
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::newer_format) throw;  // a newer point format: refuse (exit 10)
      result.damage.push_back(Damage{id, Damage::k_whole_file, "", e.what()});
      ++result.points_damaged;
      continue;
    }
    for (const auto& b : chosen.points.back().map) {
      if (!b.is_marker()) chosen.referenced.insert(b);
    }
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

// Runs the pack checker under the read plan and adds its findings to `result` and
// `bad`; remembers in verify.state what --read-data read.
void check_packs(const Store& store, const BlockIndex& index, const ChosenPoints& chosen,
                 const VerifyOptions& options, VerifyResult& result, BadBlocks& bad,
                 ProgressSink& progress) {
  const bool remember = options.read_data && options.remember;
  PackReadTimes state;
  if (remember) state = load_verify_state(store, result.notes);
  ReadPlan plan = plan_reads(index.packs(), options, state);
  const unsigned threads = options.threads ? options.threads : hardware_threads();
  const bool scoped = !options.points.empty();
  PackCheckResult checked =
      PackChecker(store, index, chosen.referenced, options.read_data, scoped, plan)
          .run(threads, progress);
  result.damage.insert(result.damage.end(), checked.pack_damage.begin(), checked.pack_damage.end());
  bad.merge(checked.bad);
  result.packs_checked = checked.packs_checked;
  result.bytes_read = checked.bytes_read;
  result.records_read = checked.records_read;
  if (options.read_data) {
    result.packs_selected = plan.selected_count();
    result.packs_read = plan.read_count();
    result.time_limit_reached = plan.deadline != 0 && result.packs_read < result.packs_selected;
  }
  // A damaged store is left exactly as it was found (the state is advisory).
  if (remember && result.damage.empty()) {
    save_verify_state(store, updated_verify_state(index.packs(), plan, state, now_unix()),
                      result.notes);
  }
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

// One damage record per damaged block of each point, at its volume offset, in map order.
void attribute_damage(const std::vector<Point>& points, const BadBlocks& bad,
                      VerifyResult& result) {
  for (const auto& p : points) {
    bool damaged = false;
    uint64_t unreadable = 0;
    for (size_t i = 0; i < p.map.size(); ++i) {
      const BlockId& b = p.map[i];
      if (b.is_unreadable()) ++unreadable;
      if (b.is_marker()) continue;
      auto it = bad.find(b);
      if (it == bad.end()) continue;
      damaged = true;
      result.damage.push_back(
          Damage{p.id, uint64_t{i} * p.block_size, it->second.pack, it->second.what});
    }
    if (damaged) ++result.points_damaged;
    if (unreadable) {
      result.notes.push_back(fmt::format(
          "point {} has {} block(s) that were unreadable at backup time", p.id, unreadable));
    }
  }
}

}  // namespace

VerifyResult run_verify(const Store& store, const VerifyOptions& options, ProgressSink& progress) {
  VerifyResult result;
  std::vector<std::string> problems;
  BlockIndex index = store.load_index(&problems);
  // With points selected, a damaged segment matters only through blocks those points
  // lose ("not in the index", reported per offset).
  for (const auto& p : problems) {
    if (!options.points.empty())
      result.notes.push_back(p);
    else
      result.damage.push_back(Damage{"", Damage::k_whole_file, "", p});
  }
  const ChosenPoints chosen = load_points(store, point_ids(store, options), result);
  BadBlocks bad = lost_blocks(index, chosen.referenced);
  check_packs(store, index, chosen, options, result, bad, progress);
  note_unindexed_packs(store, index, result.notes);
  attribute_damage(chosen.points, bad, result);
  return result;
}

}  // namespace vssimg
