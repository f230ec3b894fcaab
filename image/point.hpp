// Recovery point files: metadata plus the full block map (docs/format.md, "Point file";
// layout in image/format.hpp).
#pragma once

#include "core/base/hash.hpp"
#include "image/storage.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vssimg {

// Key/value metadata of a point; typed accessors for the keys of docs/format.md.
class PointMeta {
 public:
  void set(const std::string& key, const std::string& value) { m_values[key] = value; }
  void set_int(const std::string& key, int64_t value) { m_values[key] = std::to_string(value); }
  std::string get(const std::string& key, const std::string& fallback = {}) const;
  int64_t get_int(const std::string& key, int64_t fallback = 0) const;
  bool has(const std::string& key) const { return m_values.count(key) != 0; }
  const std::map<std::string, std::string>& values() const { return m_values; }

  std::string encode() const;
  // False on a malformed line.
  bool decode(const std::string& text);

 private:
  std::map<std::string, std::string> m_values;
};

struct Point {
  std::string id;  // 16 hex digits
  PointMeta meta;
  uint32_t block_size = 0;
  std::vector<BlockId> map;  // one entry per block of the source

  uint64_t source_size() const { return static_cast<uint64_t>(meta.get_int("source_size")); }
  int64_t created() const { return meta.get_int("created"); }
};

// Summary of a point read from its header and metadata only (for list).
struct PointInfo {
  std::string id;
  PointMeta meta;
  uint64_t block_count = 0;
  uint32_t block_size = 0;
};

std::string new_point_id();
bool valid_point_id(const std::string& id);
// The storage object of a point.
ObjectRef point_object(const std::string& id);

std::vector<uint8_t> encode_point(const Point& point);
// Parses and checks a whole point file. Throws Error(damage) naming the point,
// Error(newer_format) for a point of a newer format.
Point decode_point(const uint8_t* data, size_t len, const std::string& id);
// Parses header and metadata only (no map, no whole-file checksum).
PointInfo decode_point_info(const uint8_t* data, size_t len, const std::string& id);

// The pieces of a point file, for writers and readers that stream the block map
// (image/point_map_stream.hpp); encode_point and decode_point use the same ones. The
// header (docs/format.md, "Point file"); its chunk count follows from the block count.
void encode_point_header(std::vector<uint8_t>& out, uint64_t block_count, uint32_t block_size,
                         size_t meta_len);
// One chunk of the block map: the only encoder and decoder of map chunks. Appends the
// chunk (header and stored bytes) of `count` ids to `out`.
void encode_map_chunk(const BlockId* ids, size_t count, std::vector<uint8_t>& out);
struct MapChunkHeader {
  uint32_t raw_len = 0;
  uint32_t stored_len = 0;  // bytes that follow the chunk header
  uint8_t codec = 0;
  uint64_t checksum = 0;
};
// Reads point_layout::chunk::k_header_size bytes.
MapChunkHeader parse_map_chunk_header(const uint8_t* bytes);
// Checks chunk `c`'s length and checksum and decodes its stored bytes into `count` ids.
// Throws Error(damage) naming `name` and the chunk.
void decode_map_chunk(const MapChunkHeader& h, const uint8_t* payload, size_t count, BlockId* out,
                      const std::string& name, uint64_t c);

}  // namespace vssimg
