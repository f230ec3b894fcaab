// core/base/crypto: sealing, associated data, keyed ids and the Argon2id key wrap.
#include "core/base/bytes.hpp"
#include "core/base/crypto.hpp"
#include "core/base/crypto_hmac.hpp"
#include "core/base/error.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstring>
#include <string>
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

TEST_CASE("crypto: block ids are HMAC-SHA-256 under the id subkey, cut to 16 bytes", "[crypto]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  // Expected values from Python's hashlib and hmac, independently of this code: subkey =
  // blake2b(key=master, digest_size=32, salt=(2).to_bytes(8, "little") + bytes(8),
  // person=b"vssimgk1" + bytes(8)); id = hmac.new(subkey, block, sha256).digest()[:16].
  MasterKey zero;
  Sealer s(zero);
  std::vector<uint8_t> block(65536);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>(i * 7 % 251);
  REQUIRE(s.block_id(block.data(), block.size()).hex() == "50c719c2b43b97084c3a5226f4821064");
  REQUIRE(s.block_id(nullptr, 0).hex() == "7dcc239e9aa2d2294c21f217a88b9e1f");
}

TEST_CASE("crypto: HMAC-SHA-256 gives RFC 4231's and Python's values", "[crypto]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  auto mac = [](const std::vector<uint8_t>& key, const std::vector<uint8_t>& data) {
    uint8_t out[32];
    hmac_sha256(key.data(), key.size(), data.data(), data.size(), out);
    return to_hex(out, sizeof out);
  };
  auto bytes = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
  // RFC 4231, test cases 1 and 2.
  REQUIRE(mac(std::vector<uint8_t>(20, 0x0b), bytes("Hi There")) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  REQUIRE(mac(bytes("Jefe"), bytes("what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // A 32-byte key (an id subkey's size), messages about SHA-256's 64-byte block:
  // hmac.new(bytes(range(32)), bytes((i * 13 + 5) % 256 for i in range(n)), sha256).
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  const std::pair<size_t, const char*> cases[] = {
      {55, "d78ee7687da2647bc4b4d3a0c76f7c58b964f5f6460452d27efa14aceb776329"},
      {56, "6a65998cd01ec11f41edfd376f19fb154ca9aea71f1c0c853e7173357c4535c4"},
      {64, "81d0311149c4015e30e9a2e75956e16fc65c0f5cdd32db5d788c42b31d240d34"},
      {65, "fc1f04ddaa1e2738f6d3b3faf49ece5ce3b2b4f7e90551cbea1dd536167d0cef"},
      {1 << 20, "e5bfebf4ba7763ea73e4bdfdccc274a92f19b32ffb235232e44ff75263adbaaf"},
  };
  for (const auto& [n, want] : cases) {
    std::vector<uint8_t> data(n);
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>((i * 13 + 5) % 256);
    CHECK(mac(key, data) == want);
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
