// MD5 (RFC 1321), only for the Content-MD5 header S3 requires on DeleteObjects; not used for
// anything that must resist an attacker.
#include "image/storage_s3_sign.hpp"

#include <sodium.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace vssimg::s3 {

namespace {

using Md5 = std::array<uint8_t, 16>;

constexpr uint32_t k_shift[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                  5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

uint32_t rotl(uint32_t x, uint32_t c) {
  return (x << c) | (x >> (32 - c));
}

void md5_block(uint32_t h[4], const uint8_t* p) {
  static uint32_t k[64];
  static const bool init = [] {
    for (int i = 0; i < 64; ++i) {
      // floor(abs(sin(i + 1)) * 2^32), computed once.
      double s = std::fabs(std::sin(static_cast<double>(i + 1)));
      k[i] = static_cast<uint32_t>(s * 4294967296.0);
    }
    return true;
  }();
  (void)init;
  uint32_t m[16];
  for (int i = 0; i < 16; ++i)
    m[i] = p[4 * i] | (p[4 * i + 1] << 8) | (p[4 * i + 2] << 16) | (uint32_t{p[4 * i + 3]} << 24);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  for (uint32_t i = 0; i < 64; ++i) {
    uint32_t f, g;
    if (i < 16)
      f = (b & c) | (~b & d), g = i;
    else if (i < 32)
      f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
    else if (i < 48)
      f = b ^ c ^ d, g = (3 * i + 5) % 16;
    else
      f = c ^ (b | ~d), g = (7 * i) % 16;
    const uint32_t t = d;
    d = c;
    c = b;
    b = b + rotl(a + f + k[i] + m[g], k_shift[i]);
    a = t;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d;
}

Md5 md5(const void* data, size_t len) {
  uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  const auto* p = static_cast<const uint8_t*>(data);
  size_t full = len / 64 * 64;
  for (size_t i = 0; i < full; i += 64) md5_block(h, p + i);
  std::vector<uint8_t> tail(p + full, p + len);
  tail.push_back(0x80);
  while (tail.size() % 64 != 56) tail.push_back(0);
  const uint64_t bits = uint64_t{len} * 8;
  for (int i = 0; i < 8; ++i) tail.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  for (size_t i = 0; i < tail.size(); i += 64) md5_block(h, tail.data() + i);
  Md5 out{};
  for (int i = 0; i < 16; ++i) out[i] = static_cast<uint8_t>(h[i / 4] >> (8 * (i % 4)));
  return out;
}

}  // namespace

std::string md5_base64(const void* data, size_t len) {
  const Md5 d = md5(data, len);
  char out[sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, d.data(), d.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

std::string md5_hex(const void* data, size_t len) {
  const Md5 d = md5(data, len);
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) out += {digits[b >> 4], digits[b & 15]};
  return out;
}

}  // namespace vssimg::s3
