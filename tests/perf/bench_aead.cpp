// Throughput of the two AEADs libsodium offers for sealing store records, over 256 KiB
// records (the default block size): XChaCha20-Poly1305 (IETF) and, when the CPU has
// AES-NI and PCLMUL, AES-256-GCM; plus, for block ids, keyed BLAKE2b-128, libsodium's
// HMAC-SHA-256, the encrypted store's id as built (Sealer::block_id: GMAC then AES-256,
// through libcrypto or CNG) and the plain store's keyed XXH3-128.
// Not a test: run by hand (build/tests/vssimg_bench_aead [MiB]); docs/format.md,
// "Encryption", records the numbers and the choice they led to.
#include "core/base/crypto.hpp"

#include <sodium.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr size_t k_record = 256 * 1024;

template <class F>
double mb_per_s(size_t total_mib, F&& f) {
  size_t n = total_mib * 1024 * 1024 / k_record;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) f();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(n * k_record) / 1e6 / s;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  size_t mib = argc > 1 ? static_cast<size_t>(std::atoi(argv[1])) : 1024;
  std::vector<unsigned char> msg(k_record), out(k_record + 32), key(32), nonce(24), ad(48);
  randombytes_buf(msg.data(), msg.size());
  randombytes_buf(key.data(), key.size());
  unsigned long long clen = 0;
  double x = mb_per_s(mib, [&] {
    randombytes_buf(nonce.data(), 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &clen, msg.data(), msg.size(), ad.data(),
                                               ad.size(), nullptr, nonce.data(), key.data());
  });
  std::printf("xchacha20poly1305 seal: %.0f MB/s\n", x);
  int failures = 0;
  x = mb_per_s(mib, [&] {
    failures += crypto_aead_xchacha20poly1305_ietf_decrypt(msg.data(), nullptr, nullptr, out.data(),
                                                           clen, ad.data(), ad.size(), nonce.data(),
                                                           key.data()) != 0;
  });
  if (failures) return 1;
  std::printf("xchacha20poly1305 open: %.0f MB/s\n", x);
  if (crypto_aead_aes256gcm_is_available()) {
    double a = mb_per_s(mib, [&] {
      randombytes_buf(nonce.data(), 12);
      crypto_aead_aes256gcm_encrypt(out.data(), &clen, msg.data(), msg.size(), ad.data(), ad.size(),
                                    nullptr, nonce.data(), key.data());
    });
    std::printf("aes256gcm seal: %.0f MB/s\n", a);
  } else {
    std::printf("aes256gcm: not available on this CPU (crypto_aead_aes256gcm_is_available)\n");
  }
  unsigned char id[16];
  double b = mb_per_s(mib, [&] {
    crypto_generichash(id, sizeof id, msg.data(), msg.size(), key.data(), key.size());
  });
  std::printf("blake2b-128 keyed id: %.0f MB/s\n", b);
  unsigned char mac[32];
  double hs =
      mb_per_s(mib, [&] { crypto_auth_hmacsha256(mac, msg.data(), msg.size(), key.data()); });
  std::printf("hmac-sha256 (libsodium): %.0f MB/s\n", hs);
  vssimg::MasterKey master = vssimg::MasterKey::random();
  vssimg::Sealer sealer(master);
  double si = mb_per_s(mib, [&] {
    volatile auto r = sealer.block_id(msg.data(), msg.size()).bytes[0];
    (void)r;
  });
  std::printf("Sealer::block_id (gmac then aes-256, as built): %.0f MB/s\n", si);
  std::vector<unsigned char> secret(192, 7);
  double h = mb_per_s(mib, [&] {
    volatile auto r = XXH3_128bits_withSecret(msg.data(), msg.size(), secret.data(), secret.size());
    (void)r;
  });
  std::printf("xxh3-128 keyed id: %.0f MB/s\n", h);
  return 0;
}
