#include "core/base/crypto_id.hpp"

#include "core/base/error.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace vssimg {

namespace {

// One libcrypto context per thread and primitive, keyed with the last key it was given
// (a backup hashes every block under the same key, so the key schedule and GCM's hash
// key are computed once per thread). Wiped and freed when the thread ends.
struct KeyedContext {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  uint8_t key[32] = {};
  bool keyed = false;
  ~KeyedContext() {
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof key);
  }
  // The context keyed with `k` for `cipher`; throws what `what` names when it cannot be.
  EVP_CIPHER_CTX* with(const EVP_CIPHER* cipher, const uint8_t* k, const char* what) {
    if (!ctx) throw Error("hashing a block", what, "EVP_CIPHER_CTX_new failed");
    if (keyed && std::memcmp(key, k, sizeof key) == 0) return ctx;
    if (EVP_CipherInit_ex(ctx, cipher, nullptr, k, nullptr, 1) != 1) {
      keyed = false;
      throw Error("hashing a block", what, "cannot set the key");
    }
    std::memcpy(key, k, sizeof key);
    keyed = true;
    return ctx;
  }
};

}  // namespace

void gmac_aes256(const uint8_t* key, const void* data, size_t len, uint8_t* tag) {
  thread_local KeyedContext gcm;
  static const uint8_t zero_nonce[12] = {};
  EVP_CIPHER_CTX* ctx = gcm.with(EVP_aes_256_gcm(), key, "libcrypto AES-256-GCM");
  const auto* p = static_cast<const uint8_t*>(data);
  int n = 0;
  bool ok = EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, zero_nonce, 1) == 1;
  while (ok && len > 0) {  // associated data, in pieces an int can count
    const size_t take = std::min<size_t>(len, INT_MAX & ~size_t{15});
    ok = EVP_CipherUpdate(ctx, nullptr, &n, p, static_cast<int>(take)) == 1;
    p += take;
    len -= take;
  }
  uint8_t none[16];
  ok = ok && EVP_CipherFinal_ex(ctx, none, &n) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
  if (!ok) throw Error("hashing a block", "libcrypto AES-256-GCM", "GMAC failed");
}

void aes256_block(const uint8_t* key, const uint8_t* in, uint8_t* out) {
  thread_local KeyedContext ecb;
  EVP_CIPHER_CTX* ctx = ecb.with(EVP_aes_256_ecb(), key, "libcrypto AES-256");
  uint8_t block[16];
  std::memcpy(block, in, sizeof block);  // `out` may be `in`
  int n = 0;
  if (EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 || EVP_CipherUpdate(ctx, out, &n, block, 16) != 1 ||
      n != 16) {
    throw Error("hashing a block", "libcrypto AES-256", "encryption failed");
  }
}

}  // namespace vssimg
