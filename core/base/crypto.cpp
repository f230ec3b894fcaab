#include "core/base/crypto.hpp"

#include "core/base/bytes.hpp"
#include "core/base/crypto_id.hpp"
#include "core/base/error.hpp"

#include <sodium.h>
#ifdef VSSIMG_HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif

#include <cstring>
#include <mutex>

namespace vssimg {

namespace {

static_assert(k_seal_nonce_size == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(k_seal_tag_size == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(k_master_key_size == crypto_kdf_KEYBYTES);
static_assert(k_pwhash_salt_size == crypto_pwhash_SALTBYTES);

// The KDF context of every subkey (8 bytes, crypto_kdf's rule) and the subkey numbers.
constexpr char k_kdf_context[crypto_kdf_CONTEXTBYTES + 1] = "vssimgk1";
constexpr uint64_t k_subkey_records = 1;
constexpr uint64_t k_subkey_id_mac = 2;  // the id's GMAC key
constexpr uint64_t k_subkey_id_prp = 3;  // the id's AES key

void init_sodium() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = sodium_init() >= 0; });
  if (!ok) throw Error("initialising", "libsodium", "sodium_init failed");
}

}  // namespace

bool crypto_available() {
  return true;
}

void random_bytes(void* out, size_t len) {
  init_sodium();
  randombytes_buf(out, len);
}

void secure_wipe(void* data, size_t len) {
  sodium_memzero(data, len);
}

MasterKey MasterKey::random() {
  MasterKey key;
  random_bytes(key.m_key.data(), key.m_key.size());
  return key;
}

Sealer::Sealer(const MasterKey& master) {
  init_sodium();
  crypto_kdf_derive_from_key(m_record_key.data(), m_record_key.size(), k_subkey_records,
                             k_kdf_context, master.data());
  crypto_kdf_derive_from_key(m_id_key.data(), m_id_key.size(), k_subkey_id_mac, k_kdf_context,
                             master.data());
  crypto_kdf_derive_from_key(m_prp_key.data(), m_prp_key.size(), k_subkey_id_prp, k_kdf_context,
                             master.data());
}

Sealer::~Sealer() {
  secure_wipe(m_record_key.data(), m_record_key.size());
  secure_wipe(m_id_key.data(), m_id_key.size());
  secure_wipe(m_prp_key.data(), m_prp_key.size());
}

void Sealer::seal(uint8_t* out, const void* plain, size_t plain_len,
                  const std::vector<uint8_t>& ad) const {
  randombytes_buf(out, k_seal_nonce_size);
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out + k_seal_nonce_size, nullptr, static_cast<const uint8_t*>(plain), plain_len, ad.data(),
      ad.size(), nullptr, out, m_record_key.data());
}

std::vector<uint8_t> Sealer::seal(const void* plain, size_t plain_len,
                                  const std::vector<uint8_t>& ad) const {
  std::vector<uint8_t> out(plain_len + k_seal_overhead);
  seal(out.data(), plain, plain_len, ad);
  return out;
}

void Sealer::open(uint8_t* out, const void* sealed, size_t sealed_len,
                  const std::vector<uint8_t>& ad, const std::string& object) const {
  if (sealed_len < k_seal_overhead) {
    throw Error(ErrorKind::damage, "opening", object, "sealed record is too short");
  }
  const auto* s = static_cast<const uint8_t*>(sealed);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, nullptr, nullptr, s + k_seal_nonce_size,
                                                 sealed_len - k_seal_nonce_size, ad.data(),
                                                 ad.size(), s, m_record_key.data()) != 0) {
    throw Error(ErrorKind::damage, "opening", object,
                "authentication failed (tampered, moved from another place, or another key)");
  }
}

std::vector<uint8_t> Sealer::open(const void* sealed, size_t sealed_len,
                                  const std::vector<uint8_t>& ad, const std::string& object) const {
  std::vector<uint8_t> out(sealed_len >= k_seal_overhead ? sealed_len - k_seal_overhead : 0);
  open(out.data(), sealed, sealed_len, ad, object);
  return out;
}

void Sealer::seal_at(uint8_t* out, const uint8_t* plain, size_t len, const uint8_t* nonce,
                     const uint8_t* ad, size_t ad_len) const {
  crypto_aead_xchacha20poly1305_ietf_encrypt(out, nullptr, plain, len, ad, ad_len, nullptr, nonce,
                                             m_record_key.data());
}

bool Sealer::open_at(uint8_t* out, const uint8_t* sealed, size_t sealed_len, const uint8_t* nonce,
                     const uint8_t* ad, size_t ad_len) const {
  if (sealed_len < k_seal_tag_size) return false;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out, nullptr, nullptr, sealed, sealed_len, ad,
                                                    ad_len, nonce, m_record_key.data()) == 0;
}

BlockId Sealer::block_id(const void* data, size_t len) const {
  // GMAC, an almost-universal hash under a secret key, then a block cipher under an
  // independent one: a PRF (docs/format.md, "Choice of block id").
  uint8_t tag[16];
  gmac_aes256(m_id_key.data(), data, len, tag);
  BlockId id;
  aes256_block(m_prp_key.data(), tag, id.bytes.data());
  if (id.is_marker()) id.bytes[7] ^= 0x01;  // never a marker (as BlockHasher does)
  return id;
}

namespace {

// The IETF nonce of a chunk under the object's HChaCha20 subkey: 4 zero bytes, its tail.
std::array<uint8_t, 12> ietf_nonce(const uint8_t* tail) {
  std::array<uint8_t, 12> n{};
  std::memcpy(n.data() + 4, tail, 8);
  return n;
}

#ifdef VSSIMG_HAVE_LIBCRYPTO
// One libcrypto context per thread, set up for ChaCha20-Poly1305 once; each chunk sets
// its key and nonce (cheap for ChaCha20).
EVP_CIPHER_CTX* thread_context() {
  struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local Holder h;
  thread_local bool ready = false;
  if (!h.ctx) throw Error("sealing", "libcrypto", "EVP_CIPHER_CTX_new failed");
  if (!ready) {
    if (EVP_CipherInit_ex(h.ctx, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr, 1) != 1)
      throw Error("sealing", "libcrypto", "ChaCha20-Poly1305 is not available");
    ready = true;
  }
  return h.ctx;
}

// Runs one chunk through libcrypto; false when the tag does not match (open).
bool evp_chunk(const std::array<uint8_t, 32>& key, const std::array<uint8_t, 12>& nonce,
               int encrypt, uint8_t* out, const uint8_t* in, size_t len, uint8_t* tag,
               const uint8_t* ad, size_t ad_len) {
  EVP_CIPHER_CTX* ctx = thread_context();
  int n = 0;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nonce.data(), encrypt) != 1 ||
      (ad_len && EVP_CipherUpdate(ctx, nullptr, &n, ad, static_cast<int>(ad_len)) != 1) ||
      (len && EVP_CipherUpdate(ctx, out, &n, in, static_cast<int>(len)) != 1)) {
    throw Error("sealing", "libcrypto", "ChaCha20-Poly1305 failed");
  }
  if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1) return false;
  if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1) return false;
  if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1) {
    throw Error("sealing", "libcrypto", "no tag");
  }
  return true;
}
#endif

}  // namespace

ObjectCipher::ObjectCipher(const Sealer& sealer, const uint8_t* base_nonce) {
  init_sodium();
  crypto_core_hchacha20(m_key.data(), base_nonce, sealer.m_record_key.data(), nullptr);
}

ObjectCipher::~ObjectCipher() {
  secure_wipe(m_key.data(), m_key.size());
}

void ObjectCipher::seal(uint8_t* out, const uint8_t* plain, size_t len, const uint8_t* tail,
                        const uint8_t* ad, size_t ad_len) const {
  const auto nonce = ietf_nonce(tail);
#ifdef VSSIMG_HAVE_LIBCRYPTO
  evp_chunk(m_key, nonce, 1, out, plain, len, out + len, ad, ad_len);
#else
  crypto_aead_chacha20poly1305_ietf_encrypt(out, nullptr, plain, len, ad, ad_len, nullptr,
                                            nonce.data(), m_key.data());
#endif
}

bool ObjectCipher::open(uint8_t* out, const uint8_t* sealed, size_t sealed_len, const uint8_t* tail,
                        const uint8_t* ad, size_t ad_len) const {
  if (sealed_len < k_seal_tag_size) return false;
  const auto nonce = ietf_nonce(tail);
#ifdef VSSIMG_HAVE_LIBCRYPTO
  const size_t len = sealed_len - k_seal_tag_size;
  uint8_t tag[k_seal_tag_size];
  std::memcpy(tag, sealed + len, sizeof tag);  // `out` may overwrite `sealed`
  return evp_chunk(m_key, nonce, 0, out, sealed, len, tag, ad, ad_len);
#else
  return crypto_aead_chacha20poly1305_ietf_decrypt(out, nullptr, nullptr, sealed, sealed_len, ad,
                                                   ad_len, nonce.data(), m_key.data()) == 0;
#endif
}

static_assert(crypto_pwhash_argon2id_OPSLIMIT_MIN <= 1 &&
                  crypto_pwhash_argon2id_MEMLIMIT_MIN <= (8u << 10),
              "pwhash_params_sane admits parameters libsodium refuses");

std::array<uint8_t, 32> derive_password_key(const std::string& password,
                                            const PwhashParams& params) {
  init_sodium();
  if (!pwhash_params_sane(params)) {
    throw Error(ErrorKind::damage, "deriving", "key-encryption key",
                "Argon2id parameters out of range");
  }
  std::array<uint8_t, 32> kek{};
  if (crypto_pwhash(kek.data(), kek.size(), password.data(), password.size(), params.salt.data(),
                    params.ops, static_cast<size_t>(params.mem_bytes),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw Error("deriving", "key-encryption key", "Argon2id ran out of memory");
  }
  return kek;
}

std::vector<uint8_t> wrap_master_key(const MasterKey& master, const std::array<uint8_t, 32>& kek,
                                     const std::vector<uint8_t>& ad) {
  init_sodium();
  std::vector<uint8_t> out(k_master_key_size + k_seal_overhead);
  randombytes_buf(out.data(), k_seal_nonce_size);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + k_seal_nonce_size, nullptr, master.data(),
                                             k_master_key_size, ad.data(), ad.size(), nullptr,
                                             out.data(), kek.data());
  return out;
}

bool unwrap_master_key(MasterKey& out, const uint8_t* wrapped, size_t wrapped_len,
                       const std::array<uint8_t, 32>& kek, const std::vector<uint8_t>& ad) {
  init_sodium();
  if (wrapped_len != k_master_key_size + k_seal_overhead) return false;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             out.data(), nullptr, nullptr, wrapped + k_seal_nonce_size,
             wrapped_len - k_seal_nonce_size, ad.data(), ad.size(), wrapped, kek.data()) == 0;
}

}  // namespace vssimg
