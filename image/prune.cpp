#include "image/prune.hpp"

#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/platform.hpp"
#include "core/os/test_seams.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <unordered_set>

namespace vssimg {

namespace fs = std::filesystem;

namespace {

// Test-only (core/os/test_seams.hpp): ends the process at `step` as abruptly as a power
// cut would (no destructors, no cleanup).
void crash_point(const char* step) {
  if (test_seams::prune_crash_at(step)) std::_Exit(137);
}

uint64_t file_size_or_zero(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

struct PackPlan {
  PackId id;
  uint64_t size = 0;
  std::vector<PackEntry> live;  // records to keep, by offset
  uint64_t live_bytes = 0;      // of `live` records, with their table entries
  enum class Action { keep, remove, repack } action = Action::keep;
};

void remove_file(const fs::path& p, const std::string& what) {
  std::error_code ec;
  fs::remove(p, ec);
  if (ec) throw Error("deleting", what + " " + p.string(), ec.message());
}

}  // namespace

PruneStats run_prune(const Store& store, const PruneOptions& options, ProgressSink& progress) {
  const double started = monotonic_seconds();
  PruneStats stats;
  if (!options.dry_run) stats.tmp_files_removed = store.clean_tmp();

  // 1. Mark: every block the remaining points refer to.
  std::vector<std::string> problems;
  auto infos = store.list_points(&problems);
  if (!problems.empty()) {
    throw Error(ErrorKind::damage, "pruning", store.root().string(),
                "a point file is unreadable (" + problems.front() +
                    "); nothing was deleted; run vssimg verify");
  }
  std::unordered_set<BlockId, BlockIdHash> live;
  for (const auto& info : infos) {
    Point p = store.load_point(info.id);
    for (const auto& b : p.map) {
      if (!b.is_marker()) live.insert(b);
    }
    ++stats.points;
    check_interrupted();
  }
  stats.live_blocks = live.size();

  std::vector<std::string> index_problems;
  BlockIndex index = store.load_index(&index_problems);
  if (!index_problems.empty()) {
    throw Error(ErrorKind::damage, "pruning", store.root().string(),
                "an index segment is damaged (" + index_problems.front() +
                    "); nothing was deleted; run vssimg verify");
  }
  for (const auto& id : live) {
    if (!index.contains(id)) {
      throw Error(ErrorKind::damage, "pruning", store.root().string(),
                  "block " + id.hex() +
                      " of a point is not in the index; nothing was deleted; run vssimg verify");
    }
  }
  const auto old_segments = store.segment_paths();
  for (const auto& s : old_segments) stats.bytes_before += file_size_or_zero(s);

  // 2. Plan each pack from its own table: a record is live when a point refers to its
  // block and the index chose this copy (duplicates from interrupted backups are dead).
  std::set<PackId> indexed(index.packs().begin(), index.packs().end());
  std::map<PackId, uint32_t> ordinal;
  for (uint32_t i = 0; i < index.packs().size(); ++i) ordinal[index.packs()[i]] = i;
  std::vector<PackPlan> plans;
  std::vector<PackId> unindexed;
  for (const auto& id : store.packs_on_disk()) {
    uint64_t size = file_size_or_zero(store.pack_path(id));
    stats.bytes_before += size;
    ++stats.packs_before;
    if (!indexed.count(id)) {
      unindexed.push_back(id);
      continue;
    }
    PackPlan plan;
    plan.id = id;
    plan.size = size;
    File f(store.pack_path(id), File::Open::read);
    for (const auto& e : read_pack_table(f, store.config().store_id)) {
      BlockLocation loc;
      if (live.count(e.id) && index.find(e.id, loc) && loc.pack == ordinal[id] &&
          loc.offset == e.offset) {
        plan.live.push_back(e);
        plan.live_bytes += k_record_header_size + e.stored_len + k_pack_table_entry_size;
      }
    }
    std::sort(plan.live.begin(), plan.live.end(),
              [](const PackEntry& a, const PackEntry& b) { return a.offset < b.offset; });
    uint64_t needed = plan.live_bytes + k_pack_header_size + k_pack_trailer_size;
    uint64_t dead = plan.size > needed ? plan.size - needed : 0;
    if (plan.live.empty()) {
      plan.action = PackPlan::Action::remove;
    } else if (dead > 0 && static_cast<double>(dead) >=
                               options.repack_threshold * static_cast<double>(plan.size)) {
      plan.action = PackPlan::Action::repack;
    }
    plans.push_back(std::move(plan));
    check_interrupted();
  }
  // Indexed packs missing from disk: their live blocks would be lost; refuse.
  {
    std::set<PackId> on_disk;
    for (const auto& p : plans) on_disk.insert(p.id);
    for (const auto& id : live) {
      BlockLocation loc;
      index.find(id, loc);
      if (!on_disk.count(index.packs()[loc.pack])) {
        throw Error(ErrorKind::damage, "pruning", "pack " + index.packs()[loc.pack].hex(),
                    "the index names it but it is missing; nothing was deleted; run vssimg verify");
      }
    }
  }
  stats.packs_unindexed = unindexed.size();
  stats.packs_deleted = unindexed.size();
  uint64_t kept_bytes = 0, repack_live = 0;
  for (const auto& p : plans) {
    if (p.action == PackPlan::Action::remove) ++stats.packs_deleted;
    if (p.action == PackPlan::Action::repack) {
      ++stats.packs_repacked;
      repack_live += p.live_bytes;
    }
    if (p.action == PackPlan::Action::keep) kept_bytes += p.size;
  }

  if (options.dry_run) {
    // Estimate: kept packs, the repacked records in new packs, and one index entry
    // (32 bytes) per live block.
    stats.bytes_repacked = repack_live;
    stats.bytes_after = kept_bytes + repack_live + stats.live_blocks * 32;
    stats.packs_after =
        stats.packs_before - stats.packs_deleted - stats.packs_repacked +
        (repack_live ? (repack_live + options.pack_target_size - 1) / options.pack_target_size : 0);
    stats.bytes_freed =
        stats.bytes_before > stats.bytes_after ? stats.bytes_before - stats.bytes_after : 0;
    stats.seconds = monotonic_seconds() - started;
    return stats;
  }

  // 3. Repack: copy live records of mostly dead packs into new packs, checking each
  // (a damaged record is never copied into a healthy-looking pack).
  std::vector<std::pair<PackId, std::vector<PackEntry>>> new_index;
  for (const auto& p : plans) {
    if (p.action == PackPlan::Action::keep) new_index.emplace_back(p.id, p.live);
  }
  progress.begin("prune: repacking", repack_live);
  uint64_t copied = 0;
  std::unique_ptr<PackWriter> writer;
  auto commit_writer = [&] {
    if (!writer) return;
    new_index.emplace_back(writer->id(), writer->commit());
    ++stats.packs_written;
    writer.reset();
  };
  std::vector<uint8_t> buf, out(store.block_size());
  for (const auto& p : plans) {
    if (p.action != PackPlan::Action::repack) continue;
    File f(store.pack_path(p.id), File::Open::read);
    buf.resize(static_cast<size_t>(f.size()));
    f.read_exact_at(buf.data(), buf.size(), 0);
    for (const auto& e : p.live) {
      uint32_t raw_len = 0;
      std::string what = check_record(buf.data() + e.offset, buf.size() - e.offset, e.id,
                                      store.hasher(), out.data(), out.size(), raw_len);
      if (!what.empty()) {
        throw Error(ErrorKind::damage, "repacking",
                    fmt::format("pack {} record at offset {}", p.id.hex(), e.offset),
                    what + "; nothing was deleted; run vssimg verify --read-data");
      }
      if (!writer) writer = std::make_unique<PackWriter>(store.root(), store.config().store_id);
      writer->add(e.id, e.codec, buf.data() + e.offset + k_record_header_size, e.stored_len,
                  e.raw_len);
      if (writer->size() >= options.pack_target_size) commit_writer();
      copied += k_record_header_size + e.stored_len + k_pack_table_entry_size;
      progress.update(copied);
    }
    check_interrupted();
  }
  commit_writer();
  progress.end();
  stats.bytes_repacked = copied;
  crash_point("packs");

  // 4. The new index: segments covering every live block, durable before anything old
  // goes. From here on old and new segments together, or the new ones alone, are a
  // valid index.
  SegmentBatcher segments(store.root(), store.config().store_id);
  size_t written = 0;
  auto crash_after_segment = [&] {  // once after every segment written
    if (segments.segments_written() != written) crash_point("segment");
    written = segments.segments_written();
  };
  for (auto& [pack, entries] : new_index) {
    segments.add(pack, std::move(entries));
    crash_after_segment();
  }
  segments.flush();
  crash_after_segment();
  stats.segments_written = segments.segments_written();
  sync_directory(store.root() / "index");
  crash_point("index");

  // 5. Delete the old segments, then the packs nothing live is in (the new index does
  // not name them, so a crash here leaves only unreferenced packs for the next prune).
  size_t n = 0;
  for (const auto& s : old_segments) {
    remove_file(s, "index segment");
    ++stats.segments_deleted;
    if (++n == (old_segments.size() + 1) / 2) crash_point("old-segments");
  }
  sync_directory(store.root() / "index");
  std::set<fs::path> pack_dirs;
  auto delete_pack = [&](const PackId& id) {
    remove_file(store.pack_path(id), "pack");
    pack_dirs.insert(store.pack_path(id).parent_path());
    crash_point("pack-deleted");
  };
  for (const auto& id : unindexed) delete_pack(id);
  for (const auto& p : plans) {
    if (p.action != PackPlan::Action::keep) delete_pack(p.id);
  }
  for (const auto& d : pack_dirs) sync_directory(d);
  stats.tmp_files_removed += store.clean_tmp();

  for (const auto& s : store.segment_paths()) stats.bytes_after += file_size_or_zero(s);
  for (const auto& id : store.packs_on_disk()) {
    stats.bytes_after += file_size_or_zero(store.pack_path(id));
    ++stats.packs_after;
  }
  stats.bytes_freed =
      stats.bytes_before > stats.bytes_after ? stats.bytes_before - stats.bytes_after : 0;
  stats.seconds = monotonic_seconds() - started;
  return stats;
}

}  // namespace vssimg
