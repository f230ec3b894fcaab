// The on-disk layouts of format 1, field by field as docs/format.md draws them: every
// encoder and parser in image/ takes its offsets and sizes from here, and the
// static_asserts below check that each layout's fields are adjacent and add up to its size.
#pragma once

#include "core/base/hash.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace vssimg {

// The one format version this build writes and the newest it reads, for every file kind.
inline constexpr uint32_t k_format_version = 1;

// One fixed-size field of a layout: its byte offset from the start of the structure.
struct Field {
  size_t offset;
  size_t size;
  constexpr size_t end() const { return offset + size; }
};

// True when `fields` follow each other without gap or overlap from offset 0 and end at `total`.
constexpr bool fields_tile(std::initializer_list<Field> fields, size_t total) {
  size_t at = 0;
  for (const Field& f : fields) {
    if (f.offset != at) return false;
    at = f.end();
  }
  return at == total;
}

inline constexpr size_t k_id_size = 16;  // block ids, pack ids, store ids

// config (docs/format.md, "config").
namespace config_layout {
inline constexpr char k_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'C', 'F'};
inline constexpr Field magic{0, 8};
inline constexpr Field version{8, 4};
inline constexpr Field required_features{12, 4};
inline constexpr Field compatible_features{16, 4};
inline constexpr Field block_size{20, 4};
inline constexpr Field store_id{24, k_id_size};
inline constexpr Field created{40, 8};
inline constexpr Field secret_length{48, 4};
inline constexpr Field secret{52, k_secret_size};
inline constexpr Field checksum{244, 8};  // XXH3-64 of everything before it
inline constexpr size_t k_size = 252;
static_assert(fields_tile({magic, version, required_features, compatible_features, block_size,
                           store_id, created, secret_length, secret, checksum},
                          k_size));
}  // namespace config_layout

// Pack files (docs/format.md, "Pack file"): header, records, table, trailer.
namespace pack_layout {
inline constexpr char k_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'P', 'K'};
inline constexpr char k_record_magic[4] = {'V', 'R', 'E', 'C'};
inline constexpr char k_tail_magic[8] = {'V', 'P', 'K', 'T', 'A', 'I', 'L', '\0'};

namespace header {
inline constexpr Field magic{0, 8};
inline constexpr Field version{8, 4};
inline constexpr Field reserved{12, 4};
inline constexpr Field store_id{16, k_id_size};
inline constexpr size_t k_size = 32;
static_assert(fields_tile({magic, version, reserved, store_id}, k_size));
}  // namespace header

namespace record {
inline constexpr Field magic{0, 4};
inline constexpr Field reserved0{4, 4};
inline constexpr Field checksum{8, 8};  // XXH3-64 of bytes checksummed_from .. end of payload
inline constexpr Field codec{16, 1};
inline constexpr Field reserved1{17, 3};
inline constexpr Field raw_length{20, 4};
inline constexpr Field stored_length{24, 4};
inline constexpr Field reserved2{28, 4};
inline constexpr Field block_id{32, k_id_size};
inline constexpr size_t k_size = 48;  // the header; the payload follows
inline constexpr size_t k_checksummed_from = codec.offset;
static_assert(fields_tile({magic, reserved0, checksum, codec, reserved1, raw_length, stored_length,
                           reserved2, block_id},
                          k_size));
}  // namespace record

namespace table_entry {
inline constexpr Field block_id{0, k_id_size};
inline constexpr Field record_offset{16, 4};
inline constexpr Field raw_length{20, 4};
inline constexpr Field stored_length{24, 4};
inline constexpr Field codec{28, 1};
inline constexpr Field reserved{29, 3};
inline constexpr size_t k_size = 32;
static_assert(fields_tile({block_id, record_offset, raw_length, stored_length, codec, reserved},
                          k_size));
}  // namespace table_entry

namespace trailer {
inline constexpr Field table_offset{0, 8};
inline constexpr Field entry_count{8, 4};
inline constexpr Field reserved{12, 4};
inline constexpr Field table_checksum{16, 8};  // XXH3-64 of the table bytes
inline constexpr Field magic{24, 8};
inline constexpr size_t k_size = 32;
static_assert(fields_tile({table_offset, entry_count, reserved, table_checksum, magic}, k_size));
}  // namespace trailer
}  // namespace pack_layout

// Index segments (docs/format.md, "Index segment"): header, pack ids, entries, trailer.
namespace segment_layout {
inline constexpr char k_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'I', 'X'};
inline constexpr char k_end_magic[8] = {'V', 'I', 'D', 'X', 'E', 'N', 'D', '\0'};
inline constexpr size_t k_pack_id_size = k_id_size;

namespace header {
inline constexpr Field magic{0, 8};
inline constexpr Field version{8, 4};
inline constexpr Field pack_count{12, 4};
inline constexpr Field entry_count{16, 8};
inline constexpr Field store_id{24, k_id_size};
inline constexpr size_t k_size = 40;
static_assert(fields_tile({magic, version, pack_count, entry_count, store_id}, k_size));
}  // namespace header

namespace entry {
inline constexpr Field block_id{0, k_id_size};
inline constexpr Field pack_ordinal{16, 4};
inline constexpr Field record_offset{20, 4};
inline constexpr Field raw_length{24, 4};
inline constexpr Field stored_length{28, 4};
inline constexpr size_t k_size = 32;
static_assert(fields_tile({block_id, pack_ordinal, record_offset, raw_length, stored_length},
                          k_size));
}  // namespace entry

namespace trailer {
inline constexpr Field checksum{0, 8};  // XXH3-64 of all preceding bytes
inline constexpr Field magic{8, 8};
inline constexpr size_t k_size = 16;
static_assert(fields_tile({checksum, magic}, k_size));
}  // namespace trailer
}  // namespace segment_layout

// Point files (docs/format.md, "Point file"): header, metadata, map chunks, trailer.
namespace point_layout {
inline constexpr char k_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'P', 'T'};
inline constexpr char k_end_magic[8] = {'V', 'P', 'T', 'E', 'N', 'D', '\0', '\0'};
inline constexpr size_t k_ids_per_chunk = 65536;
inline constexpr size_t k_map_entry_size = k_id_size;

namespace header {
inline constexpr Field magic{0, 8};
inline constexpr Field version{8, 4};
inline constexpr Field required_features{12, 4};
inline constexpr Field metadata_length{16, 4};
inline constexpr Field chunk_count{20, 4};
inline constexpr Field block_count{24, 8};
inline constexpr Field block_size{32, 4};
inline constexpr Field reserved{36, 4};
inline constexpr size_t k_size = 40;
static_assert(fields_tile({magic, version, required_features, metadata_length, chunk_count,
                           block_count, block_size, reserved},
                          k_size));
}  // namespace header

namespace chunk {
inline constexpr Field raw_length{0, 4};
inline constexpr Field stored_length{4, 4};
inline constexpr Field codec{8, 1};
inline constexpr Field reserved{9, 3};
inline constexpr Field checksum{12, 8};      // XXH3-64 of the stored bytes
inline constexpr size_t k_header_size = 20;  // the stored bytes follow
static_assert(fields_tile({raw_length, stored_length, codec, reserved, checksum}, k_header_size));
}  // namespace chunk

namespace trailer {
inline constexpr Field checksum{0, 8};  // XXH3-64 of all preceding bytes
inline constexpr Field magic{8, 8};
inline constexpr size_t k_size = 16;
static_assert(fields_tile({checksum, magic}, k_size));
}  // namespace trailer
}  // namespace point_layout

// Damage records (docs/format.md, "Damage record"): header, entries, trailer.
namespace damage_layout {
inline constexpr char k_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'D', 'M'};
inline constexpr char k_end_magic[8] = {'V', 'D', 'M', 'G', 'E', 'N', 'D', '\0'};

namespace header {
inline constexpr Field magic{0, 8};
inline constexpr Field version{8, 4};
inline constexpr Field entry_count{12, 4};
inline constexpr size_t k_size = 16;
static_assert(fields_tile({magic, version, entry_count}, k_size));
}  // namespace header

namespace entry {
inline constexpr Field kind{0, 1};  // 1 copy, 2 pack, 3 segment
inline constexpr Field reserved{1, 3};
inline constexpr Field record_offset{4, 4};   // copy: the record's offset in its pack
inline constexpr Field object{8, k_id_size};  // copy: block id; pack: pack id; segment: name
inline constexpr Field pack{24, k_id_size};   // copy: the pack holding it; else zero
inline constexpr Field found{40, 8};          // Unix seconds when first found (signed)
inline constexpr size_t k_size = 48;
static_assert(fields_tile({kind, reserved, record_offset, object, pack, found}, k_size));
}  // namespace entry

namespace trailer {
inline constexpr Field checksum{0, 8};  // XXH3-64 of all preceding bytes
inline constexpr Field magic{8, 8};
inline constexpr size_t k_size = 16;
static_assert(fields_tile({checksum, magic}, k_size));
}  // namespace trailer
}  // namespace damage_layout

// Key files of an encrypted store (docs/format.md, "Key files"): one fixed-size record.
namespace key_layout {
inline constexpr char k_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'K', 'Y'};
inline constexpr Field magic{0, 8};
inline constexpr Field version{8, 4};
inline constexpr Field protection{12, 4};  // 1 password (Argon2id), 2 DPAPI (reserved)
inline constexpr Field store_id{16, k_id_size};
inline constexpr Field key_id{32, 8};
inline constexpr Field created{40, 8};
inline constexpr Field argon_ops{48, 4};
inline constexpr Field argon_mem_kib{52, 4};
inline constexpr Field salt{56, 16};
inline constexpr Field host{72, 64};
inline constexpr Field wrapped{136, 72};  // master key (32) sealed: nonce 24 · 32 · tag 16
inline constexpr Field checksum{208, 8};  // XXH3-64 of everything before it
inline constexpr size_t k_size = 216;
static_assert(fields_tile({magic, version, protection, store_id, key_id, created, argon_ops,
                           argon_mem_kib, salt, host, wrapped, checksum},
                          k_size));
}  // namespace key_layout

// The file kinds that carry a format version.
enum class FormatKind { store, pack, index_segment, point, damage, key };

// The one version check of every reader. Throws Error(newer_format) naming both versions
// when `version` is newer than k_format_version; older versions (all valid ones are 1 in
// this build) pass. A version of 0 is the caller's to judge (damage).
void check_format_version(FormatKind kind, uint32_t version, const std::string& name);

// Throws Error(newer_format) when `required` has a bit outside `known` (a feature a reader
// must understand, added by a newer build).
void check_required_features(FormatKind kind, uint32_t required, uint32_t known,
                             const std::string& name);

}  // namespace vssimg
