#include "image/repair.hpp"

#include "core/base/error.hpp"
#include "core/os/file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <system_error>

namespace vssimg {

namespace {
constexpr char k_record_magic[4] = {'V', 'R', 'E', 'C'};
}  // namespace

std::vector<PackEntry> scan_pack_records(const uint8_t* data, size_t len, const BlockHasher& hasher,
                                         uint32_t block_size) {
  std::vector<PackEntry> out;
  std::vector<uint8_t> raw(block_size);
  const uint8_t* end = data + len;
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
    const uint8_t* next = std::search(data + pos + 1, end, k_record_magic, k_record_magic + 4);
    pos = static_cast<size_t>(next - data);
  }
  return out;
}

RepairIndexResult repair_index(const Store& store, ProgressSink& progress) {
  RepairIndexResult result;
  store.clean_tmp();
  const auto old_segments = store.segment_paths();
  const auto packs = store.packs_on_disk();
  result.packs = packs.size();
  progress.begin("repair index", packs.size());

  SegmentBatcher segments(store.root(), store.config().store_id);
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < packs.size(); ++i) {
    check_interrupted();
    const PackId& id = packs[i];
    const std::string name = "pack " + id.hex();
    std::vector<PackEntry> entries;
    try {
      File f(store.pack_path(id), File::Open::read);
      try {
        entries = read_pack_table(f, store.config().store_id);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::damage) throw;
        buf.resize(static_cast<size_t>(f.size()));
        f.read_exact_at(buf.data(), buf.size(), 0);
        entries = scan_pack_records(buf.data(), buf.size(), store.hasher(), store.block_size());
        ++result.packs_scanned;
        result.problems.push_back(
            fmt::format("{}: {}; found {} intact records by scanning", e.what(),
                        entries.empty() ? "skipped" : "table not used", entries.size()));
      }
    } catch (const Error& e) {
      result.problems.push_back(std::string(e.what()) + " (skipped)");
      entries.clear();
    }
    if (entries.empty()) {
      ++result.packs_skipped;
    } else {
      result.blocks += entries.size();
      segments.add(id, std::move(entries));
    }
    progress.update(i + 1);
  }
  segments.flush();
  result.new_segments = segments.segments_written();
  progress.end();
  // Only now, with the new index durable, remove the old segments.
  for (const auto& p : old_segments) {
    std::error_code ec;
    if (!std::filesystem::remove(p, ec) && ec) throw Error("deleting", p.string(), ec.message());
    ++result.old_segments;
  }
  sync_directory(store.root() / "index");
  return result;
}

}  // namespace vssimg
