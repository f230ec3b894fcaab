// A point's block map streamed chunk by chunk (docs/format.md, "Point file"), so that a
// backup holds one chunk of the parent map and one of the new map, whatever the volume
// size. The bytes are those of encode_point / decode_point (point.hpp), through the same
// chunk encoder and decoder.
#pragma once

#include "core/base/hash.hpp"
#include "core/os/file.hpp"
#include "image/point.hpp"
#include "image/storage.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

// Reads a point's map front to back, one chunk (65 536 ids) at a time.
class PointMapReader {
 public:
  // Opens point `id` and reads its header and metadata. Throws Error (damage, newer
  // format) like decode_point.
  PointMapReader(const Storage& storage, const std::string& id);
  const PointInfo& info() const { return m_info; }
  // The ids of the next chunk, in volume order; empty after the last. Throws
  // Error(damage) naming the point and the chunk. After the last chunk, the trailer is
  // checked too (whole-file checksum, end magic, nothing after it).
  const std::vector<BlockId>& next_chunk();

 private:
  void read(void* buf, size_t len);
  void check_trailer();

  std::unique_ptr<ObjectReader> m_reader;
  std::string m_name;
  PointInfo m_info;
  uint64_t m_pos = 0;
  uint64_t m_chunk = 0;  // index of the next chunk
  uint64_t m_chunks = 0;
  Checksum64 m_sum;  // of every byte read so far
  std::vector<uint8_t> m_stored;
  std::vector<BlockId> m_ids;
};

class Store;
// Opens point `id` of `store` for reading its map chunk by chunk, with the checks of
// Store::load_point: Error(usage) for a name that is not a point id or names no point,
// Error(damage) for a point whose block size is not the store's (and as the constructor).
std::unique_ptr<PointMapReader> open_point_map(const Store& store, const std::string& id);

// Collects a new point's map in volume order, one chunk in memory; encoded chunks are kept
// in memory up to `memory_cap` bytes and beyond it spilled to a temporary file in the
// system's temporary directory (removed when the writer goes). commit() writes the point
// file: header and metadata first, as the format wants, then the chunks.
class PointMapWriter {
 public:
  explicit PointMapWriter(uint64_t block_count, size_t memory_cap = size_t{64} << 20);
  ~PointMapWriter();
  PointMapWriter(const PointMapWriter&) = delete;
  PointMapWriter& operator=(const PointMapWriter&) = delete;

  void add(const BlockId& id);
  uint64_t added() const { return m_added; }
  // Bytes of encoded chunks spilled to the temporary file (tests, benchmarks).
  uint64_t spilled_bytes() const { return m_spilled; }
  // Writes and commits point `id`. Every block must have been added.
  void commit(const Storage& storage, const std::string& id, const PointMeta& meta,
              uint32_t block_size);

 private:
  void end_chunk();
  void spill();

  uint64_t m_blocks;
  size_t m_cap;
  uint64_t m_added = 0;
  std::vector<BlockId> m_chunk;
  std::vector<uint8_t> m_encoded;  // encoded chunks not spilled
  std::filesystem::path m_spill_path;
  File m_spill;
  uint64_t m_spilled = 0;
};

}  // namespace vssimg
