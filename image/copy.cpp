#include "image/copy.hpp"

#include "core/base/bytes.hpp"
#include "core/base/codec.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/backup_sink.hpp"
#include "image/block_reader.hpp"
#include "image/damage.hpp"
#include "image/damage_blocks.hpp"
#include "image/point_map_stream.hpp"
#include "image/point_meta.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <shared_mutex>
#include <unordered_map>

namespace vssimg {

namespace {

std::string store_id_hex(const Store& s) {
  return to_hex(s.config().store_id.data(), s.config().store_id.size());
}

// The source's index; a damaged segment is said and skipped (the points that need its
// blocks then fail one by one, naming the block).
BlockIndex load_source_index(const Store& from, ProgressSink& progress) {
  std::vector<std::string> problems;
  BlockIndex index = from.load_index(&problems);
  for (const auto& p : problems) progress.warning(p + " (skipped)");
  return index;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> already_copied(const Store& from,
                                                                const Store& to) {
  const std::string from_id = store_id_hex(from);
  const std::string to_id = store_id_hex(to);
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> problems;  // unreadable points: reported by list and verify
  for (const auto& info : to.list_points(&problems)) {
    if (info.meta.get(point_key::k_origin_store) == from_id)
      out.emplace_back(info.meta.get(point_key::k_origin_point), info.id);
  }
  for (const auto& info : from.list_points(&problems)) {
    if (info.meta.get(point_key::k_origin_store) == to_id)
      out.emplace_back(info.id, info.meta.get(point_key::k_origin_point));
  }
  return out;
}

class CopyRun::Impl {
 public:
  Impl(const Store& from, const Store& to, ProgressSink& progress, size_t pack_target);
  CopiedPoint copy(const std::string& id);
  void finish(bool record);

 private:
  void copy_point(const std::string& id, CopiedPoint& result);
  void copy_map(PointMapReader& in, PointMapWriter& out, CopiedPoint& result);
  BlockId destination_id(const BlockId& src);
  void commit(const PointInfo& info, PointMapWriter& map, CopiedPoint& result);

  const Store& m_from;
  const Store& m_to;
  ProgressSink& m_progress;
  const std::string m_from_id;
  DamageRecord m_src_damage;
  BlockIndex m_src_index;
  BlockReader m_reader;
  BlockIndex m_index;  // the destination's
  std::shared_mutex m_mutex;
  BlockIdSet m_unusable;
  BlockIdSet m_healed;
  BackupStats m_sink_stats;
  PackSink m_sink;
  // Source id -> destination id of the blocks read in this run: a block several points
  // share is read, checked and hashed once.
  std::unordered_map<BlockId, std::pair<BlockId, uint32_t>, BlockIdHash> m_ids;
  std::map<std::string, std::string> m_done;  // source point -> destination point
  std::vector<uint8_t> m_raw, m_packed, m_scratch;
  uint64_t m_bytes_read = 0;
  uint64_t m_data_bytes = 0;  // raw bytes of the data blocks of the points copied
  uint64_t m_done_bytes = 0;  // progress within the point
};

CopyRun::Impl::Impl(const Store& from, const Store& to, ProgressSink& progress, size_t pack_target)
    : m_from(from),
      m_to(to),
      m_progress(progress),
      m_from_id(store_id_hex(from)),
      m_src_damage(load_damage(from.storage())),
      m_src_index(load_source_index(from, progress)),
      m_reader(from, m_src_index, &m_src_damage.set),
      m_sink(to, m_index, m_mutex, m_unusable, m_healed, pack_target, m_sink_stats),
      m_raw(from.block_size()),
      m_packed(compress_bound(from.block_size())) {
  to.clean_tmp();
  std::vector<std::string> problems;
  m_index = to.load_index(&problems);
  for (const auto& p : problems) m_progress.warning(p + " (skipped; its blocks are stored again)");
  DamageRecord damage = load_damage(to.storage());
  m_unusable = unusable_blocks(m_index, damage.set, missing_packs(to, m_index));
  for (const auto& [src, dst] : already_copied(from, to)) m_done[src] = dst;
}

CopiedPoint CopyRun::Impl::copy(const std::string& id) {
  CopiedPoint result;
  result.source_id = id;
  if (auto it = m_done.find(id); it != m_done.end()) {
    result.point_id = it->second;
    result.already = true;
    return result;
  }
  try {
    copy_point(id, result);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::damage) {
      m_sink.checkpoint_after_failure();
      throw;
    }
    // The blocks read so far are intact and remembered in m_ids: commit them.
    m_sink.finish();
    m_progress.end();
    result.error = e.what();
  } catch (...) {
    m_sink.checkpoint_after_failure();
    throw;
  }
  return result;
}

void CopyRun::Impl::copy_point(const std::string& id, CopiedPoint& result) {
  const double started = monotonic_seconds();
  const BackupStats before = m_sink_stats;
  const uint64_t read_before = m_bytes_read;
  const uint64_t data_before = m_data_bytes;
  PointMapReader in(m_from.storage(), id);
  PointMapWriter out(in.info().block_count);
  copy_map(in, out, result);
  const BackupStats& s = m_sink_stats;
  result.stats.new_bytes = s.new_bytes - before.new_bytes;
  result.stats.new_stored_bytes = s.new_stored_bytes - before.new_stored_bytes;
  result.stats.new_blocks = s.new_blocks - before.new_blocks;
  result.stats.reused_bytes = m_data_bytes - data_before - result.stats.new_bytes;
  result.stats.bytes_read = m_bytes_read - read_before;
  commit(in.info(), out, result);  // packs and segments first: commit order as a backup's
  result.stats.packs_written = m_sink_stats.packs_written - before.packs_written;
  result.stats.seconds = monotonic_seconds() - started;
}

// The map of the source point into `out`, entry by entry; a block's place in the volume
// names it in the error when its read fails.
void CopyRun::Impl::copy_map(PointMapReader& in, PointMapWriter& out, CopiedPoint& result) {
  const PointInfo& info = in.info();
  const uint64_t bs = info.block_size;
  const uint64_t size = static_cast<uint64_t>(info.meta.get_int(point_key::k_source_size));
  m_progress.begin("copy", size);
  m_done_bytes = 0;
  uint64_t b = 0;
  for (;;) {
    check_interrupted();
    const std::vector<BlockId>& chunk = in.next_chunk();
    if (chunk.empty()) break;
    for (const BlockId& id : chunk) {
      if (id.is_marker()) {
        out.add(id);
      } else {
        try {
          out.add(destination_id(id));
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::damage) throw;
          throw Error(ErrorKind::damage, "copying point",
                      fmt::format("{} at offset {}", info.id, b * bs), e.what());
        }
      }
      ++b;
    }
    m_done_bytes = std::min(size, b * bs);
    m_progress.update(m_done_bytes);
  }
  m_progress.end();
  result.stats.blocks = b;
}

// The destination's id of source block `src`, read, checked and stored (when the
// destination lacks it) the first time this run meets it.
BlockId CopyRun::Impl::destination_id(const BlockId& src) {
  if (auto it = m_ids.find(src); it != m_ids.end()) {
    m_data_bytes += it->second.second;
    return it->second.first;
  }
  const uint32_t len = m_reader.read(src, m_raw.data(), m_scratch);
  m_bytes_read += len;
  m_data_bytes += len;
  const BlockId dst = m_to.hasher().hash(m_raw.data(), len);
  m_ids.emplace(src, std::make_pair(dst, len));
  // Compressed and stored only when the destination lacks a usable copy (a nightly copy
  // is mostly blocks it has), as backup decides before compressing.
  if (m_index.contains(dst) && !m_unusable.count(dst)) return dst;
  size_t n = lz4_compress(m_raw.data(), len, m_packed.data(), m_packed.size());
  const bool packed = n != 0;
  m_sink.store(dst, packed ? Codec::lz4 : Codec::raw, packed ? m_packed.data() : m_raw.data(),
               packed ? static_cast<uint32_t>(n) : len, len);
  return dst;
}

// Indexes what this point added, then writes the point: the commit point of its copy.
void CopyRun::Impl::commit(const PointInfo& info, PointMapWriter& map, CopiedPoint& result) {
  m_sink.finish();
  const std::string source_parent = info.meta.get(point_key::k_parent);
  auto parent = m_done.find(source_parent);
  const std::string id = new_point_id();
  const PointMeta meta = copied_point_meta(
      info.meta, id, parent == m_done.end() ? "" : parent->second, m_from_id, info.id);
  map.commit(m_to.storage(), id, meta, info.block_size);
  m_done[info.id] = id;
  result.point_id = id;
}

void CopyRun::Impl::finish(bool record) {
  if (record) report_reading(m_from, m_reader, m_progress);
}

CopyRun::CopyRun(const Store& from, const Store& to, ProgressSink& progress,
                 size_t pack_target_size) {
  if (store_id_hex(from) == store_id_hex(to)) {
    throw Error(ErrorKind::usage, "copying to", to.storage().location(),
                "it is the store copied from");
  }
  if (from.block_size() != to.block_size()) {
    throw Error(ErrorKind::usage, "copying to", to.storage().location(),
                fmt::format("its block size ({}) differs from {}'s ({}); init a store with "
                            "--block-size {}",
                            to.block_size(), from.storage().location(), from.block_size(),
                            from.block_size()));
  }
  m_impl = std::make_unique<Impl>(from, to, progress, pack_target_size);
}

CopyRun::~CopyRun() = default;

CopiedPoint CopyRun::copy(const std::string& id) {
  return m_impl->copy(id);
}

void CopyRun::finish(bool record) {
  m_impl->finish(record);
}

}  // namespace vssimg
