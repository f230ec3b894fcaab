#include "image/repair.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

std::vector<PackEntry> scan_pack_records(const uint8_t* data, size_t len, const BlockHasher& hasher,
                                         uint32_t block_size) {
  std::vector<PackEntry> out;
  std::vector<uint8_t> raw(block_size);
  size_t pos = k_pack_header_size;
  while (pos + k_record_header_size <= len && pos <= UINT32_MAX) {
    PackEntry e;
    uint32_t raw_len = 0;
    if (parse_record_header(data + pos, len - pos, e) &&
        check_record(data + pos, len - pos, e.id, hasher, raw.data(), raw.size(), raw_len)
            .empty()) {
      e.offset = static_cast<uint32_t>(pos);
      out.push_back(e);
      pos += k_record_header_size + e.stored_len;
      continue;
    }
    // Not an intact record here: resynchronise on the next record magic.
    pos = find_record_magic(data, len, pos + 1);
  }
  return out;
}

namespace {
// The entries of one pack: from its table, or, when the table is damaged, by scanning its
// records. Appends what was wrong to `result`.
std::vector<PackEntry> pack_entries(const Store& store, const PackId& id, std::vector<uint8_t>& buf,
                                    RepairIndexResult& result) {
  const Storage& storage = store.storage();
  try {
    auto pack = storage.open(pack_object(id));
    try {
      return read_pack_table(*pack, store.config().store_id, pack_display_name(id));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::damage) throw;
      buf.resize(static_cast<size_t>(pack->size()));
      pack->read_exact_at(buf.data(), buf.size(), 0);
      auto entries = scan_pack_records(buf.data(), buf.size(), store.hasher(), store.block_size());
      ++result.packs_scanned;
      result.problems.push_back(fmt::format("{}: {}; found {} intact records by scanning", e.what(),
                                            entries.empty() ? "skipped" : "table not used",
                                            entries.size()));
      return entries;
    }
  } catch (const Error& e) {
    result.problems.push_back(std::string(e.what()) + " (skipped)");
    return {};
  }
}
}  // namespace

RepairIndexResult repair_index(const Store& store, ProgressSink& progress) {
  RepairIndexResult result;
  store.clean_tmp(Leftovers::all);  // the caller holds the exclusive store lock
  const auto old_segments = store.segments();
  const auto packs = store.packs_on_disk();
  result.packs = packs.size();
  progress.begin("repair index", packs.size());

  SegmentBatcher segments(store.storage(), store.config().store_id);
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < packs.size(); ++i) {
    check_interrupted();
    std::vector<PackEntry> entries = pack_entries(store, packs[i], buf, result);
    if (entries.empty()) {
      ++result.packs_skipped;
    } else {
      result.blocks += entries.size();
      segments.add(packs[i], std::move(entries));
    }
    progress.update(i + 1);
  }
  segments.flush();
  result.new_segments = segments.segments_written();
  progress.end();
  // Only now, with the new index durable, remove the old segments.
  store.storage().remove_all(ObjectKind::index, old_segments);
  result.old_segments = old_segments.size();
  return result;
}

}  // namespace vssimg
