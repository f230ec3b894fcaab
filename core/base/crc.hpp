// Table-driven reflected CRC-32 for the container formats vssimg writes: the IEEE
// polynomial (GPT headers and entries, zlib's CRC-32) and Castagnoli (CRC-32C, VHDX).
// Not used by the store's own files, which carry XXH3 checksums (core/base/hash.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace vssimg {

inline constexpr uint32_t k_crc32_ieee = 0xEDB88320u;        // reflected 0x04C11DB7
inline constexpr uint32_t k_crc32_castagnoli = 0x82F63B78u;  // reflected 0x1EDC6F41

// CRC-32 with the reflected polynomial `Poly`, initial value and final XOR 0xFFFFFFFF.
template <uint32_t Poly>
uint32_t crc32_reflected(const void* data, size_t len) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? Poly ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < len; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace vssimg
