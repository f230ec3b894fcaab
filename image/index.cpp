#include "image/index.hpp"

#include "core/os/atomic_file.hpp"
#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

namespace {
constexpr char k_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'I', 'X'};
constexpr char k_end_magic[8] = {'V', 'I', 'D', 'X', 'E', 'N', 'D', '\0'};
constexpr uint32_t k_version = 1;
constexpr size_t k_header_size = 40;
constexpr size_t k_entry_size = 32;
constexpr size_t k_trailer_size = 16;
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

size_t BlockIndex::slot_of(const BlockId& id) const {
  // Ids are uniform: map the 64-bit prefix onto [0, capacity) without a modulo.
  return static_cast<size_t>((static_cast<unsigned __int128>(id.prefix64()) * m_slots.size()) >>
                             64);
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

std::filesystem::path write_index_segment(
    const std::filesystem::path& store_root, const StoreId& store_id,
    const std::vector<std::pair<PackId, std::vector<PackEntry>>>& packs) {
  std::vector<SegmentEntry> entries;
  for (size_t p = 0; p < packs.size(); ++p) {
    for (const auto& e : packs[p].second) {
      entries.push_back(
          SegmentEntry{e.id, static_cast<uint32_t>(p), e.offset, e.raw_len, e.stored_len});
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const SegmentEntry& a, const SegmentEntry& b) { return a.id < b.id; });
  std::vector<uint8_t> out;
  out.reserve(k_header_size + packs.size() * 16 + entries.size() * k_entry_size + k_trailer_size);
  put_bytes(out, k_magic, 8);
  put_u32(out, k_version);
  put_u32(out, static_cast<uint32_t>(packs.size()));
  put_u64(out, entries.size());
  put_bytes(out, store_id.data(), store_id.size());
  for (const auto& p : packs) put_bytes(out, p.first.bytes.data(), 16);
  for (const auto& e : entries) {
    put_bytes(out, e.id.bytes.data(), 16);
    put_u32(out, e.pack);
    put_u32(out, e.offset);
    put_u32(out, e.raw_len);
    put_u32(out, e.stored_len);
  }
  put_u64(out, checksum64(out.data(), out.size()));
  put_bytes(out, k_end_magic, 8);

  auto rnd = random_bytes(16);
  auto path = store_root / "index" / (to_hex(rnd.data(), rnd.size()) + ".idx");
  AtomicFile file(path, store_root / "tmp");
  file.append(out.data(), out.size());
  file.commit();
  return path;
}

Segment read_index_segment(const std::filesystem::path& path, const StoreId& store_id) {
  const std::string name = "index segment " + path.filename().string();
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", name, what);
  };
  File file(path, File::Open::read);
  uint64_t size = file.size();
  if (size < k_header_size + k_trailer_size) throw damaged("file too short (truncated)");
  if (size > (uint64_t{1} << 34)) throw damaged("file implausibly large");
  std::vector<uint8_t> data(static_cast<size_t>(size));
  file.read_exact_at(data.data(), data.size(), 0);
  if (std::memcmp(data.data(), k_magic, 8) != 0) throw damaged("bad magic");
  if (std::memcmp(data.data() + size - 8, k_end_magic, 8) != 0)
    throw damaged("bad end magic (truncated?)");
  if (checksum64(data.data(), size - k_trailer_size) !=
      get_u64(data.data() + size - k_trailer_size)) {
    throw damaged("checksum mismatch");
  }
  Reader r(data.data(), data.size() - k_trailer_size);
  r.skip(8);
  uint32_t version = r.u32();
  uint32_t pack_count = r.u32();
  uint64_t entry_count = r.u64();
  StoreId sid;
  r.take(sid.data(), sid.size());
  if (version == 0 || version > k_version)
    throw damaged(fmt::format("unsupported version {}", version));
  if (sid != store_id) throw damaged("segment belongs to another store");
  // entry_count is checked before multiplying: a huge count must not wrap to the size.
  if (entry_count > r.remaining() / k_entry_size ||
      uint64_t{pack_count} * 16 + entry_count * k_entry_size != r.remaining()) {
    throw damaged("counts do not match the file size");
  }
  Segment seg;
  seg.packs.resize(pack_count);
  for (auto& p : seg.packs) r.take(p.bytes.data(), 16);
  seg.entries.resize(static_cast<size_t>(entry_count));
  for (auto& e : seg.entries) {
    r.take(e.id.bytes.data(), 16);
    e.pack = r.u32();
    e.offset = r.u32();
    e.raw_len = r.u32();
    e.stored_len = r.u32();
    if (e.pack >= pack_count || e.id.is_marker())
      throw damaged("entry refers to no pack or is a marker");
  }
  if (!r.ok()) throw damaged("truncated");
  return seg;
}

void SegmentBatcher::add(const PackId& pack, std::vector<PackEntry> entries) {
  m_pending.emplace_back(pack, std::move(entries));
  if (m_pending.size() >= k_packs_per_segment) flush();
}

void SegmentBatcher::flush() {
  if (m_pending.empty()) return;
  write_index_segment(m_root, m_store_id, m_pending);
  m_pending.clear();
  ++m_written;
}

}  // namespace vssimg
