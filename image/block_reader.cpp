#include "image/block_reader.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"

#include <fmt/format.h>

namespace vssimg {

namespace {
constexpr size_t k_max_open_packs = 128;
}

BlockReader::BlockReader(const Store& store, const BlockIndex& index)
    : m_store(store), m_index(index) {}

std::shared_ptr<const ObjectReader> BlockReader::open_pack(uint32_t ordinal) {
  std::lock_guard lock(m_mutex);
  auto it = m_open.find(ordinal);
  if (it != m_open.end()) {
    m_lru.splice(m_lru.begin(), m_lru, it->second.second);
    return it->second.first;
  }
  const PackId& id = m_index.packs().at(ordinal);
  std::shared_ptr<const ObjectReader> file;
  try {
    file = m_store.storage().open(pack_object(id));
  } catch (const Error& e) {
    throw Error(ErrorKind::damage, "reading", "pack " + id.hex(), e.cause());
  }
  uint8_t header[12] = {};
  file->read_at(header, sizeof header, 0);
  check_pack_version(get_u32(header + 8), "pack " + id.hex());  // its records may differ
  if (m_open.size() >= k_max_open_packs) {
    m_open.erase(m_lru.back());
    m_lru.pop_back();
  }
  m_lru.push_front(ordinal);
  m_open.emplace(ordinal, std::make_pair(file, m_lru.begin()));
  return file;
}

uint32_t BlockReader::read(const BlockId& id, uint8_t* out, std::vector<uint8_t>& scratch,
                           uint32_t* stored_len) {
  BlockLocation loc;
  if (!m_index.find(id, loc)) {
    throw Error(ErrorKind::damage, "reading", "block " + id.hex(), "not in the index (lost)");
  }
  auto file = open_pack(loc.pack);
  const uint32_t bs = m_store.block_size();
  scratch.resize(k_record_header_size + bs);
  size_t got = file->read_at(scratch.data(), scratch.size(), loc.offset);
  uint32_t raw_len = 0;
  std::string problem = check_record(scratch.data(), got, id, m_store.hasher(), out, bs, raw_len);
  if (!problem.empty()) {
    throw Error(ErrorKind::damage, "reading",
                fmt::format("pack {} at offset {}", m_index.packs()[loc.pack].hex(), loc.offset),
                problem);
  }
  if (stored_len) {
    PackEntry entry;
    parse_record_header(scratch.data(), got, entry);  // check_record accepted it
    *stored_len = entry.stored_len;
  }
  return raw_len;
}

}  // namespace vssimg
