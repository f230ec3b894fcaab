// core/base/crypto: sealing, associated data, keyed ids and the Argon2id key wrap.
#include "core/base/bytes.hpp"
#include "core/base/crypto.hpp"
#include "core/base/crypto_id.hpp"
#include "core/base/error.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace vssimg;

namespace {

std::array<uint8_t, 16> store_a() {
  std::array<uint8_t, 16> id{};
  id.fill(0xa1);
  return id;
}
std::array<uint8_t, 16> store_b() {
  std::array<uint8_t, 16> id{};
  id.fill(0xb2);
  return id;
}
std::vector<uint8_t> ad_of(const std::array<uint8_t, 16>& store, SealKind kind,
                           const std::string& identity) {
  return seal_ad(store, kind, identity.data(), identity.size());
}

}  // namespace

TEST_CASE("crypto: a sealed record opens to its plaintext and hides it", "[crypto]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  MasterKey key = MasterKey::random();
  Sealer sealer(key);
  auto plain = test::pseudo_random(256 * 1024, 3);
  std::memcpy(plain.data() + 1000, "MARKER-TEXT-42", 14);
  auto ad = ad_of(store_a(), SealKind::pack_record, "pack1@32");
  auto sealed = sealer.seal(plain.data(), plain.size(), ad);
  REQUIRE(sealed.size() == plain.size() + k_seal_overhead);
  std::string text(sealed.begin(), sealed.end());
  REQUIRE(text.find("MARKER-TEXT-42") == std::string::npos);
  REQUIRE(sealer.open(sealed.data(), sealed.size(), ad, "rec") == plain);
  // Random nonces: sealing twice gives different bytes.
  REQUIRE(sealer.seal(plain.data(), plain.size(), ad) != sealed);
}

TEST_CASE("crypto: a flipped bit, another place, store, kind or key fails to open", "[crypto]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  MasterKey key = MasterKey::random();
  Sealer sealer(key);
  auto plain = test::pseudo_random(4096, 5);
  auto ad = ad_of(store_a(), SealKind::point_chunk, "p1#0");
  auto sealed = sealer.seal(plain.data(), plain.size(), ad);
  auto flipped = sealed;
  flipped[100] ^= 0x10;
  REQUIRE_THROWS_AS(sealer.open(flipped.data(), flipped.size(), ad, "r"), Error);
  REQUIRE_THROWS(sealer.open(sealed.data(), sealed.size(),
                             ad_of(store_a(), SealKind::point_chunk, "p1#1"), "r"));
  REQUIRE_THROWS(sealer.open(sealed.data(), sealed.size(),
                             ad_of(store_b(), SealKind::point_chunk, "p1#0"), "r"));
  REQUIRE_THROWS(sealer.open(sealed.data(), sealed.size(),
                             ad_of(store_a(), SealKind::index_segment, "p1#0"), "r"));
  MasterKey other = MasterKey::random();
  Sealer other_sealer(other);
  REQUIRE_THROWS(other_sealer.open(sealed.data(), sealed.size(), ad, "r"));
  REQUIRE_THROWS(sealer.open(sealed.data(), 10, ad, "r"));  // shorter than the overhead
  try {
    sealer.open(flipped.data(), flipped.size(), ad, "pack 3f at 32");
    FAIL("opened a tampered record");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::damage);
    REQUIRE(e.object() == "pack 3f at 32");
  }
}

TEST_CASE("crypto: block ids are AES-256 of the block's GMAC, under subkeys 3 and 2", "[crypto]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  // Expected values from Python's hashlib and pycryptodome (its own AES and GHASH, not
  // libcrypto's or CNG's), independently of this code: subkey(n) = blake2b(key=master,
  // digest_size=32, salt=n.to_bytes(8, "little") + bytes(8), person=b"vssimgk1" + bytes(8));
  // tag = AES.new(subkey(2), AES.MODE_GCM, nonce=bytes(12)).update(block).digest();
  // id = AES.new(subkey(3), AES.MODE_ECB).encrypt(tag).
  MasterKey zero;
  Sealer s(zero);
  std::vector<uint8_t> block(65536);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>(i * 7 % 251);
  REQUIRE(s.block_id(block.data(), block.size()).hex() == "d681559440374a30c6a94c723eeb3afa");
  REQUIRE(s.block_id(nullptr, 0).hex() == "788f178a8380d2e5ad0bf535642d2138");
}

TEST_CASE("crypto: the id's AES-256 and GMAC give NIST's and pycryptodome's values", "[crypto]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  // FIPS 197 appendix C.3, AES-256; the output may overwrite the input.
  uint8_t block[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  aes256_block(key.data(), block, block);
  REQUIRE(to_hex(block, sizeof block) == "8ea2b7ca516745bfeafc49904b496089");
  // The GCM specification's test case 13: zero key, zero nonce, nothing at all.
  const std::vector<uint8_t> zero_key(32, 0);
  uint8_t tag[16];
  gmac_aes256(zero_key.data(), nullptr, 0, tag);
  REQUIRE(to_hex(tag, sizeof tag) == "530f8afbc74536b9a963b4f1c4cb738b");
  // Associated data about GHASH's 16-byte block, and a block's sizes: pycryptodome's
  // AES.new(bytes(range(32)), AES.MODE_GCM, nonce=bytes(12)).update(data).digest() with
  // data = bytes((i * 13 + 5) % 256 for i in range(n)).
  const std::pair<size_t, const char*> cases[] = {
      {1, "04ac3a80276ec1271e670ad548af00a1"},     {15, "3ee5c09b79ccb43bc47a4e9faff791a1"},
      {16, "d41a1ba0e45ce8408f2622365971e5ea"},    {17, "738ac23841ede49879e01ba7a4d5551d"},
      {65536, "c6f6d80801a75a1d444d717136679ebc"}, {1 << 20, "bec11fb9f64d17e37090543cc31772ad"},
  };
  for (const auto& [n, want] : cases) {
    std::vector<uint8_t> data(n);
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>((i * 13 + 5) % 256);
    gmac_aes256(key.data(), data.data(), data.size(), tag);
    CHECK(to_hex(tag, sizeof tag) == want);
  }
}

TEST_CASE("crypto: keyed block ids are stable per key, differ across keys", "[crypto]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  MasterKey k1 = MasterKey::random();
  MasterKey k2 = MasterKey::random();
  Sealer s1(k1);
  Sealer s2(k2);
  auto block = test::pseudo_random(256 * 1024, 9);
  BlockId a = s1.block_id(block.data(), block.size());
  REQUIRE(a == s1.block_id(block.data(), block.size()));
  REQUIRE_FALSE(a.is_marker());
  REQUIRE(a != s2.block_id(block.data(), block.size()));
  // Each thread keeps its cipher contexts keyed with the last key: back to s1, s1's ids
  // (copy between two encrypted stores alternates keys in one thread).
  REQUIRE(a == s1.block_id(block.data(), block.size()));
  BlockId from_thread;
  std::thread([&] { from_thread = s1.block_id(block.data(), block.size()); }).join();
  REQUIRE(a == from_thread);
  block[0] ^= 1;
  REQUIRE(a != s1.block_id(block.data(), block.size()));
}

TEST_CASE("crypto: the Argon2id wrap opens only with the right password", "[crypto]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  PwhashParams params;
  params.ops = 1;
  params.mem_bytes = 8u << 20;  // small: a unit test
  random_bytes(params.salt.data(), params.salt.size());
  REQUIRE(pwhash_params_sane(params));
  MasterKey master = MasterKey::random();
  auto ad = ad_of(store_a(), SealKind::key_test, "key1");
  auto wrapped = wrap_master_key(master, derive_password_key("correct horse", params), ad);
  MasterKey out;
  REQUIRE(unwrap_master_key(out, wrapped.data(), wrapped.size(),
                            derive_password_key("correct horse", params), ad));
  REQUIRE(std::memcmp(out.data(), master.data(), k_master_key_size) == 0);
  MasterKey bad;
  REQUIRE_FALSE(unwrap_master_key(bad, wrapped.data(), wrapped.size(),
                                  derive_password_key("wrong horse", params), ad));
  REQUIRE_FALSE(unwrap_master_key(bad, wrapped.data(), wrapped.size() - 1,
                                  derive_password_key("correct horse", params), ad));
  PwhashParams huge = params;
  huge.mem_bytes = 1ull << 40;
  REQUIRE_FALSE(pwhash_params_sane(huge));
  REQUIRE_THROWS(derive_password_key("x", huge));
}

TEST_CASE("crypto: an object's chunk cipher is XChaCha20-Poly1305 with the full nonce") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  MasterKey key = MasterKey::random();
  Sealer sealer(key);
  uint8_t base[k_seal_nonce_size];
  random_bytes(base, sizeof base);
  ObjectCipher cipher(sealer, base);
  const uint8_t ad[] = {1, 2, 3, 4, 5};
  for (size_t len : {size_t{0}, size_t{1}, size_t{100}, size_t{8192}}) {
    std::vector<uint8_t> plain(len);
    if (len) random_bytes(plain.data(), len);
    uint8_t nonce[k_seal_nonce_size];
    std::memcpy(nonce, base, sizeof nonce);
    nonce[16] ^= static_cast<uint8_t>(len + 1);  // a chunk's tail
    std::vector<uint8_t> fast(len + k_seal_tag_size), sodium(len + k_seal_tag_size);
    cipher.seal(fast.data(), plain.data(), len, nonce + 16, ad, sizeof ad);
    sealer.seal_at(sodium.data(), plain.data(), len, nonce, ad, sizeof ad);
    REQUIRE(fast == sodium);  // builds with and without libcrypto read each other's stores
    std::vector<uint8_t> back(len);
    REQUIRE(cipher.open(back.data(), fast.data(), fast.size(), nonce + 16, ad, sizeof ad));
    REQUIRE(back == plain);
    REQUIRE(sealer.open_at(back.data(), fast.data(), fast.size(), nonce, ad, sizeof ad));
    fast[len / 2] ^= 1;
    REQUIRE_FALSE(cipher.open(back.data(), fast.data(), fast.size(), nonce + 16, ad, sizeof ad));
  }
}
