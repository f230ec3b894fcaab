#include "image/index.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#ifdef _MSC_VER
#include <intrin.h>
#endif

namespace vssimg {

namespace {
namespace layout = segment_layout;
namespace header = segment_layout::header;
namespace entry = segment_layout::entry;
namespace trailer = segment_layout::trailer;
constexpr uint64_t k_max_segment_size = uint64_t{1} << 34;
// Load factor bounds of the in-memory table. Linear probing stays short up to 0.85;
// growing by 1.25x keeps the table 68-85% full while inserting (31.6 bytes per block on
// average over store sizes), and reserve() sizes a freshly loaded index to 80% (30 bytes),
// leaving room for a backup's new blocks before the first regrow.
constexpr double k_max_load = 0.85;
constexpr double k_reserve_load = 0.80;
constexpr double k_growth = 1.25;
}  // namespace

void BlockIndex::reserve(size_t blocks) {
  size_t want = static_cast<size_t>(static_cast<double>(blocks) / k_reserve_load) + 16;
  if (want > m_slots.size()) grow(want);
}

uint32_t BlockIndex::add_pack(const PackId& pack) {
  auto [it, inserted] = m_pack_ordinals.emplace(pack, static_cast<uint32_t>(m_packs.size()));
  if (inserted) m_packs.push_back(pack);
  return it->second;
}

size_t slot_for_prefix(uint64_t prefix, size_t slots) {
  const auto n = static_cast<uint64_t>(slots);
#ifdef _MSC_VER
  return static_cast<size_t>(__umulh(prefix, n));  // MSVC has no 128-bit integer type
#else
  return static_cast<size_t>((static_cast<unsigned __int128>(prefix) * n) >> 64);
#endif
}

size_t BlockIndex::slot_of(const BlockId& id) const {
  // Ids are uniform: map the 64-bit prefix onto [0, capacity) without a modulo.
  return slot_for_prefix(id.prefix64(), m_slots.size());
}

bool BlockIndex::find(const BlockId& id, BlockLocation& out) const {
  if (m_slots.empty()) return false;
  size_t i = slot_of(id);
  for (;;) {
    const Slot& s = m_slots[i];
    if (s.id == id) {
      out = BlockLocation{s.pack, s.offset};
      return true;
    }
    if (s.id.is_zero()) return false;
    if (++i == m_slots.size()) i = 0;
  }
}

bool BlockIndex::insert(const BlockId& id, BlockLocation loc) {
  if (static_cast<double>(m_count + 1) > static_cast<double>(m_slots.size()) * k_max_load) {
    grow(std::max<size_t>(64, static_cast<size_t>(static_cast<double>(m_slots.size()) * k_growth)));
  }
  size_t i = slot_of(id);
  for (;;) {
    Slot& s = m_slots[i];
    if (s.id == id) return false;
    if (s.id.is_zero()) {
      s = Slot{id, loc.pack, loc.offset};
      ++m_count;
      return true;
    }
    if (++i == m_slots.size()) i = 0;
  }
}

void BlockIndex::add_copy(const BlockId& id, BlockLocation loc) {
  BlockLocation first;
  if (!find(id, first)) {
    insert(id, loc);
    return;
  }
  if (first.pack == loc.pack && first.offset == loc.offset) return;
  auto [from, to] = m_extra.equal_range(id);
  for (auto it = from; it != to; ++it) {
    if (it->second.pack == loc.pack && it->second.offset == loc.offset) return;
  }
  m_extra.emplace(id, loc);
}

std::vector<BlockLocation> BlockIndex::copies(const BlockId& id) const {
  std::vector<BlockLocation> out;
  BlockLocation first;
  if (!find(id, first)) return out;
  out.push_back(first);
  if (m_extra.empty()) return out;
  auto [from, to] = m_extra.equal_range(id);
  for (auto it = from; it != to; ++it) out.push_back(it->second);
  return out;
}

void BlockIndex::grow(size_t capacity) {
  std::vector<Slot> old;
  old.swap(m_slots);
  m_slots.assign(capacity, Slot{BlockId{}, 0, 0});
  m_slots.shrink_to_fit();
  m_count = 0;
  for (const auto& s : old) {
    if (!s.id.is_zero()) insert(s.id, BlockLocation{s.pack, s.offset});
  }
}

ObjectRef segment_object(const std::string& name) {
  return ObjectRef{ObjectKind::index, name};
}

std::vector<uint8_t> encode_index_segment(
    const StoreId& store_id, const std::vector<std::pair<PackId, std::vector<PackEntry>>>& packs) {
  std::vector<SegmentEntry> entries;
  for (size_t p = 0; p < packs.size(); ++p) {
    for (const auto& e : packs[p].second) {
      entries.push_back(
          SegmentEntry{e.id, static_cast<uint32_t>(p), e.offset, e.raw_len, e.stored_len});
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const SegmentEntry& a, const SegmentEntry& b) { return a.id < b.id; });
  const size_t packs_at = header::k_size;
  const size_t entries_at = packs_at + packs.size() * layout::k_pack_id_size;
  const size_t trailer_at = entries_at + entries.size() * entry::k_size;
  std::vector<uint8_t> out(trailer_at + trailer::k_size, 0);
  uint8_t* h = out.data();
  std::memcpy(h + header::magic.offset, layout::k_magic, header::magic.size);
  set_u32(h + header::version.offset, k_format_version);
  set_u32(h + header::pack_count.offset, static_cast<uint32_t>(packs.size()));
  set_u64(h + header::entry_count.offset, entries.size());
  std::memcpy(h + header::store_id.offset, store_id.data(), header::store_id.size);
  for (size_t i = 0; i < packs.size(); ++i) {
    std::memcpy(h + packs_at + i * layout::k_pack_id_size, packs[i].first.bytes.data(),
                layout::k_pack_id_size);
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    uint8_t* p = h + entries_at + i * entry::k_size;
    const SegmentEntry& e = entries[i];
    std::memcpy(p + entry::block_id.offset, e.id.bytes.data(), entry::block_id.size);
    set_u32(p + entry::pack_ordinal.offset, e.pack);
    set_u32(p + entry::record_offset.offset, e.offset);
    set_u32(p + entry::raw_length.offset, e.raw_len);
    set_u32(p + entry::stored_length.offset, e.stored_len);
  }
  set_u64(h + trailer_at + trailer::checksum.offset, checksum64(h, trailer_at));
  std::memcpy(h + trailer_at + trailer::magic.offset, layout::k_end_magic, trailer::magic.size);
  return out;
}

std::string write_index_segment(
    const Storage& storage, const StoreId& store_id,
    const std::vector<std::pair<PackId, std::vector<PackEntry>>>& packs) {
  auto bytes = encode_index_segment(store_id, packs);
  auto rnd = random_bytes(16);
  std::string name = to_hex(rnd.data(), rnd.size());
  storage.write(segment_object(name), bytes.data(), bytes.size());
  return name;
}

namespace {
// Magic, version, checksum and store id; returns the counts of a segment that passed.
std::pair<uint32_t, uint64_t> check_segment_frame(const uint8_t* data, size_t len,
                                                  const StoreId& store_id,
                                                  const std::string& name) {
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", name, what);
  };
  if (len < header::k_size + trailer::k_size) throw damaged("file too short (truncated)");
  if (std::memcmp(data + header::magic.offset, layout::k_magic, header::magic.size) != 0)
    throw damaged("bad magic");
  const size_t trailer_at = len - trailer::k_size;
  if (std::memcmp(data + trailer_at + trailer::magic.offset, layout::k_end_magic,
                  trailer::magic.size) != 0)
    throw damaged("bad end magic (truncated?)");
  if (checksum64(data, trailer_at) != get_u64(data + trailer_at + trailer::checksum.offset)) {
    throw damaged("checksum mismatch");
  }
  // After the checksum, which covers it: a flipped bit is damage, not a newer format.
  const uint32_t version = get_u32(data + header::version.offset);
  check_format_version(FormatKind::index_segment, version, name);
  if (version == 0) throw damaged("unsupported version 0");
  if (std::memcmp(data + header::store_id.offset, store_id.data(), header::store_id.size) != 0)
    throw damaged("segment belongs to another store");
  const uint32_t pack_count = get_u32(data + header::pack_count.offset);
  const uint64_t entry_count = get_u64(data + header::entry_count.offset);
  const uint64_t body = trailer_at - header::k_size;
  // entry_count is checked before multiplying: a huge count must not wrap to the size.
  if (entry_count > body / entry::k_size ||
      uint64_t{pack_count} * layout::k_pack_id_size + entry_count * entry::k_size != body) {
    throw damaged("counts do not match the file size");
  }
  return {pack_count, entry_count};
}
}  // namespace

Segment decode_index_segment(const uint8_t* data, size_t len, const StoreId& store_id,
                             const std::string& name) {
  const auto [pack_count, entry_count] = check_segment_frame(data, len, store_id, name);
  Segment seg;
  seg.packs.resize(pack_count);
  const uint8_t* p = data + header::k_size;
  for (auto& pack : seg.packs) {
    std::memcpy(pack.bytes.data(), p, layout::k_pack_id_size);
    p += layout::k_pack_id_size;
  }
  seg.entries.resize(static_cast<size_t>(entry_count));
  for (auto& e : seg.entries) {
    std::memcpy(e.id.bytes.data(), p + entry::block_id.offset, entry::block_id.size);
    e.pack = get_u32(p + entry::pack_ordinal.offset);
    e.offset = get_u32(p + entry::record_offset.offset);
    e.raw_len = get_u32(p + entry::raw_length.offset);
    e.stored_len = get_u32(p + entry::stored_length.offset);
    p += entry::k_size;
    if (e.pack >= pack_count || e.id.is_marker()) {
      throw Error(ErrorKind::damage, "reading", name, "entry refers to no pack or is a marker");
    }
  }
  return seg;
}

Segment read_index_segment(const Storage& storage, const std::string& name,
                           const StoreId& store_id) {
  const std::string shown = "index segment " + name + ".idx";
  std::vector<uint8_t> data;
  try {
    auto reader = storage.open(segment_object(name));
    const uint64_t size = reader->size();
    if (size > k_max_segment_size)
      throw Error(ErrorKind::damage, "reading", shown, "file implausibly large");
    data.resize(static_cast<size_t>(size));
    reader->read_exact_at(data.data(), data.size(), 0);
  } catch (const Error& e) {
    // Named as a segment, whatever the storage calls it (a sealed chunk that did not open).
    if (e.kind() != ErrorKind::damage) throw;
    throw Error(ErrorKind::damage, "reading", shown, e.cause());
  }
  return decode_index_segment(data.data(), data.size(), store_id, shown);
}

void SegmentBatcher::add(const PackId& pack, std::vector<PackEntry> entries) {
  m_pending.emplace_back(pack, std::move(entries));
  if (m_pending.size() >= k_packs_per_segment) flush();
}

void SegmentBatcher::flush() {
  if (m_pending.empty()) return;
  write_index_segment(*m_storage, m_store_id, m_pending);
  m_pending.clear();
  ++m_written;
}

}  // namespace vssimg
