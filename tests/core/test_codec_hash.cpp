#include "core/base/bytes.hpp"
#include "core/base/codec.hpp"
#include "core/base/hash.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstring>

using namespace vssimg;

TEST_CASE("lz4 round trip of compressible data") {
  std::vector<uint8_t> src(256 * 1024);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>((i / 100) % 7);
  std::vector<uint8_t> packed(compress_bound(src.size()));
  size_t n = lz4_compress(src.data(), src.size(), packed.data(), packed.size());
  REQUIRE(n > 0);
  REQUIRE(n < src.size() / 10);
  std::vector<uint8_t> out(src.size());
  REQUIRE(decode_block(Codec::lz4, packed.data(), n, out.data(), out.size()));
  REQUIRE(out == src);
}

TEST_CASE("lz4 declines incompressible data and raw decodes") {
  auto src = test::pseudo_random(64 * 1024, 7);
  std::vector<uint8_t> packed(compress_bound(src.size()));
  REQUIRE(lz4_compress(src.data(), src.size(), packed.data(), packed.size()) == 0);
  std::vector<uint8_t> out(src.size());
  REQUIRE(decode_block(Codec::raw, src.data(), src.size(), out.data(), out.size()));
  REQUIRE(out == src);
  REQUIRE_FALSE(decode_block(Codec::raw, src.data(), src.size() - 1, out.data(), out.size()));
}

TEST_CASE("lz4 rejects garbage and wrong lengths") {
  std::vector<uint8_t> src(4096, 'a');
  std::vector<uint8_t> packed(compress_bound(src.size()));
  size_t n = lz4_compress(src.data(), src.size(), packed.data(), packed.size());
  REQUIRE(n > 0);
  std::vector<uint8_t> out(src.size() * 2);
  REQUIRE_FALSE(decode_block(Codec::lz4, packed.data(), n, out.data(), src.size() + 1));
  auto garbage = test::pseudo_random(100, 3);
  REQUIRE_FALSE(decode_block(Codec::lz4, garbage.data(), garbage.size(), out.data(), src.size()));
  REQUIRE_FALSE(
      decode_block(static_cast<Codec>(9), src.data(), src.size(), out.data(), src.size()));
}

TEST_CASE("keyed block ids depend on the secret and the data") {
  auto s1 = test::pseudo_random(k_secret_size, 1);
  auto s2 = test::pseudo_random(k_secret_size, 2);
  BlockHasher h1(s1), h2(s2);
  auto data = test::pseudo_random(1000, 5);
  BlockId a = h1.hash(data.data(), data.size());
  REQUIRE(a == h1.hash(data.data(), data.size()));
  REQUIRE(a != h2.hash(data.data(), data.size()));
  data[999] ^= 1;
  REQUIRE(a != h1.hash(data.data(), data.size()));
  REQUIRE_FALSE(a.is_marker());
  REQUIRE(a.hex().size() == 32);
}

TEST_CASE("markers are distinct and recognised") {
  REQUIRE(BlockId::zero_marker().is_zero());
  REQUIRE(BlockId::free_marker().is_free());
  REQUIRE(BlockId::unreadable_marker().is_unreadable());
  REQUIRE_FALSE(BlockId::free_marker().is_unreadable());
  REQUIRE_FALSE(BlockId::unreadable_marker().is_free());
}

TEST_CASE("zero detection") {
  std::vector<uint8_t> z(100003, 0);
  REQUIRE(is_all_zero(z.data(), z.size()));
  z[100002] = 1;
  REQUIRE_FALSE(is_all_zero(z.data(), z.size()));
  z[100002] = 0;
  z[0] = 1;
  REQUIRE_FALSE(is_all_zero(z.data(), z.size()));
}

TEST_CASE("hex and the bounds-checked reader") {
  uint8_t b[3] = {0x00, 0xab, 0xff};
  REQUIRE(to_hex(b, 3) == "00abff");
  uint8_t back[3];
  REQUIRE(from_hex("00ABff", back, 3));
  REQUIRE(std::memcmp(b, back, 3) == 0);
  REQUIRE_FALSE(from_hex("00abf", back, 3));
  REQUIRE_FALSE(from_hex("00abfg", back, 3));
  uint8_t data[6] = {1, 0, 0, 0, 2, 0};
  Reader r(data, sizeof data);
  REQUIRE(r.u32() == 1);
  REQUIRE(r.ok());
  REQUIRE(r.u32() == 0);  // overrun: zeros, and ok() turns false
  REQUIRE_FALSE(r.ok());
}
