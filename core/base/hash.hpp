// Block identity (keyed XXH3-128) and record checksums (XXH3-64).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

// 128-bit block id. Three values are reserved as markers in a point's block map and
// are never produced for data (the hasher remaps them; see docs/format.md).
struct BlockId {
  std::array<uint8_t, 16> bytes{};

  static BlockId zero_marker();        // all 0x00: block is all zeros
  static BlockId free_marker();        // all 0xff: block unused by the filesystem
  static BlockId unreadable_marker();  // 0xff.. 0xfe: bad sectors, not stored
  bool is_zero() const;
  bool is_free() const;
  bool is_unreadable() const;
  bool is_marker() const { return is_zero() || is_free() || is_unreadable(); }

  std::string hex() const;
  // First 64 bits, for hash tables (the id is already uniformly distributed).
  uint64_t prefix64() const;

  friend bool operator==(const BlockId&, const BlockId&) = default;
  friend auto operator<=>(const BlockId&, const BlockId&) = default;
};

// For unordered containers keyed by block id: ids are uniform, so their first 8 bytes are
// already a good hash.
struct BlockIdHash {
  size_t operator()(const BlockId& id) const { return static_cast<size_t>(id.prefix64()); }
};

inline constexpr size_t k_secret_size = 192;

class Sealer;

// Hashes blocks: a plain store's with keyed XXH3-128 (the config's secret), an encrypted
// store's with GMAC then AES-256 (Sealer::block_id). Thread-safe (stateless after construction).
class BlockHasher {
 public:
  explicit BlockHasher(const std::vector<uint8_t>& secret);
  explicit BlockHasher(std::shared_ptr<const Sealer> sealer);
  BlockId hash(const void* data, size_t len) const;
  // True in an encrypted store: every byte read from it was authenticated by its seal
  // (which covers each record's header, id included), so a reader need not hash a block
  // again to trust it (check_record).
  bool reads_authenticated() const { return m_sealer != nullptr; }

 private:
  std::vector<uint8_t> m_secret;
  std::shared_ptr<const Sealer> m_sealer;
};

// Unkeyed XXH3-64 for checksums of records and files.
uint64_t checksum64(const void* data, size_t len);

// Incremental XXH3-64 over several pieces.
class Checksum64 {
 public:
  Checksum64();
  ~Checksum64();
  Checksum64(const Checksum64&) = delete;
  Checksum64& operator=(const Checksum64&) = delete;
  void update(const void* data, size_t len);
  uint64_t digest() const;

 private:
  void* m_state;
};

// True if all `len` bytes are zero. Fast path for the backup pipeline.
bool is_all_zero(const void* data, size_t len);

}  // namespace vssimg
