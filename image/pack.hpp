// Pack files: immutable containers of compressed blocks (docs/format.md, "Pack file";
// layout in image/format.hpp).
#pragma once

#include "core/base/codec.hpp"
#include "core/base/hash.hpp"
#include "core/os/file.hpp"
#include "image/config.hpp"
#include "image/format.hpp"
#include "image/storage.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

struct PackId {
  std::array<uint8_t, k_id_size> bytes{};
  std::string hex() const;
  static PackId random();
  static bool parse(const std::string& hex, PackId& out);
  friend bool operator==(const PackId&, const PackId&) = default;
  friend auto operator<=>(const PackId&, const PackId&) = default;
};

inline constexpr size_t k_pack_header_size = pack_layout::header::k_size;
inline constexpr size_t k_record_header_size = pack_layout::record::k_size;
inline constexpr size_t k_pack_trailer_size = pack_layout::trailer::k_size;
inline constexpr size_t k_pack_table_entry_size = pack_layout::table_entry::k_size;

struct PackEntry {
  BlockId id;
  uint32_t offset = 0;  // of the record header
  uint32_t raw_len = 0;
  uint32_t stored_len = 0;
  Codec codec = Codec::raw;
};

// The storage object of a pack.
ObjectRef pack_object(const PackId& id);
// A pack as messages name it ("pack <hex>.pack").
std::string pack_display_name(const PackId& id);

// Builds one pack and commits it. Not thread-safe. After any error the writer refuses
// further use (it may have written a partial record).
class PackWriter {
 public:
  PackWriter(const Storage& storage, const StoreId& store_id);
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  const PackId& id() const { return m_id; }
  uint64_t size() const { return m_object->size(); }
  size_t count() const { return m_entries.size(); }
  // Appends a record; returns its table entry.
  const PackEntry& add(const BlockId& id, Codec codec, const uint8_t* payload, uint32_t stored_len,
                       uint32_t raw_len);
  // Writes the table and trailer and commits the pack (durable and visible on return).
  const std::vector<PackEntry>& commit();

 private:
  void check_usable() const;
  void append(const std::vector<uint8_t>& bytes);
  PackId m_id;
  std::unique_ptr<ObjectWriter> m_object;
  std::vector<PackEntry> m_entries;
  std::vector<uint8_t> m_scratch;
  bool m_failed = false;
  bool m_committed = false;
};

// Encodes a record (header and payload) into `out`, replacing its contents.
void encode_record(const BlockId& id, Codec codec, const uint8_t* payload, uint32_t stored_len,
                   uint32_t raw_len, std::vector<uint8_t>& out);

// Throws Error(newer_format) naming both versions when `version` (a pack header's)
// is newer than this build's.
void check_pack_version(uint32_t version, const std::string& name);

// Reads and checks a pack's header and table through ranged reads. Throws Error(damage)
// naming the pack as `name`, Error(newer_format) for a pack of a newer format.
std::vector<PackEntry> read_pack_table(const ObjectReader& pack, const StoreId& store_id,
                                       const std::string& name);

// The one record check: parses the record header in `buf` (at least header + stored
// bytes), checks its checksum and id, decodes the payload into `out` (capacity >=
// raw_len) and re-hashes it. Returns an empty string when the record is intact and holds
// block `expect`, else what is wrong ("checksum mismatch").
std::string check_record(const uint8_t* buf, size_t buf_len, const BlockId& expect,
                         const BlockHasher& hasher, uint8_t* out, size_t out_cap,
                         uint32_t& raw_len);

// Parses a record header without checking the payload; false if it is not a record.
bool parse_record_header(const uint8_t* buf, size_t len, PackEntry& entry);

// Where the next record magic at or after `from` starts in `data`, or `len` if none
// (repair's scanner resynchronises on it after damage).
size_t find_record_magic(const uint8_t* data, size_t len, size_t from);

}  // namespace vssimg
