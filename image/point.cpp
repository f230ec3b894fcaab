#include "image/point.hpp"

#include "core/base/bytes.hpp"
#include "core/base/codec.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

namespace {
constexpr char k_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'P', 'T'};
constexpr char k_end_magic[8] = {'V', 'P', 'T', 'E', 'N', 'D', '\0', '\0'};
constexpr uint32_t k_version = 1;
constexpr size_t k_header_size = 40;
constexpr size_t k_chunk_header_size = 20;
constexpr size_t k_ids_per_chunk = 65536;
constexpr size_t k_trailer_size = 16;

bool valid_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
  }
  return true;
}

std::string escape(const std::string& v) {
  std::string out;
  for (unsigned char c : v) {
    if (c == '%' || c == '\n' || c == '\r' || c < 0x20) {
      out += fmt::format("%{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool unescape(const std::string& v, std::string& out) {
  out.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    uint8_t b;
    if (i + 2 >= v.size()) return false;
    if (!from_hex(std::string_view(v).substr(i + 1, 2), &b, 1)) return false;
    out += static_cast<char>(b);
    i += 2;
  }
  return true;
}
}  // namespace

std::string PointMeta::get(const std::string& key, const std::string& fallback) const {
  auto it = m_values.find(key);
  return it == m_values.end() ? fallback : it->second;
}

int64_t PointMeta::get_int(const std::string& key, int64_t fallback) const {
  auto it = m_values.find(key);
  if (it == m_values.end() || it->second.empty()) return fallback;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  return (end && *end == '\0') ? v : fallback;
}

std::string PointMeta::encode() const {
  std::string out;
  for (const auto& [k, v] : m_values) {
    if (!valid_key(k)) throw Error("encoding point metadata", k, "invalid key");
    out += k;
    out += '=';
    out += escape(v);
    out += '\n';
  }
  return out;
}

bool PointMeta::decode(const std::string& text) {
  m_values.clear();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return false;
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos) return false;
    std::string key = line.substr(0, eq);
    std::string value;
    if (!valid_key(key) || !unescape(line.substr(eq + 1), value)) return false;
    m_values[key] = value;
  }
  return true;
}

std::string new_point_id() {
  auto r = random_bytes(8);
  return to_hex(r.data(), r.size());
}

bool valid_point_id(const std::string& id) {
  uint8_t b[8];
  return from_hex(id, b, 8) && id == to_hex(b, 8);
}

std::filesystem::path point_relative_path(const std::string& id) {
  return std::filesystem::path("points") / (id + ".point");
}

std::vector<uint8_t> encode_point(const Point& point) {
  std::string meta = point.meta.encode();
  size_t chunks = (point.map.size() + k_ids_per_chunk - 1) / k_ids_per_chunk;
  std::vector<uint8_t> out;
  put_bytes(out, k_magic, 8);
  put_u32(out, k_version);
  put_u32(out, 0);
  put_u32(out, static_cast<uint32_t>(meta.size()));
  put_u32(out, static_cast<uint32_t>(chunks));
  put_u64(out, point.map.size());
  put_u32(out, point.block_size);
  put_u32(out, 0);
  put_str(out, meta);
  std::vector<uint8_t> packed(compress_bound(k_ids_per_chunk * 16));
  for (size_t c = 0; c < chunks; ++c) {
    size_t first = c * k_ids_per_chunk;
    size_t n = std::min(k_ids_per_chunk, point.map.size() - first);
    const auto* raw = reinterpret_cast<const uint8_t*>(point.map.data() + first);
    size_t raw_len = n * 16;
    size_t stored = lz4_compress(raw, raw_len, packed.data(), packed.size());
    Codec codec = stored ? Codec::lz4 : Codec::raw;
    const uint8_t* payload = stored ? packed.data() : raw;
    if (!stored) stored = raw_len;
    put_u32(out, static_cast<uint32_t>(raw_len));
    put_u32(out, static_cast<uint32_t>(stored));
    put_u8(out, static_cast<uint8_t>(codec));
    put_u8(out, 0);
    put_u8(out, 0);
    put_u8(out, 0);
    put_u64(out, checksum64(payload, stored));
    put_bytes(out, payload, stored);
  }
  put_u64(out, checksum64(out.data(), out.size()));
  put_bytes(out, k_end_magic, 8);
  return out;
}

static_assert(sizeof(BlockId) == 16, "the block map is an array of 16-byte ids");

namespace {
struct ParsedHeader {
  uint32_t meta_len, chunks, block_size;
  uint64_t block_count;
};

ParsedHeader parse_header(const uint8_t* data, size_t len, const std::string& name,
                          PointMeta& meta) {
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", name, what);
  };
  if (len < k_header_size + k_trailer_size || std::memcmp(data, k_magic, 8) != 0) {
    throw damaged("not a point file (bad magic or too short)");
  }
  ParsedHeader h;
  uint32_t version = get_u32(data + 8);
  uint32_t required = get_u32(data + 12);
  if (version == 0 || version > k_version || required != 0) {
    throw Error(
        ErrorKind::store_not_found, "reading", name,
        fmt::format("point format version {} (flags {:#x}) is newer than this build supports ({})",
                    version, required, k_version));
  }
  h.meta_len = get_u32(data + 16);
  h.chunks = get_u32(data + 20);
  h.block_count = get_u64(data + 24);
  h.block_size = get_u32(data + 32);
  if (h.meta_len > len - k_header_size) throw damaged("metadata length out of range");
  if (h.chunks != (h.block_count + k_ids_per_chunk - 1) / k_ids_per_chunk) {
    throw damaged("chunk count does not match block count");
  }
  if (!meta.decode(std::string(reinterpret_cast<const char*>(data + k_header_size), h.meta_len))) {
    throw damaged("malformed metadata");
  }
  return h;
}
}  // namespace

Point decode_point(const uint8_t* data, size_t len, const std::string& id) {
  const std::string name = "point " + id;
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", name, what);
  };
  Point p;
  p.id = id;
  if (len < k_header_size + k_trailer_size) throw damaged("file too short (truncated)");
  if (std::memcmp(data + len - 8, k_end_magic, 8) != 0) throw damaged("bad end magic (truncated?)");
  if (checksum64(data, len - k_trailer_size) != get_u64(data + len - k_trailer_size)) {
    throw damaged("checksum mismatch");
  }
  ParsedHeader h = parse_header(data, len, name, p.meta);
  p.block_size = h.block_size;
  if (h.block_count > (uint64_t{1} << 36)) throw damaged("implausible block count");
  // The map grows chunk by chunk as chunks are found, so a header claiming a huge map
  // in a tiny file fails at its first missing chunk instead of allocating it.
  p.map.reserve(static_cast<size_t>(std::min<uint64_t>(h.block_count, k_ids_per_chunk)));
  Reader r(data + k_header_size + h.meta_len, len - k_trailer_size - k_header_size - h.meta_len);
  for (uint32_t c = 0; c < h.chunks; ++c) {
    uint32_t raw_len = r.u32();
    uint32_t stored = r.u32();
    auto codec = static_cast<Codec>(r.u8());
    r.skip(3);
    uint64_t sum = r.u64();
    const uint8_t* payload = r.skip(stored);
    if (!r.ok() || payload == nullptr) throw damaged(fmt::format("chunk {} truncated", c));
    size_t first = size_t{c} * k_ids_per_chunk;
    size_t n = static_cast<size_t>(std::min<uint64_t>(k_ids_per_chunk, h.block_count - first));
    if (raw_len != n * 16) throw damaged(fmt::format("chunk {} has the wrong length", c));
    p.map.resize(first + n);
    if (checksum64(payload, stored) != sum)
      throw damaged(fmt::format("chunk {} checksum mismatch", c));
    if (!decode_block(codec, payload, stored, reinterpret_cast<uint8_t*>(p.map.data() + first),
                      raw_len)) {
      throw damaged(fmt::format("chunk {} does not decompress", c));
    }
  }
  if (r.remaining() != 0) throw damaged("trailing bytes after the block map");
  if (p.meta.get("id") != id) throw damaged("id in the file does not match its name");
  return p;
}

PointInfo decode_point_info(const uint8_t* data, size_t len, const std::string& id) {
  PointInfo info;
  info.id = id;
  ParsedHeader h = parse_header(data, len, "point " + id, info.meta);
  info.block_count = h.block_count;
  info.block_size = h.block_size;
  return info;
}

}  // namespace vssimg
