#include "image/point_map_stream.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/format.hpp"
#include "image/store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <system_error>

namespace vssimg {

namespace {
namespace layout = point_layout;
namespace header = point_layout::header;
namespace trailer = point_layout::trailer;
constexpr size_t k_ids_per_chunk = layout::k_ids_per_chunk;
constexpr uint64_t k_max_blocks = uint64_t{1} << 36;  // as decode_point
constexpr size_t k_max_metadata = size_t{16} << 20;
constexpr size_t k_copy_piece = size_t{1} << 20;
}  // namespace

PointMapReader::PointMapReader(const Storage& storage, const std::string& id)
    : m_reader(storage.open(point_object(id))), m_name("point " + id) {
  m_reader->advise_sequential();
  const uint64_t size = m_reader->size();
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", m_name, what);
  };
  if (size < header::k_size + trailer::k_size) throw damaged("file too short (truncated)");
  std::vector<uint8_t> head(header::k_size);
  read(head.data(), head.size());
  const uint32_t meta_len = get_u32(head.data() + header::metadata_length.offset);
  if (meta_len > k_max_metadata || meta_len > size - header::k_size - trailer::k_size)
    throw damaged("metadata length out of range");
  head.resize(header::k_size + meta_len);
  read(head.data() + header::k_size, meta_len);
  // decode_point_info checks the header as decode_point does; it wants room for a trailer.
  std::vector<uint8_t> padded(head);
  padded.resize(head.size() + trailer::k_size);
  m_info = decode_point_info(padded.data(), padded.size(), id);
  if (m_info.block_count > k_max_blocks) throw damaged("implausible block count");
  if (m_info.meta.get("id") != id) throw damaged("id in the file does not match its name");
  m_chunks = (m_info.block_count + k_ids_per_chunk - 1) / k_ids_per_chunk;
}

std::unique_ptr<PointMapReader> open_point_map(const Store& store, const std::string& id) {
  if (!valid_point_id(id)) throw Error(ErrorKind::usage, "finding point", id, "not a point id");
  if (!store.storage().size(point_object(id)))
    throw Error(ErrorKind::usage, "finding point", id, "no such recovery point");
  auto map = std::make_unique<PointMapReader>(store.storage(), id);
  if (map->info().block_size != store.config().block_size) {
    throw Error(ErrorKind::damage, "reading", "point " + id, "block size differs from the store's");
  }
  return map;
}

void PointMapReader::read(void* buf, size_t len) {
  m_reader->read_exact_at(buf, len, m_pos);
  m_sum.update(buf, len);
  m_pos += len;
}

const std::vector<BlockId>& PointMapReader::next_chunk() {
  m_ids.clear();
  if (m_chunk >= m_chunks) return m_ids;
  const uint64_t c = m_chunk++;
  const uint64_t size = m_reader->size();
  if (size - m_pos < layout::chunk::k_header_size + trailer::k_size)
    throw Error(ErrorKind::damage, "reading", m_name, fmt::format("chunk {} truncated", c));
  uint8_t h[layout::chunk::k_header_size];
  read(h, sizeof h);
  const MapChunkHeader mh = parse_map_chunk_header(h);
  if (mh.stored_len > size - m_pos - trailer::k_size)
    throw Error(ErrorKind::damage, "reading", m_name, fmt::format("chunk {} truncated", c));
  const size_t n = static_cast<size_t>(
      std::min<uint64_t>(k_ids_per_chunk, m_info.block_count - c * k_ids_per_chunk));
  if (mh.raw_len != n * layout::k_map_entry_size)
    throw Error(ErrorKind::damage, "reading", m_name,
                fmt::format("chunk {} has the wrong length", c));
  m_stored.resize(mh.stored_len);
  read(m_stored.data(), m_stored.size());
  m_ids.resize(n);
  decode_map_chunk(mh, m_stored.data(), n, m_ids.data(), m_name, c);
  if (m_chunk == m_chunks) check_trailer();
  return m_ids;
}

void PointMapReader::check_trailer() {
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", m_name, what);
  };
  if (m_reader->size() - m_pos != trailer::k_size)
    throw damaged("trailing bytes after the block map");
  const uint64_t sum = m_sum.digest();
  uint8_t t[trailer::k_size];
  m_reader->read_exact_at(t, sizeof t, m_pos);
  if (std::memcmp(t + trailer::magic.offset, layout::k_end_magic, trailer::magic.size) != 0)
    throw damaged("bad end magic (truncated?)");
  if (get_u64(t + trailer::checksum.offset) != sum) throw damaged("checksum mismatch");
}

PointMapWriter::PointMapWriter(uint64_t block_count, size_t memory_cap)
    : m_blocks(block_count), m_cap(memory_cap) {
  m_chunk.reserve(static_cast<size_t>(std::min<uint64_t>(block_count, k_ids_per_chunk)));
}

PointMapWriter::~PointMapWriter() {
  if (m_spill.is_open()) {
    m_spill.close();
    std::error_code ec;
    std::filesystem::remove(m_spill_path, ec);  // best effort: a temporary file
  }
}

void PointMapWriter::add(const BlockId& id) {
  m_chunk.push_back(id);
  ++m_added;
  if (m_chunk.size() == k_ids_per_chunk || m_added == m_blocks) end_chunk();
}

void PointMapWriter::end_chunk() {
  if (m_chunk.empty()) return;
  encode_map_chunk(m_chunk.data(), m_chunk.size(), m_encoded);
  m_chunk.clear();
  if (m_encoded.size() > m_cap) spill();
}

void PointMapWriter::spill() {
  if (!m_spill.is_open()) {
    auto r = random_bytes(8);
    m_spill_path = std::filesystem::temp_directory_path() /
                   path_from_utf8("vssimg-map-" + to_hex(r.data(), r.size()) + ".tmp");
    m_spill = File(m_spill_path, File::Open::create_new);
  }
  m_spill.append(m_encoded.data(), m_encoded.size());
  m_spilled += m_encoded.size();
  m_encoded.clear();
}

void PointMapWriter::commit(const Storage& storage, const std::string& id, const PointMeta& meta,
                            uint32_t block_size) {
  if (m_added != m_blocks) {
    throw Error("writing", "point " + id,
                fmt::format("the map has {} of {} blocks", m_added, m_blocks));
  }
  end_chunk();
  const std::string text = meta.encode();
  std::vector<uint8_t> head;
  encode_point_header(head, m_blocks, block_size, text.size());
  put_str(head, text);
  auto out = storage.create(point_object(id));
  Checksum64 sum;
  auto put = [&](const uint8_t* data, size_t len) {
    sum.update(data, len);
    out->append(data, len);
  };
  put(head.data(), head.size());
  std::vector<uint8_t> piece;
  for (uint64_t at = 0; at < m_spilled; at += piece.size()) {
    piece.resize(static_cast<size_t>(std::min<uint64_t>(k_copy_piece, m_spilled - at)));
    m_spill.read_exact_at(piece.data(), piece.size(), at);
    put(piece.data(), piece.size());
  }
  put(m_encoded.data(), m_encoded.size());
  uint8_t t[trailer::k_size] = {};
  set_u64(t + trailer::checksum.offset, sum.digest());
  std::memcpy(t + trailer::magic.offset, layout::k_end_magic, trailer::magic.size);
  out->append(t, sizeof t);
  out->commit();
}

}  // namespace vssimg
