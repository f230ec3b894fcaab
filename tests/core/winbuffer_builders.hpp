// Canned FSCTL output buffers for tests: the byte layouts of VOLUME_BITMAP_BUFFER and
// RETRIEVAL_POINTERS_BUFFER, built field by field (little-endian, as Windows returns them).
#pragma once

#include "core/base/bytes.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace vssimg::test {

// StartingLcn, BitmapSize (clusters), then the bitmap bytes.
inline std::vector<uint8_t> bitmap_buffer(int64_t start, int64_t size, std::vector<uint8_t> bits) {
  std::vector<uint8_t> b;
  put_u64(b, static_cast<uint64_t>(start));
  put_u64(b, static_cast<uint64_t>(size));
  b.insert(b.end(), bits.begin(), bits.end());
  return b;
}

// ExtentCount (or `count_override`, for lying buffers), StartingVcn, {NextVcn, Lcn}...
inline std::vector<uint8_t> pointers_buffer(int64_t start_vcn,
                                            std::vector<std::pair<int64_t, int64_t>> extents,
                                            uint32_t count_override = UINT32_MAX) {
  std::vector<uint8_t> b;
  put_u32(b, count_override == UINT32_MAX ? static_cast<uint32_t>(extents.size()) : count_override);
  put_u32(b, 0);  // alignment padding before the LARGE_INTEGER
  put_u64(b, static_cast<uint64_t>(start_vcn));
  for (auto [next_vcn, lcn] : extents) {
    put_u64(b, static_cast<uint64_t>(next_vcn));
    put_u64(b, static_cast<uint64_t>(lcn));
  }
  return b;
}

}  // namespace vssimg::test
