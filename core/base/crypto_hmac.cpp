#include "core/base/crypto_hmac.hpp"

#include "core/base/error.hpp"

#ifdef VSSIMG_HAVE_LIBCRYPTO
#include <openssl/evp.h>
#else
#include <sodium.h>
#endif

#include <cstring>

namespace vssimg {

#ifdef VSSIMG_HAVE_LIBCRYPTO
// H((K ^ opad) · H((K ^ ipad) · m)) with one libcrypto digest context per thread: about
// five times libsodium's portable SHA-256 on a CPU with SHA-NI.
void hmac_sha256(const uint8_t* key, size_t key_len, const void* data, size_t len, uint8_t* out) {
  struct Holder {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Holder() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Holder h;
  static const EVP_MD* const sha256 = EVP_sha256();
  if (key_len > 64) throw Error("hashing a block", "HMAC-SHA-256", "key longer than a block");
  auto digest = [&](uint8_t x, const void* msg, size_t msg_len, uint8_t* md) {
    uint8_t pad[64];
    std::memset(pad, x, sizeof pad);
    for (size_t i = 0; i < key_len; ++i) pad[i] ^= key[i];
    unsigned int n = 0;
    if (!h.ctx || EVP_DigestInit_ex(h.ctx, sha256, nullptr) != 1 ||
        EVP_DigestUpdate(h.ctx, pad, sizeof pad) != 1 ||
        EVP_DigestUpdate(h.ctx, msg, msg_len) != 1 || EVP_DigestFinal_ex(h.ctx, md, &n) != 1) {
      throw Error("hashing a block", "libcrypto", "SHA-256 failed");
    }
  };
  uint8_t inner[32];
  digest(0x36, data, len, inner);
  digest(0x5c, inner, sizeof inner, out);
}
#else
void hmac_sha256(const uint8_t* key, size_t key_len, const void* data, size_t len, uint8_t* out) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, key_len);
  crypto_auth_hmacsha256_update(&st, static_cast<const uint8_t*>(data), len);
  crypto_auth_hmacsha256_final(&st, out);
}
#endif

}  // namespace vssimg
