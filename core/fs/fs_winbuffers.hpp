// Parsers for the output buffers of FSCTL_GET_VOLUME_BITMAP and
// FSCTL_GET_RETRIEVAL_POINTERS. Portable (plain bytes in, byte ranges out) so they are
// unit-tested and fuzzed on every platform; the Windows code only issues the FSCTLs.
#pragma once

#include "core/fs/alloc_map.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vssimg {

struct VolumeBitmapRanges {
  std::vector<ByteRange> used;  // byte ranges of set bits, merged, in volume order
  uint64_t starting_lcn = 0;    // StartingLcn of the buffer
  uint64_t next_lcn = 0;        // first cluster not covered: continue here on ERROR_MORE_DATA
};

// Parses a VOLUME_BITMAP_BUFFER {LARGE_INTEGER StartingLcn; LARGE_INTEGER BitmapSize;
// BYTE Buffer[]} of `len` bytes (as many as the FSCTL returned). BitmapSize counts the
// clusters from StartingLcn; when the buffer holds fewer bits (ERROR_MORE_DATA) only the
// bits present are decoded and next_lcn says where to continue. Throws Error when the
// header is short, negative or overflows, or cluster_size is 0.
VolumeBitmapRanges parse_volume_bitmap(const uint8_t* data, size_t len, uint32_t cluster_size);

struct RetrievalPointerRanges {
  std::vector<ByteRange> extents;  // byte ranges on the volume, sparse extents left out
  uint64_t next_vcn = 0;           // NextVcn of the last extent: continue here on ERROR_MORE_DATA
};

// Parses a RETRIEVAL_POINTERS_BUFFER {DWORD ExtentCount; (4 bytes padding) LARGE_INTEGER
// StartingVcn; {LARGE_INTEGER NextVcn, Lcn} Extents[ExtentCount]}. Lcn -1 marks a sparse
// (or compressed-away) extent, which has no clusters. Throws Error when the buffer is
// shorter than ExtentCount says, VCNs do not increase, or an LCN is negative or overflows.
RetrievalPointerRanges parse_retrieval_pointers(const uint8_t* data, size_t len,
                                                uint32_t cluster_size);

}  // namespace vssimg
