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

}  // namespace vssimg
