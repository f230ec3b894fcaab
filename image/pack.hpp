// Pack files: immutable containers of compressed blocks (docs/format.md, "Pack file").
#pragma once

#include "core/os/atomic_file.hpp"
#include "core/base/codec.hpp"
#include "core/os/file.hpp"
#include "core/base/hash.hpp"
#include "image/config.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

struct PackId {
  std::array<uint8_t, 16> bytes{};
  std::string hex() const;
  static PackId random();
  static bool parse(const std::string& hex, PackId& out);
  friend bool operator==(const PackId&, const PackId&) = default;
  friend auto operator<=>(const PackId&, const PackId&) = default;
};

inline constexpr size_t k_pack_header_size = 32;
inline constexpr size_t k_record_header_size = 48;
inline constexpr size_t k_pack_trailer_size = 32;
inline constexpr size_t k_pack_table_entry_size = 32;

struct PackEntry {
  BlockId id;
  uint32_t offset = 0;  // of the record header
  uint32_t raw_len = 0;
  uint32_t stored_len = 0;
  Codec codec = Codec::raw;
};

// Relative path of a pack inside the store: packs/ab/<hex>.pack
std::filesystem::path pack_relative_path(const PackId& id);

// Builds one pack in tmp/ and commits it. Not thread-safe. After any error the writer
// refuses further use (it may have written a partial record).
class PackWriter {
 public:
  PackWriter(const std::filesystem::path& store_root, const StoreId& store_id);
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  const PackId& id() const { return m_id; }
  uint64_t size() const { return m_file.size(); }
  size_t count() const { return m_entries.size(); }
  // Appends a record; returns its table entry.
  const PackEntry& add(const BlockId& id, Codec codec, const uint8_t* payload, uint32_t stored_len,
                       uint32_t raw_len);
  // Writes the table and trailer, flushes and renames the pack into place.
  const std::vector<PackEntry>& commit();

 private:
  void check_usable() const;
  PackId m_id;
  AtomicFile m_file;
  std::vector<PackEntry> m_entries;
  std::vector<uint8_t> m_scratch;
  bool m_failed = false;
  bool m_committed = false;
};

// Throws Error(store_not_found) naming both versions when `version` (a pack header's)
// is newer than this build's.
void check_pack_version(uint32_t version, const std::string& name);

// Reads and checks a pack's header and table. Throws Error(damage) naming the pack.
std::vector<PackEntry> read_pack_table(const File& pack, const StoreId& store_id);

// The one record check: parses the record header in `buf` (at least header + stored
// bytes), checks its checksum and id, decodes the payload into `out` (capacity >=
// raw_len) and re-hashes it. Returns an empty string when the record is intact and holds
// block `expect`, else what is wrong ("checksum mismatch").
std::string check_record(const uint8_t* buf, size_t buf_len, const BlockId& expect,
                         const BlockHasher& hasher, uint8_t* out, size_t out_cap,
                         uint32_t& raw_len);

// Parses a record header without checking the payload; false if it is not a record.
bool parse_record_header(const uint8_t* buf, size_t len, PackEntry& entry);

}  // namespace vssimg
