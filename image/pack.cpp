#include "image/pack.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <cstring>

namespace vssimg {

namespace {
constexpr char k_pack_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'P', 'K'};
constexpr char k_record_magic[4] = {'V', 'R', 'E', 'C'};
constexpr char k_tail_magic[8] = {'V', 'P', 'K', 'T', 'A', 'I', 'L', '\0'};
constexpr uint32_t k_pack_version = 1;
}  // namespace

void check_pack_version(uint32_t version, const std::string& name) {
  if (version > k_pack_version) {
    throw Error(
        ErrorKind::store_not_found, "reading", name,
        fmt::format(
            "pack format version {} is newer than this build supports ({}); use a newer vssimg",
            version, k_pack_version));
  }
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

std::filesystem::path pack_relative_path(const PackId& id) {
  std::string hex = id.hex();
  return std::filesystem::path("packs") / hex.substr(0, 2) / (hex + ".pack");
}

PackWriter::PackWriter(const std::filesystem::path& store_root, const StoreId& store_id)
    : m_id(PackId::random()), m_file(store_root / pack_relative_path(m_id), store_root / "tmp") {
  std::vector<uint8_t> header;
  put_bytes(header, k_pack_magic, 8);
  put_u32(header, k_pack_version);
  put_u32(header, 0);
  put_bytes(header, store_id.data(), store_id.size());
  m_file.append(header.data(), header.size());
}

void PackWriter::check_usable() const {
  if (m_failed) throw Error("writing pack", m_id.hex(), "pack writer failed earlier");
  if (m_committed) throw Error("writing pack", m_id.hex(), "pack already committed");
}

const PackEntry& PackWriter::add(const BlockId& id, Codec codec, const uint8_t* payload,
                                 uint32_t stored_len, uint32_t raw_len) {
  check_usable();
  uint64_t offset = m_file.size();
  if (offset + k_record_header_size + stored_len > UINT32_MAX - (64u << 20)) {
    throw Error("writing pack", m_id.hex(), "pack would exceed 4 GiB");
  }
  m_scratch.resize(k_record_header_size + stored_len);
  uint8_t* h = m_scratch.data();
  std::memset(h, 0, k_record_header_size);
  std::memcpy(h, k_record_magic, 4);
  h[16] = static_cast<uint8_t>(codec);
  set_u32(h + 20, raw_len);
  set_u32(h + 24, stored_len);
  std::memcpy(h + 32, id.bytes.data(), 16);
  std::memcpy(h + k_record_header_size, payload, stored_len);
  set_u64(h + 8, checksum64(h + 16, k_record_header_size - 16 + stored_len));
  try {
    m_file.append(m_scratch.data(), m_scratch.size());
  } catch (...) {
    m_failed = true;
    throw;
  }
  m_entries.push_back(PackEntry{id, static_cast<uint32_t>(offset), raw_len, stored_len, codec});
  return m_entries.back();
}

const std::vector<PackEntry>& PackWriter::commit() {
  check_usable();
  try {
    std::vector<uint8_t> table;
    table.reserve(m_entries.size() * k_pack_table_entry_size + k_pack_trailer_size);
    for (const auto& e : m_entries) {
      put_bytes(table, e.id.bytes.data(), 16);
      put_u32(table, e.offset);
      put_u32(table, e.raw_len);
      put_u32(table, e.stored_len);
      put_u8(table, static_cast<uint8_t>(e.codec));
      put_u8(table, 0);
      put_u8(table, 0);
      put_u8(table, 0);
    }
    uint64_t table_offset = m_file.size();
    uint64_t table_sum = checksum64(table.data(), table.size());
    put_u64(table, table_offset);
    put_u32(table, static_cast<uint32_t>(m_entries.size()));
    put_u32(table, 0);
    put_u64(table, table_sum);
    put_bytes(table, k_tail_magic, 8);
    m_file.append(table.data(), table.size());
    m_file.commit();
  } catch (...) {
    m_failed = true;
    throw;
  }
  m_committed = true;
  return m_entries;
}

std::vector<PackEntry> read_pack_table(const File& pack, const StoreId& store_id) {
  const std::string name = "pack " + pack.path().filename().string();
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", name, what);
  };
  uint64_t size = pack.size();
  if (size < k_pack_header_size + k_pack_trailer_size) throw damaged("file too short to be a pack");
  uint8_t header[k_pack_header_size];
  pack.read_exact_at(header, sizeof header, 0);
  if (std::memcmp(header, k_pack_magic, 8) != 0) throw damaged("bad pack magic");
  check_pack_version(get_u32(header + 8), name);
  if (std::memcmp(header + 16, store_id.data(), 16) != 0) {
    throw damaged("pack belongs to another store");
  }
  uint8_t trailer[k_pack_trailer_size];
  pack.read_exact_at(trailer, sizeof trailer, size - k_pack_trailer_size);
  if (std::memcmp(trailer + 24, k_tail_magic, 8) != 0) throw damaged("bad pack trailer magic");
  uint64_t table_offset = get_u64(trailer);
  uint64_t count = get_u32(trailer + 8);
  uint64_t table_len = count * k_pack_table_entry_size;
  if (table_offset < k_pack_header_size || table_offset + table_len + k_pack_trailer_size != size) {
    throw damaged("pack table offset or count out of range");
  }
  std::vector<uint8_t> table(static_cast<size_t>(table_len));
  pack.read_exact_at(table.data(), table.size(), table_offset);
  if (checksum64(table.data(), table.size()) != get_u64(trailer + 16)) {
    throw damaged("pack table checksum mismatch");
  }
  std::vector<PackEntry> entries(static_cast<size_t>(count));
  for (size_t i = 0; i < entries.size(); ++i) {
    const uint8_t* p = table.data() + i * k_pack_table_entry_size;
    PackEntry& e = entries[i];
    std::memcpy(e.id.bytes.data(), p, 16);
    e.offset = get_u32(p + 16);
    e.raw_len = get_u32(p + 20);
    e.stored_len = get_u32(p + 24);
    e.codec = static_cast<Codec>(p[28]);
    if (e.offset < k_pack_header_size ||
        uint64_t{e.offset} + k_record_header_size + e.stored_len > table_offset) {
      throw damaged(fmt::format("table entry {} points outside the records", i));
    }
  }
  return entries;
}

bool parse_record_header(const uint8_t* buf, size_t len, PackEntry& entry) {
  if (len < k_record_header_size || std::memcmp(buf, k_record_magic, 4) != 0) return false;
  entry.codec = static_cast<Codec>(buf[16]);
  entry.raw_len = get_u32(buf + 20);
  entry.stored_len = get_u32(buf + 24);
  std::memcpy(entry.id.bytes.data(), buf + 32, 16);
  return entry.codec == Codec::raw || entry.codec == Codec::lz4;
}

std::string check_record(const uint8_t* buf, size_t buf_len, const BlockId& expect,
                         const BlockHasher& hasher, uint8_t* out, size_t out_cap,
                         uint32_t& raw_len) {
  PackEntry e;
  if (!parse_record_header(buf, buf_len, e)) return "not a block record (bad magic or codec)";
  if (e.stored_len > buf_len - k_record_header_size)
    return "record extends past the end of the pack";
  if (e.raw_len > out_cap) return "record raw length larger than the block size";
  if (checksum64(buf + 16, k_record_header_size - 16 + e.stored_len) != get_u64(buf + 8)) {
    return "checksum mismatch";
  }
  if (e.id != expect) return "record holds block " + e.id.hex() + ", not " + expect.hex();
  if (!decode_block(e.codec, buf + k_record_header_size, e.stored_len, out, e.raw_len)) {
    return "payload does not decompress";
  }
  if (hasher.hash(out, e.raw_len) != expect) return "data does not match its id (hash mismatch)";
  raw_len = e.raw_len;
  return {};
}

}  // namespace vssimg
