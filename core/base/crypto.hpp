// The cryptography of encrypted stores (docs/format.md, "Encryption"), over libsodium:
// records sealed with XChaCha20-Poly1305 (random 24-byte nonce, associated data binding a
// record to its store, kind and identity), block ids from GMAC then AES-256, and the
// Argon2id wrap of the master key in key files. Platform-neutral; built without
// libsodium (VSSIMG_SODIUM=OFF) every function here throws "encryption is not available".
#pragma once

#include "core/base/hash.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

inline constexpr size_t k_master_key_size = 32;
inline constexpr size_t k_seal_nonce_size = 24;
inline constexpr size_t k_seal_tag_size = 16;
// A sealed record is nonce · ciphertext · tag: this many bytes longer than its plaintext.
inline constexpr size_t k_seal_overhead = k_seal_nonce_size + k_seal_tag_size;
inline constexpr size_t k_pwhash_salt_size = 16;

// True when this build can read and write encrypted stores.
bool crypto_available();

// Fills `len` bytes with randomness from the operating system's CSPRNG.
void random_bytes(void* out, size_t len);

// What kind of object a sealed record belongs to; part of its associated data, so a
// record of one kind never opens as another.
// Sealed objects (image/storage_sealed.cpp) use 1, 2, 3 and 6, with the object's name
// and the chunk's number as identity; 4 and 5 are unused (reserved by an earlier draft).
enum class SealKind : uint32_t {
  pack_record = 1,    // a pack object
  index_segment = 2,  // an index segment object
  point_chunk = 3,    // a point object
  point_meta = 4,     // reserved
  config_secret = 5,  // reserved
  state = 6,          // a state object (verify state, damage record)
  key_test = 7,       // the wrapped master key of a key file; identity: its bytes 0-135
};

// The associated data of one record: store id (16) · kind (u32 LE) · identity bytes.
std::vector<uint8_t> seal_ad(const std::array<uint8_t, 16>& store_id, SealKind kind,
                             const void* identity, size_t identity_len);

// A store's master key: wiped from memory when destroyed. Not copyable.
class MasterKey {
 public:
  MasterKey();  // all zero; fill with random() or bytes()
  ~MasterKey();
  MasterKey(const MasterKey&) = delete;
  MasterKey& operator=(const MasterKey&) = delete;
  MasterKey(MasterKey&& other) noexcept;
  static MasterKey random();
  uint8_t* data() { return m_key.data(); }
  const uint8_t* data() const { return m_key.data(); }

 private:
  std::array<uint8_t, k_master_key_size> m_key{};
};

// Seals and opens records with the subkeys of one master key (BLAKE2b KDF: one for
// records, two for block ids). Thread-safe (stateless after construction).
class Sealer {
 public:
  explicit Sealer(const MasterKey& master);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // Writes nonce · ciphertext · tag of `plain` to `out` (plain_len + k_seal_overhead
  // bytes; `out` must not overlap `plain`).
  void seal(uint8_t* out, const void* plain, size_t plain_len,
            const std::vector<uint8_t>& ad) const;
  std::vector<uint8_t> seal(const void* plain, size_t plain_len,
                            const std::vector<uint8_t>& ad) const;
  // Opens what seal() wrote into `out` (sealed_len - k_seal_overhead bytes). Throws
  // Error(damage, "opening", object, "authentication failed ...") when the bytes, the
  // associated data or the key differ from those it was sealed with.
  void open(uint8_t* out, const void* sealed, size_t sealed_len, const std::vector<uint8_t>& ad,
            const std::string& object) const;
  std::vector<uint8_t> open(const void* sealed, size_t sealed_len, const std::vector<uint8_t>& ad,
                            const std::string& object) const;

  // Chunk sealing with a caller-made nonce (each nonce used once per key: sealed objects
  // derive one per chunk from a random base). seal_at writes len + k_seal_tag_size bytes
  // (ciphertext · tag) to `out`; open_at writes ct_len - k_seal_tag_size bytes and returns
  // false when authentication fails. `out` may equal the input (in place).
  void seal_at(uint8_t* out, const uint8_t* plain, size_t len, const uint8_t* nonce,
               const uint8_t* ad, size_t ad_len) const;
  bool open_at(uint8_t* out, const uint8_t* sealed, size_t sealed_len, const uint8_t* nonce,
               const uint8_t* ad, size_t ad_len) const;

  // The id of a data block: AES-256 under subkey 3 of the block's GMAC (AES-256-GCM, zero
  // nonce, the block as associated data) under subkey 2, through libcrypto, or CNG on
  // Windows (crypto_id.hpp). A PRF: ids reveal nothing of the content to one without the
  // key; equal blocks still have equal ids. Never a marker.
  BlockId block_id(const void* data, size_t len) const;

 private:
  friend class ObjectCipher;
  std::array<uint8_t, 32> m_record_key{};
  std::array<uint8_t, 32> m_id_key{};
  std::array<uint8_t, 32> m_prp_key{};
};

// The cipher of one sealed object (image/storage_sealed.cpp): XChaCha20-Poly1305 under the
// Sealer's record key with nonce `base[0..16) · tail`, where each chunk gives its own
// 8-byte `tail`. HChaCha20 runs once per object, then every chunk is ChaCha20-Poly1305
// (IETF) under that subkey: by construction the same bytes as Sealer::seal_at with the full
// nonce, computed by libcrypto's faster code where the build has it (libsodium's
// otherwise). Thread-safe.
class ObjectCipher {
 public:
  ObjectCipher(const Sealer& sealer, const uint8_t* base_nonce);  // 24 bytes
  ~ObjectCipher();
  ObjectCipher(const ObjectCipher&) = default;
  ObjectCipher& operator=(const ObjectCipher&) = default;
  // ciphertext · tag (len + k_seal_tag_size bytes) of `plain` into `out`.
  void seal(uint8_t* out, const uint8_t* plain, size_t len, const uint8_t* tail, const uint8_t* ad,
            size_t ad_len) const;
  // The plain bytes (sealed_len - k_seal_tag_size) into `out` (may equal `sealed`); false
  // when authentication fails.
  bool open(uint8_t* out, const uint8_t* sealed, size_t sealed_len, const uint8_t* tail,
            const uint8_t* ad, size_t ad_len) const;

 private:
  std::array<uint8_t, 32> m_key{};
};

// Argon2id parameters of a key file (docs/format.md, "Key files").
struct PwhashParams {
  uint64_t ops = 3;                  // passes
  uint64_t mem_bytes = 64ull << 20;  // memory
  std::array<uint8_t, k_pwhash_salt_size> salt{};
};

// Bounds a key file's recorded parameters must lie within (a damaged or hostile key
// file must not make us allocate terabytes or loop for hours): 1 to 64 passes, 8 KiB
// (libsodium's Argon2id minimum, checked in crypto.cpp) to 4 GiB. Part of the key-file
// format, so the same in every build, with libsodium or without.
inline bool pwhash_params_sane(const PwhashParams& p) {
  return p.ops >= 1 && p.ops <= 64 && p.mem_bytes >= (8u << 10) && p.mem_bytes <= (4ull << 30);
}

// The 32-byte key-encryption key Argon2id derives from `password` with `params`.
// Throws Error (failure) when the memory cannot be had.
std::array<uint8_t, 32> derive_password_key(const std::string& password,
                                            const PwhashParams& params);

// Wraps (XChaCha20-Poly1305 under `kek`, with `ad`) the master key: k_master_key_size +
// k_seal_overhead bytes. unwrap_master_key returns false when the kek or the bytes are wrong.
std::vector<uint8_t> wrap_master_key(const MasterKey& master, const std::array<uint8_t, 32>& kek,
                                     const std::vector<uint8_t>& ad);
bool unwrap_master_key(MasterKey& out, const uint8_t* wrapped, size_t wrapped_len,
                       const std::array<uint8_t, 32>& kek, const std::vector<uint8_t>& ad);

// Wipes memory the compiler may not optimise away (passwords, keys).
void secure_wipe(void* data, size_t len);

}  // namespace vssimg
