#include "image/damage_heal.hpp"

#include "core/base/buffer.hpp"
#include "core/base/codec.hpp"
#include "core/base/error.hpp"
#include "image/damage_blocks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

namespace vssimg {

namespace {
// Stores the blocks read into packs and indexes them when done.
class HealSink {
 public:
  HealSink(const Store& store, size_t target)
      : m_store(store), m_target(target), m_segments(store.storage(), store.config().store_id) {}

  void store(const BlockId& id, const uint8_t* data, uint32_t len) {
    m_packed.resize(compress_bound(len));
    size_t n = lz4_compress(data, len, m_packed.data(), m_packed.size());
    if (!m_writer)
      m_writer = std::make_unique<PackWriter>(m_store.storage(), m_store.config().store_id);
    m_writer->add(id, n ? Codec::lz4 : Codec::raw, n ? m_packed.data() : data,
                  n ? static_cast<uint32_t>(n) : len, len);
    if (m_writer->size() >= m_target) commit_pack();
  }
  void finish() {
    commit_pack();
    m_segments.flush();
  }

 private:
  void commit_pack() {
    if (!m_writer) return;
    m_segments.add(m_writer->id(), m_writer->commit());
    m_writer.reset();
  }
  const Store& m_store;
  size_t m_target;
  SegmentBatcher m_segments;
  std::unique_ptr<PackWriter> m_writer;
  std::vector<uint8_t> m_packed;
};
}  // namespace

HealResult run_heal(const Store& store, BlockSource& source, const std::string& point_id,
                    size_t pack_target_size, ProgressSink& progress) {
  store.clean_tmp();
  std::vector<std::string> problems;
  BlockIndex index = store.load_index(&problems);
  for (const auto& p : problems) progress.info(p);
  DamageRecord damage = load_damage(store.storage());
  BlockIdSet unusable = unusable_blocks(index, damage.set, missing_packs(store, index));
  const Point point = store.load_point(point_id);
  const uint32_t bs = store.block_size();
  HealResult result;
  result.point_id = point_id;
  BlockIdSet healed;
  HealSink sink(store, pack_target_size);
  AlignedBuffer buf(bs);
  progress.begin("heal", point.map.size());
  for (size_t i = 0; i < point.map.size(); ++i) {
    const BlockId& id = point.map[i];
    if (id.is_marker() || (index.contains(id) && !unusable.count(id))) continue;
    check_interrupted();
    ++result.damaged_blocks;
    if (healed.count(id)) continue;
    const uint64_t offset = uint64_t{i} * bs;
    const uint32_t len =
        static_cast<uint32_t>(std::min<uint64_t>(bs, point.source_size() - offset));
    bool same = false;
    try {
      if (offset + len <= source.size()) {
        source.read_at(buf.data(), len, offset);
        same = store.hasher().hash(buf.data(), len) == id;
      }
    } catch (const Error& e) {  // a bad sector: the block stays damaged
      progress.warning(fmt::format("reading the source at offset {}: {}", offset, e.cause()));
    }
    if (!same) {
      result.still_damaged.push_back(offset);
      continue;
    }
    sink.store(id, buf.data(), len);
    healed.insert(id);
    unusable.erase(id);
    progress.update(i + 1);
  }
  sink.finish();
  progress.end();
  result.healed_blocks = healed.size();
  result.points_whole_again = points_whole_again(store, healed, unusable, "");
  return result;
}

}  // namespace vssimg
