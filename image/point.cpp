#include "image/point.hpp"

#include "core/base/bytes.hpp"
#include "core/base/codec.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

namespace {
namespace layout = point_layout;
namespace header = point_layout::header;
namespace chunk = point_layout::chunk;
namespace trailer = point_layout::trailer;
constexpr size_t k_ids_per_chunk = layout::k_ids_per_chunk;
constexpr uint32_t k_known_point_features = 0;

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

ObjectRef point_object(const std::string& id) {
  return ObjectRef{ObjectKind::point, id};
}

void encode_point_header(std::vector<uint8_t>& out, uint64_t block_count, uint32_t block_size,
                         size_t meta_len) {
  const size_t chunks = static_cast<size_t>((block_count + k_ids_per_chunk - 1) / k_ids_per_chunk);
  uint8_t h[header::k_size] = {};
  std::memcpy(h + header::magic.offset, layout::k_magic, header::magic.size);
  set_u32(h + header::version.offset, k_format_version);
  set_u32(h + header::metadata_length.offset, static_cast<uint32_t>(meta_len));
  set_u32(h + header::chunk_count.offset, static_cast<uint32_t>(chunks));
  set_u64(h + header::block_count.offset, block_count);
  set_u32(h + header::block_size.offset, block_size);
  put_bytes(out, h, sizeof h);
}

void encode_map_chunk(const BlockId* ids, size_t count, std::vector<uint8_t>& out) {
  const auto* raw = reinterpret_cast<const uint8_t*>(ids);
  const size_t raw_len = count * layout::k_map_entry_size;
  std::vector<uint8_t> packed(compress_bound(raw_len));
  size_t stored = lz4_compress(raw, raw_len, packed.data(), packed.size());
  Codec codec = stored ? Codec::lz4 : Codec::raw;
  const uint8_t* payload = stored ? packed.data() : raw;
  if (!stored) stored = raw_len;
  uint8_t c[chunk::k_header_size] = {};
  set_u32(c + chunk::raw_length.offset, static_cast<uint32_t>(raw_len));
  set_u32(c + chunk::stored_length.offset, static_cast<uint32_t>(stored));
  c[chunk::codec.offset] = static_cast<uint8_t>(codec);
  set_u64(c + chunk::checksum.offset, checksum64(payload, stored));
  put_bytes(out, c, sizeof c);
  put_bytes(out, payload, stored);
}

MapChunkHeader parse_map_chunk_header(const uint8_t* bytes) {
  MapChunkHeader h;
  h.raw_len = get_u32(bytes + chunk::raw_length.offset);
  h.stored_len = get_u32(bytes + chunk::stored_length.offset);
  h.codec = bytes[chunk::codec.offset];
  h.checksum = get_u64(bytes + chunk::checksum.offset);
  return h;
}

void decode_map_chunk(const MapChunkHeader& h, const uint8_t* payload, size_t count, BlockId* out,
                      const std::string& name, uint64_t c) {
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", name, fmt::format("chunk {} {}", c, what));
  };
  if (h.raw_len != count * layout::k_map_entry_size) throw damaged("has the wrong length");
  if (checksum64(payload, h.stored_len) != h.checksum) throw damaged("checksum mismatch");
  if (!decode_block(static_cast<Codec>(h.codec), payload, h.stored_len,
                    reinterpret_cast<uint8_t*>(out), h.raw_len)) {
    throw damaged("does not decompress");
  }
}

std::vector<uint8_t> encode_point(const Point& point) {
  std::string meta = point.meta.encode();
  size_t chunks = (point.map.size() + k_ids_per_chunk - 1) / k_ids_per_chunk;
  std::vector<uint8_t> out;
  encode_point_header(out, point.map.size(), point.block_size, meta.size());
  put_str(out, meta);
  for (size_t c = 0; c < chunks; ++c) {
    size_t first = c * k_ids_per_chunk;
    size_t n = std::min(k_ids_per_chunk, point.map.size() - first);
    encode_map_chunk(point.map.data() + first, n, out);
  }
  uint8_t t[trailer::k_size] = {};
  set_u64(t + trailer::checksum.offset, checksum64(out.data(), out.size()));
  std::memcpy(t + trailer::magic.offset, layout::k_end_magic, trailer::magic.size);
  put_bytes(out, t, sizeof t);
  return out;
}

static_assert(sizeof(BlockId) == layout::k_map_entry_size, "the block map is an array of ids");

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
  if (len < header::k_size + trailer::k_size ||
      std::memcmp(data + header::magic.offset, layout::k_magic, header::magic.size) != 0) {
    throw damaged("not a point file (bad magic or too short)");
  }
  ParsedHeader h;
  uint32_t version = get_u32(data + header::version.offset);
  check_format_version(FormatKind::point, version, name);
  if (version == 0) throw damaged("format version 0 is invalid");
  check_required_features(FormatKind::point, get_u32(data + header::required_features.offset),
                          k_known_point_features, name);
  h.meta_len = get_u32(data + header::metadata_length.offset);
  h.chunks = get_u32(data + header::chunk_count.offset);
  h.block_count = get_u64(data + header::block_count.offset);
  h.block_size = get_u32(data + header::block_size.offset);
  if (h.meta_len > len - header::k_size) throw damaged("metadata length out of range");
  if (h.chunks != (h.block_count + k_ids_per_chunk - 1) / k_ids_per_chunk) {
    throw damaged("chunk count does not match block count");
  }
  if (!meta.decode(std::string(reinterpret_cast<const char*>(data + header::k_size), h.meta_len))) {
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
  if (len < header::k_size + trailer::k_size) throw damaged("file too short (truncated)");
  const size_t trailer_at = len - trailer::k_size;
  if (std::memcmp(data + trailer_at + trailer::magic.offset, layout::k_end_magic,
                  trailer::magic.size) != 0)
    throw damaged("bad end magic (truncated?)");
  if (checksum64(data, trailer_at) != get_u64(data + trailer_at + trailer::checksum.offset)) {
    throw damaged("checksum mismatch");
  }
  ParsedHeader h = parse_header(data, len, name, p.meta);
  p.block_size = h.block_size;
  if (h.block_count > (uint64_t{1} << 36)) throw damaged("implausible block count");
  // The map grows chunk by chunk as chunks are found, so a header claiming a huge map
  // in a tiny file fails at its first missing chunk instead of allocating it.
  p.map.reserve(static_cast<size_t>(std::min<uint64_t>(h.block_count, k_ids_per_chunk)));
  Reader r(data + header::k_size + h.meta_len, trailer_at - header::k_size - h.meta_len);
  for (uint32_t c = 0; c < h.chunks; ++c) {
    const uint8_t* ch = r.skip(chunk::k_header_size);
    if (ch == nullptr) throw damaged(fmt::format("chunk {} truncated", c));
    const MapChunkHeader mh = parse_map_chunk_header(ch);
    const uint8_t* payload = r.skip(mh.stored_len);
    if (!r.ok() || payload == nullptr) throw damaged(fmt::format("chunk {} truncated", c));
    size_t first = size_t{c} * k_ids_per_chunk;
    size_t n = static_cast<size_t>(std::min<uint64_t>(k_ids_per_chunk, h.block_count - first));
    if (mh.raw_len != n * layout::k_map_entry_size)
      throw damaged(fmt::format("chunk {} has the wrong length", c));
    p.map.resize(first + n);
    decode_map_chunk(mh, payload, n, p.map.data() + first, name, c);
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
