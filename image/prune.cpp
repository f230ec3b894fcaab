#include "image/prune.hpp"

#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "core/os/test_seams.hpp"
#include "image/prune_copies.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_set>
#include <utility>

namespace vssimg {

namespace {

using LiveSet = std::unordered_set<BlockId, BlockIdHash>;
using IndexedPack = std::pair<PackId, std::vector<PackEntry>>;

// One entry of an index segment on disk (docs/format.md, "Index segment"): the dry run's
// estimate of the new index is this per live block.
constexpr uint64_t k_segment_entry_size = 32;

// Test-only (core/os/test_seams.hpp): ends the process at `step` as abruptly as a power
// cut would (no destructors, no cleanup).
void crash_point(const char* step) {
  if (test_seams::prune_crash_at(step)) std::_Exit(137);
}

uint64_t size_or_zero(const Store& store, const ObjectRef& ref) {
  return store.storage().size(ref).value_or(0);
}

[[noreturn]] void refuse(const std::string& object, const std::string& cause) {
  throw Error(ErrorKind::damage, "pruning", object,
              cause + "; nothing was deleted; run vssimg verify");
}

uint64_t record_bytes(const PackEntry& e) {
  return k_record_header_size + e.stored_len + k_pack_table_entry_size;
}

uint64_t bytes_freed(const PruneStats& s) {
  return s.bytes_before > s.bytes_after ? s.bytes_before - s.bytes_after : 0;
}

// ---- Planning: steps 2 and 3 (docs/format.md, "Prune") ----

// Every block the points refer to; counts the points into `plan`.
LiveSet mark_live(const Store& store, PrunePlan& plan) {
  std::vector<std::string> problems;
  auto infos = store.list_points(&problems);
  if (!problems.empty()) {
    refuse(store.storage().location(), "a point file is unreadable (" + problems.front() + ")");
  }
  LiveSet live;
  for (const auto& info : infos) {
    Point p = store.load_point(info.id);
    for (const auto& b : p.map) {
      if (!b.is_marker()) live.insert(b);
    }
    ++plan.points;
    check_interrupted();
  }
  plan.live_blocks = live.size();
  return live;
}

// The index, refused when a segment is damaged or a live block is missing from it.
BlockIndex load_complete_index(const Store& store, const LiveSet& live) {
  std::vector<std::string> problems;
  BlockIndex index = store.load_index(&problems);
  if (!problems.empty()) {
    refuse(store.storage().location(), "an index segment is damaged (" + problems.front() + ")");
  }
  for (const auto& id : live) {
    if (!index.contains(id)) {
      refuse(store.storage().location(), "block " + id.hex() + " of a point is not in the index");
    }
  }
  return index;
}

// Plans an indexed pack from its own table: a record is live when a point refers to its
// block and the chooser keeps this copy (duplicates from interrupted backups and damaged
// copies with an intact twin are dead). Kept copies the damage record lists go to
// `kept_damage`. Throws Error(damage) when the table cannot be read.
PackPlan plan_pack(const Store& store, const CopyChooser& chooser, uint32_t ordinal,
                   const LiveSet& live, const PackId& id, uint64_t size, DamageSet& kept_damage,
                   bool young) {
  PackPlan plan;
  plan.id = id;
  plan.size = size;
  plan.young = young;
  if (!chooser.readable(ordinal)) return plan;  // nothing in it is kept (young: left alone)
  auto pack = store.storage().open(pack_object(id));
  for (const auto& e : read_pack_table(*pack, store.config().store_id, pack_display_name(id))) {
    BlockLocation loc;
    bool damaged = false;
    if (!young && (!live.count(e.id) || !chooser.choose(e.id, loc, damaged) ||
                   loc.pack != ordinal || loc.offset != e.offset)) {
      continue;
    }
    plan.live.push_back(e);
    plan.live_bytes += record_bytes(e);
    if (damaged) kept_damage.add_copy(e.id, id, e.offset, 0);
    plan.holds_damage = plan.holds_damage || damaged;
  }
  std::sort(plan.live.begin(), plan.live.end(),
            [](const PackEntry& a, const PackEntry& b) { return a.offset < b.offset; });
  return plan;
}

// A live block with no copy in a readable pack would be lost.
void refuse_unkeepable(const CopyChooser& chooser, const BlockIndex& index, const LiveSet& live) {
  for (const auto& id : live) {
    BlockLocation loc;
    bool damaged = false;
    if (chooser.choose(id, loc, damaged)) continue;
    index.find(id, loc);
    refuse("pack " + index.packs()[loc.pack].hex(),
           "it holds the only copy of block " + id.hex() + " and is unreadable or missing");
  }
}

// Reads every pack on disk into `plan` (indexed ones with their live records). Returns
// the ordinal of an indexed pack whose table turned out unreadable (the caller marks it
// and plans again), or nothing.
std::optional<uint32_t> plan_packs(const Store& store, const BlockIndex& index,
                                   const CopyChooser& chooser, const LiveSet& live, PrunePlan& plan,
                                   DamageSet& kept_damage) {
  std::map<PackId, uint32_t> ordinal;
  for (uint32_t i = 0; i < index.packs().size(); ++i) ordinal[index.packs()[i]] = i;
  const auto recent = store.storage().recent(
      ObjectKind::pack, test_seams::prune_window().value_or(k_prune_window_seconds));
  for (const auto& id : store.packs_on_disk()) {
    uint64_t size = size_or_zero(store, pack_object(id));
    plan.bytes_before += size;
    plan.pack_bytes_before += size;
    auto it = ordinal.find(id);
    const bool young = std::binary_search(recent.begin(), recent.end(), id.hex());
    plan.young += young ? 1 : 0;
    if (it == ordinal.end() && young) {  // a running backup's, before its segment
      ++plan.young_unindexed;
      continue;
    }
    if (it == ordinal.end()) {
      plan.unindexed.push_back(id);
      plan.unindexed_bytes += size;
      continue;
    }
    try {
      plan.packs.push_back(
          plan_pack(store, chooser, it->second, live, id, size, kept_damage, young));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::damage) throw;
      return it->second;
    }
    check_interrupted();
  }
  return std::nullopt;
}

// Plans every pack, again each time a pack's table turns out unreadable (its blocks must
// then be kept from other copies); then the damage record's entries that still apply.
void plan_all_packs(const Store& store, const BlockIndex& index, const LiveSet& live,
                    PrunePlan& plan) {
  plan.damage = load_damage(store.storage());
  plan.damage.set.merge(check_kept_copies(store, index, live, plan.damage.set));
  CopyChooser chooser(index, plan.damage.set, store.packs_on_disk());
  DamageSet kept_damage;
  for (;;) {
    PrunePlan attempt = plan;
    kept_damage = DamageSet();
    auto unreadable = plan_packs(store, index, chooser, live, attempt, kept_damage);
    if (!unreadable) {
      plan = std::move(attempt);
      break;
    }
    chooser.mark_unreadable(*unreadable);
  }
  refuse_unkeepable(chooser, index, live);
  for (const auto& e : plan.damage.set.entries()) {
    if (kept_damage.contains(e)) plan.damage_after.add(e);
  }
}

// The counts every report shares, planned or done.
PruneStats stats_of_plan(const PrunePlan& plan) {
  PruneStats stats;
  stats.points = plan.points;
  stats.live_blocks = plan.live_blocks;
  stats.packs_before = plan.packs.size() + plan.unindexed.size() + plan.young_unindexed;
  stats.packs_unindexed = plan.unindexed.size();
  stats.packs_deleted = plan.unindexed.size() + plan.count(PackAction::remove);
  stats.packs_repacked = plan.count(PackAction::repack);
  stats.packs_young = plan.young;
  stats.bytes_before = plan.bytes_before;
  stats.pack_bytes_before = plan.pack_bytes_before;
  stats.unused_before = plan.unused_before();
  stats.unused_after = plan.unused_after();  // exact after execution too: new packs hold no dead
  return stats;
}

// ---- Execution: steps 1 and 4 to 7 ----

// Step 4 (docs/format.md, "Prune"): copies the live records of the packs to repack into new packs
// of about the target size, checking each record first: a damaged record is never copied into a
// healthy-looking pack. Committed packs go to `committed` for the new index.
class Repacker {
 public:
  Repacker(const Store& store, size_t target_size, std::vector<IndexedPack>& committed,
           ProgressSink& progress)
      : m_store(store),
        m_target_size(target_size),
        m_committed(committed),
        m_progress(progress),
        m_out(store.block_size()) {}

  // Throws Error(damage) naming the first damaged live record of `pack`.
  void copy_live_records(const PackPlan& pack) {
    auto f = m_store.storage().open(pack_object(pack.id));
    m_buf.resize(static_cast<size_t>(f->size()));
    f->read_exact_at(m_buf.data(), m_buf.size(), 0);
    for (const auto& e : pack.live) {
      uint32_t raw_len = 0;
      std::string what = check_record(m_buf.data() + e.offset, m_buf.size() - e.offset, e.id,
                                      m_store.hasher(), m_out.data(), m_out.size(), raw_len);
      if (!what.empty()) {
        throw Error(ErrorKind::damage, "repacking",
                    fmt::format("pack {} record at offset {}", pack.id.hex(), e.offset),
                    what + "; nothing was deleted; run vssimg verify --read-data");
      }
      add(e, m_buf.data() + e.offset + k_record_header_size);
      m_bytes_copied += record_bytes(e);
      m_progress.update(m_bytes_copied);
    }
  }
  // Commits the pack being written, if any.
  void commit() {
    if (!m_writer) return;
    m_committed.emplace_back(m_writer->id(), m_writer->commit());
    ++m_packs_written;
    m_writer.reset();
  }
  uint64_t bytes_copied() const { return m_bytes_copied; }
  size_t packs_written() const { return m_packs_written; }

 private:
  void add(const PackEntry& e, const uint8_t* payload) {
    if (!m_writer) {
      m_writer = std::make_unique<PackWriter>(m_store.storage(), m_store.config().store_id);
    }
    m_writer->add(e.id, e.codec, payload, e.stored_len, e.raw_len);
    if (m_writer->size() >= m_target_size) commit();
  }

  const Store& m_store;
  size_t m_target_size;
  std::vector<IndexedPack>& m_committed;
  ProgressSink& m_progress;
  std::vector<uint8_t> m_buf, m_out;  // a whole pack; one decoded block
  std::unique_ptr<PackWriter> m_writer;
  uint64_t m_bytes_copied = 0;
  size_t m_packs_written = 0;
};

// The packs the new index names: kept ones first, then the new packs of repacked records.
std::vector<IndexedPack> repack(const Store& store, const PrunePlan& plan, ProgressSink& progress,
                                PruneStats& stats) {
  std::vector<IndexedPack> packs;
  for (const auto& p : plan.packs) {
    if (p.action == PackAction::keep) packs.emplace_back(p.id, p.live);
  }
  progress.begin("prune: repacking", plan.live_bytes_of(PackAction::repack));
  Repacker repacker(store, plan.pack_target_size, packs, progress);
  for (const auto& p : plan.packs) {
    if (p.action != PackAction::repack) continue;
    repacker.copy_live_records(p);
    check_interrupted();
  }
  repacker.commit();
  progress.end();
  stats.bytes_repacked = repacker.bytes_copied();
  stats.packs_written = repacker.packs_written();
  return packs;
}

// Step 5: segments covering every live block, durable before anything old goes. From
// here on old and new segments together, or the new ones alone, are a valid index.
void write_new_index(const Store& store, std::vector<IndexedPack> packs, PruneStats& stats) {
  SegmentBatcher segments(store.storage(), store.config().store_id);
  size_t written = 0;
  auto crash_after_segment = [&] {  // once after every segment written
    if (segments.segments_written() != written) crash_point("segment");
    written = segments.segments_written();
  };
  for (auto& [pack, entries] : packs) {
    segments.add(pack, std::move(entries));
    crash_after_segment();
  }
  segments.flush();
  crash_after_segment();
  stats.segments_written = segments.segments_written();
  crash_point("index");
}

// Steps 6 and 7: the old segments, then the packs nothing live is in (the new index does not
// name them, so a crash here leaves only unreferenced packs for the next prune).
void delete_old(const Store& store, const PrunePlan& plan, PruneStats& stats) {
  const Storage& storage = store.storage();
  const auto& old = plan.old_segments;
  const auto half = old.begin() + static_cast<std::ptrdiff_t>((old.size() + 1) / 2);
  storage.remove_all(ObjectKind::index, {old.begin(), half});
  if (!old.empty()) crash_point("old-segments");  // a crash midway leaves both indexes mixed
  storage.remove_all(ObjectKind::index, {half, old.end()});
  stats.segments_deleted = old.size();
  std::vector<std::string> packs;
  for (const auto& id : plan.unindexed) packs.push_back(id.hex());
  for (const auto& p : plan.packs) {
    if (p.action != PackAction::keep) packs.push_back(p.id.hex());
  }
  if (packs.empty()) return;
  storage.remove(ObjectRef{ObjectKind::pack, packs.front()});
  crash_point("pack-deleted");
  storage.remove_all(ObjectKind::pack, {packs.begin() + 1, packs.end()});
}

void measure_after(const Store& store, PruneStats& stats) {
  for (const auto& name : store.segments())
    stats.bytes_after += size_or_zero(store, segment_object(name));
  for (const auto& id : store.packs_on_disk()) {
    stats.pack_bytes_after += size_or_zero(store, pack_object(id));
    ++stats.packs_after;
  }
  stats.bytes_after += stats.pack_bytes_after;
  stats.bytes_freed = bytes_freed(stats);
}

// Whether repacking `a` frees more dead bytes per live byte copied than repacking `b`
// (a.dead / a.live > b.dead / b.live, multiplied out); ties by id, so plans repeat.
bool frees_more_per_byte(const PackPlan& a, const PackPlan& b) {
  const auto ours = static_cast<long double>(dead_bytes(a)) * b.live_bytes;
  const auto theirs = static_cast<long double>(dead_bytes(b)) * a.live_bytes;
  if (ours != theirs) return ours > theirs;
  return a.id < b.id;
}

}  // namespace

bool UnusedLimit::allows(uint64_t unused, uint64_t pack_bytes) const {
  switch (kind) {
    case Kind::share:
      return static_cast<double>(unused) <= share * static_cast<double>(pack_bytes);
    case Kind::bytes:
      return unused <= bytes;
    case Kind::unlimited:
      break;
  }
  return true;
}

uint64_t dead_bytes(const PackPlan& pack) {
  uint64_t needed = pack.live_bytes + k_pack_header_size + k_pack_trailer_size;
  return pack.size > needed ? pack.size - needed : 0;
}

PackAction decide_pack(const PackPlan& pack, const PruneOptions& options) {
  if (pack.live.empty() && !pack.young) return PackAction::remove;
  if (pack.holds_damage || pack.young) return PackAction::keep;
  uint64_t dead = dead_bytes(pack);
  if (dead > 0 &&
      static_cast<double>(dead) >= options.repack_threshold * static_cast<double>(pack.size)) {
    return PackAction::repack;
  }
  return PackAction::keep;
}

void decide_packs(std::vector<PackPlan>& packs, const PruneOptions& options) {
  std::vector<PackPlan*> partial;  // live and dead records: the repack candidates
  uint64_t unused = 0;             // what the plan leaves, as packs are chosen
  uint64_t pack_bytes = 0;
  for (auto& p : packs) {
    p.action = p.live.empty() && !p.young ? PackAction::remove : PackAction::keep;
    if (p.action == PackAction::remove) continue;
    pack_bytes += p.size;
    unused += dead_bytes(p);
    if (dead_bytes(p) > 0 && !p.holds_damage && !p.young) partial.push_back(&p);
  }
  std::sort(partial.begin(), partial.end(),
            [](const PackPlan* a, const PackPlan* b) { return frees_more_per_byte(*a, *b); });
  uint64_t copied = 0;
  for (PackPlan* p : partial) {
    const bool wanted = decide_pack(*p, options) == PackAction::repack ||
                        !options.max_unused.allows(unused, pack_bytes);
    if (!wanted || p->live_bytes > options.max_repack_bytes - copied) continue;
    p->action = PackAction::repack;
    copied += p->live_bytes;
    unused -= dead_bytes(*p);
    pack_bytes -= p->size - p->live_bytes;  // the live records move to a new pack
  }
}

size_t PrunePlan::count(PackAction action) const {
  return static_cast<size_t>(std::count_if(packs.begin(), packs.end(),
                                           [&](const PackPlan& p) { return p.action == action; }));
}

uint64_t PrunePlan::size_of(PackAction action) const {
  uint64_t n = 0;
  for (const auto& p : packs) {
    if (p.action == action) n += p.size;
  }
  return n;
}

uint64_t PrunePlan::live_bytes_of(PackAction action) const {
  uint64_t n = 0;
  for (const auto& p : packs) {
    if (p.action == action) n += p.live_bytes;
  }
  return n;
}

uint64_t PrunePlan::unused_before() const {
  uint64_t n = unindexed_bytes;
  for (const auto& p : packs) n += p.live.empty() ? p.size : dead_bytes(p);
  return n;
}

uint64_t PrunePlan::unused_after() const {
  uint64_t n = 0;
  for (const auto& p : packs) {
    if (p.action == PackAction::keep) n += dead_bytes(p);
  }
  return n;
}

uint64_t PrunePlan::pack_bytes_after() const {
  return size_of(PackAction::keep) + live_bytes_of(PackAction::repack);
}

PrunePlan plan_prune(const Store& store, const PruneOptions& options) {
  const double started = monotonic_seconds();
  PrunePlan plan;
  plan.pack_target_size = options.pack_target_size;
  LiveSet live = mark_live(store, plan);
  BlockIndex index = load_complete_index(store, live);
  plan.old_segments = store.segments();
  for (const auto& name : plan.old_segments)
    plan.bytes_before += size_or_zero(store, segment_object(name));
  plan_all_packs(store, index, live, plan);
  decide_packs(plan.packs, options);
  plan.seconds = monotonic_seconds() - started;
  return plan;
}

PruneStats planned_stats(const PrunePlan& plan) {
  PruneStats stats = stats_of_plan(plan);
  // Kept packs, the repacked records in new packs, and the new index.
  const uint64_t repacked = plan.live_bytes_of(PackAction::repack);
  const uint64_t target = plan.pack_target_size;
  stats.bytes_repacked = repacked;
  stats.pack_bytes_after = plan.pack_bytes_after();
  stats.bytes_after = stats.pack_bytes_after + stats.live_blocks * k_segment_entry_size;
  stats.packs_after = stats.packs_before - stats.packs_deleted - stats.packs_repacked +
                      (repacked ? (repacked + target - 1) / target : 0);
  stats.bytes_freed = bytes_freed(stats);
  stats.seconds = plan.seconds;
  return stats;
}

PruneStats execute_prune(const Store& store, const PrunePlan& plan, ProgressSink& progress) {
  const double started = monotonic_seconds();
  PruneStats stats = stats_of_plan(plan);
  stats.tmp_files_removed = store.clean_tmp(Leftovers::all);  // under the exclusive lock
  auto packs = repack(store, plan, progress, stats);
  crash_point("packs");
  write_new_index(store, std::move(packs), stats);
  delete_old(store, plan, stats);
  // Last: until here the old entries still describe copies that exist.
  replace_damage(store.storage(), plan.damage, plan.damage_after, true);
  stats.damage_forgotten = plan.damage.set.size() - plan.damage_after.size();
  stats.tmp_files_removed += store.clean_tmp(Leftovers::all);
  measure_after(store, stats);
  stats.seconds = plan.seconds + (monotonic_seconds() - started);
  return stats;
}

}  // namespace vssimg
