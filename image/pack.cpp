#include "image/pack.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

namespace layout = pack_layout;

namespace {
// Packs stay below 4 GiB (u32 offsets), with room for the table and trailer.
constexpr uint64_t k_max_records_end = UINT32_MAX - (64u << 20);

std::vector<uint8_t> encode_header(const StoreId& store_id) {
  std::vector<uint8_t> h(layout::header::k_size, 0);
  std::memcpy(h.data() + layout::header::magic.offset, layout::k_magic, layout::header::magic.size);
  set_u32(h.data() + layout::header::version.offset, k_format_version);
  std::memcpy(h.data() + layout::header::store_id.offset, store_id.data(), store_id.size());
  return h;
}

// The table and the trailer after the records, which end at `table_offset`.
std::vector<uint8_t> encode_table(const std::vector<PackEntry>& entries, uint64_t table_offset) {
  namespace te = layout::table_entry;
  namespace tr = layout::trailer;
  const size_t table_len = entries.size() * te::k_size;
  std::vector<uint8_t> out(table_len + tr::k_size, 0);
  for (size_t i = 0; i < entries.size(); ++i) {
    uint8_t* p = out.data() + i * te::k_size;
    const PackEntry& e = entries[i];
    std::memcpy(p + te::block_id.offset, e.id.bytes.data(), te::block_id.size);
    set_u32(p + te::record_offset.offset, e.offset);
    set_u32(p + te::raw_length.offset, e.raw_len);
    set_u32(p + te::stored_length.offset, e.stored_len);
    p[te::codec.offset] = static_cast<uint8_t>(e.codec);
  }
  uint8_t* t = out.data() + table_len;
  set_u64(t + tr::table_offset.offset, table_offset);
  set_u32(t + tr::entry_count.offset, static_cast<uint32_t>(entries.size()));
  set_u64(t + tr::table_checksum.offset, checksum64(out.data(), table_len));
  std::memcpy(t + tr::magic.offset, layout::k_tail_magic, tr::magic.size);
  return out;
}

PackEntry decode_table_entry(const uint8_t* p) {
  namespace te = layout::table_entry;
  PackEntry e;
  std::memcpy(e.id.bytes.data(), p + te::block_id.offset, te::block_id.size);
  e.offset = get_u32(p + te::record_offset.offset);
  e.raw_len = get_u32(p + te::raw_length.offset);
  e.stored_len = get_u32(p + te::stored_length.offset);
  e.codec = static_cast<Codec>(p[te::codec.offset]);
  return e;
}

}  // namespace

void check_pack_version(uint32_t version, const std::string& name) {
  check_format_version(FormatKind::pack, version, name);
}

std::string PackId::hex() const {
  return to_hex(bytes.data(), bytes.size());
}

PackId PackId::random() {
  PackId id;
  auto r = random_bytes(id.bytes.size());
  std::memcpy(id.bytes.data(), r.data(), id.bytes.size());
  return id;
}

bool PackId::parse(const std::string& hex, PackId& out) {
  return from_hex(hex, out.bytes.data(), out.bytes.size());
}

ObjectRef pack_object(const PackId& id) {
  return ObjectRef{ObjectKind::pack, id.hex()};
}

std::string pack_display_name(const PackId& id) {
  return "pack " + id.hex() + ".pack";
}

PackWriter::PackWriter(const Storage& storage, const StoreId& store_id)
    : m_id(PackId::random()), m_object(storage.create(pack_object(m_id))) {
  append(encode_header(store_id));
}

void PackWriter::check_usable() const {
  if (m_failed) throw Error("writing pack", m_id.hex(), "pack writer failed earlier");
  if (m_committed) throw Error("writing pack", m_id.hex(), "pack already committed");
}

void PackWriter::append(const std::vector<uint8_t>& bytes) {
  try {
    m_object->append(bytes.data(), bytes.size());
  } catch (...) {
    m_failed = true;
    throw;
  }
}

void encode_record(const BlockId& id, Codec codec, const uint8_t* payload, uint32_t stored_len,
                   uint32_t raw_len, std::vector<uint8_t>& out) {
  namespace r = layout::record;
  out.assign(r::k_size + stored_len, 0);
  uint8_t* h = out.data();
  std::memcpy(h + r::magic.offset, layout::k_record_magic, r::magic.size);
  h[r::codec.offset] = static_cast<uint8_t>(codec);
  set_u32(h + r::raw_length.offset, raw_len);
  set_u32(h + r::stored_length.offset, stored_len);
  std::memcpy(h + r::block_id.offset, id.bytes.data(), r::block_id.size);
  if (stored_len) std::memcpy(h + r::k_size, payload, stored_len);
  set_u64(h + r::checksum.offset,
          checksum64(h + r::k_checksummed_from, out.size() - r::k_checksummed_from));
}

const PackEntry& PackWriter::add(const BlockId& id, Codec codec, const uint8_t* payload,
                                 uint32_t stored_len, uint32_t raw_len) {
  check_usable();
  uint64_t offset = size();
  if (offset + k_record_header_size + stored_len > k_max_records_end) {
    throw Error("writing pack", m_id.hex(), "pack would exceed 4 GiB");
  }
  encode_record(id, codec, payload, stored_len, raw_len, m_scratch);
  append(m_scratch);
  m_entries.push_back(PackEntry{id, static_cast<uint32_t>(offset), raw_len, stored_len, codec});
  return m_entries.back();
}

const std::vector<PackEntry>& PackWriter::commit() {
  check_usable();
  append(encode_table(m_entries, size()));
  try {
    m_object->commit();
  } catch (...) {
    m_failed = true;
    throw;
  }
  m_committed = true;
  return m_entries;
}

namespace {
// Header and trailer; returns the table offset and entry count they give.
std::pair<uint64_t, uint64_t> read_frame(const ObjectReader& pack, const StoreId& store_id,
                                         const std::string& name, uint64_t& table_sum) {
  namespace h = layout::header;
  namespace tr = layout::trailer;
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", name, what);
  };
  const uint64_t size = pack.size();
  if (size < h::k_size + tr::k_size) throw damaged("file too short to be a pack");
  uint8_t header[h::k_size];
  pack.read_exact_at(header, sizeof header, 0);
  if (std::memcmp(header + h::magic.offset, layout::k_magic, h::magic.size) != 0)
    throw damaged("bad pack magic");
  check_pack_version(get_u32(header + h::version.offset), name);
  if (std::memcmp(header + h::store_id.offset, store_id.data(), h::store_id.size) != 0) {
    throw damaged("pack belongs to another store");
  }
  uint8_t trailer[tr::k_size];
  pack.read_exact_at(trailer, sizeof trailer, size - tr::k_size);
  if (std::memcmp(trailer + tr::magic.offset, layout::k_tail_magic, tr::magic.size) != 0)
    throw damaged("bad pack trailer magic");
  const uint64_t table_offset = get_u64(trailer + tr::table_offset.offset);
  const uint64_t count = get_u32(trailer + tr::entry_count.offset);
  const uint64_t table_len = count * layout::table_entry::k_size;
  if (table_offset < h::k_size || table_offset + table_len + tr::k_size != size) {
    throw damaged("pack table offset or count out of range");
  }
  table_sum = get_u64(trailer + tr::table_checksum.offset);
  return {table_offset, count};
}
}  // namespace

std::vector<PackEntry> read_pack_table(const ObjectReader& pack, const StoreId& store_id,
                                       const std::string& name) {
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", name, what);
  };
  uint64_t table_sum = 0;
  const auto [table_offset, count] = read_frame(pack, store_id, name, table_sum);
  std::vector<uint8_t> table(static_cast<size_t>(count * layout::table_entry::k_size));
  pack.read_exact_at(table.data(), table.size(), table_offset);
  if (checksum64(table.data(), table.size()) != table_sum) {
    throw damaged("pack table checksum mismatch");
  }
  std::vector<PackEntry> entries(static_cast<size_t>(count));
  for (size_t i = 0; i < entries.size(); ++i) {
    PackEntry& e = entries[i];
    e = decode_table_entry(table.data() + i * layout::table_entry::k_size);
    if (e.offset < k_pack_header_size ||
        uint64_t{e.offset} + k_record_header_size + e.stored_len > table_offset) {
      throw damaged(fmt::format("table entry {} points outside the records", i));
    }
  }
  return entries;
}

bool parse_record_header(const uint8_t* buf, size_t len, PackEntry& entry) {
  namespace r = layout::record;
  if (len < r::k_size || std::memcmp(buf + r::magic.offset, layout::k_record_magic, r::magic.size))
    return false;
  entry.codec = static_cast<Codec>(buf[r::codec.offset]);
  entry.raw_len = get_u32(buf + r::raw_length.offset);
  entry.stored_len = get_u32(buf + r::stored_length.offset);
  std::memcpy(entry.id.bytes.data(), buf + r::block_id.offset, r::block_id.size);
  return entry.codec == Codec::raw || entry.codec == Codec::lz4;
}

size_t find_record_magic(const uint8_t* data, size_t len, size_t from) {
  const auto* magic = layout::k_record_magic;
  if (from >= len) return len;
  const uint8_t* at =
      std::search(data + from, data + len, magic, magic + sizeof layout::k_record_magic);
  return static_cast<size_t>(at - data);
}

std::string check_record(const uint8_t* buf, size_t buf_len, const BlockId& expect,
                         const BlockHasher& hasher, uint8_t* out, size_t out_cap,
                         uint32_t& raw_len) {
  namespace r = layout::record;
  PackEntry e;
  if (!parse_record_header(buf, buf_len, e)) return "not a block record (bad magic or codec)";
  if (e.stored_len > buf_len - r::k_size) return "record extends past the end of the pack";
  if (e.raw_len > out_cap) return "record raw length larger than the block size";
  // A record read from an encrypted store was authenticated by its seal: its checksum,
  // like its id below, could only repeat what the seal proved.
  if (!hasher.reads_authenticated() &&
      checksum64(buf + r::k_checksummed_from, r::k_size - r::k_checksummed_from + e.stored_len) !=
          get_u64(buf + r::checksum.offset)) {
    return "checksum mismatch";
  }
  if (e.id != expect) return "record holds block " + e.id.hex() + ", not " + expect.hex();
  if (!decode_block(e.codec, buf + r::k_size, e.stored_len, out, e.raw_len)) {
    return "payload does not decompress";
  }
  if (!hasher.reads_authenticated() && hasher.hash(out, e.raw_len) != expect) {
    return "data does not match its id (hash mismatch)";
  }
  raw_len = e.raw_len;
  return {};
}

}  // namespace vssimg
