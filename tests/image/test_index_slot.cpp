// slot_for_prefix: the same home slots on every compiler (MSVC's __umulh, GCC/clang's
// __int128), checked against a product computed from 32-bit halves.
#include "image/index.hpp"
#include "tests/catch.hpp"

#include <cstdint>
#include <vector>

using namespace vssimg;

namespace {
uint64_t reference_high(uint64_t a, uint64_t b) {
  const uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32;
  const uint64_t b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
  const uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi;
  const uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFu) + lo_hi;
  return a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
}
}  // namespace

TEST_CASE("slot_for_prefix: floor(prefix * slots / 2^64), exact", "[index]") {
  CHECK(slot_for_prefix(0, 1000) == 0);
  CHECK(slot_for_prefix(UINT64_MAX, 1000) == 999);
  CHECK(slot_for_prefix(uint64_t{1} << 63, 1000) == 500);
  CHECK(slot_for_prefix(uint64_t{1} << 63, 1001) == 500);
  CHECK(slot_for_prefix(UINT64_MAX, 1) == 0);
  CHECK(slot_for_prefix(0x123456789ABCDEF0u, 0) == 0);
  // A table with more than 2^32 slots needs the whole 128-bit product.
  CHECK(slot_for_prefix(UINT64_MAX, size_t{1} << 40) == (size_t{1} << 40) - 1);
  CHECK(slot_for_prefix(0xC000000000000000u, 0x300000000u) == 0x240000000u);

  uint64_t x = 0x9E3779B97F4A7C15u;
  const std::vector<uint64_t> sizes = {1,     16,          17,           1000,
                                       65537, 0xFFFFFFFFu, 0x100000001u, 0x123456789ABu};
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    for (uint64_t n : sizes) {
      const uint64_t got = slot_for_prefix(x, static_cast<size_t>(n));
      REQUIRE(got == reference_high(x, n));
      REQUIRE(got < n);
    }
  }
}
